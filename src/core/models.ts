/**
 * The model registry's rules, pure: model and alias names, a version's metrics, declared
 * promotion gates and how one is judged against the candidate and the current version, the
 * markdown table a person approving a promotion sees, and the registry's events. The store
 * (store/model-store.ts), the service (services/models.ts), the SDK and the API share them.
 */
import type { NewEvent, RelatedResource } from "./event-records.ts";
import { newId } from "./ids.ts";

export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
export const DEFAULT_ALIAS = "production";

/** What a version is known by, without its stored value. */
export interface ModelVersionInfo {
  name: string;
  version: number;
  /** "value": registered as a value; "path": a file's bytes, loaded as a Buffer. */
  source: "value" | "path";
  /** The file a path-registered version was read from (for people; the bytes are stored). */
  sourcePath: string | null;
  size: number;
  /** sha256 of the stored (serialised) bytes, hex. */
  sha256: string;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  signature: unknown;
  description: string | null;
  flowRunId: string | null;
  taskRunId: string | null;
  experiment: string | null;
  createdAt: number;
  /** The aliases pointing at it now. */
  aliases: string[];
}

export type ModelMoveKind = "promoted" | "rolled-back" | "refused";

/** Who moved an alias: a person through the API, a run, the CLI, an automation. */
export interface ModelActor {
  kind: string;
  id: string | null;
  name: string | null;
}

/** An alias move, or a refused promotion (to: the candidate). */
export interface ModelAliasMove {
  id: string;
  alias: string;
  kind: ModelMoveKind;
  from: number | null;
  to: number | null;
  reason: string | null;
  /** A promotion a later rollback undid. */
  undone: boolean;
  actor: ModelActor;
  flowRunId: string | null;
  at: number;
}

/** A declared gate: the candidate's `metric` within bounds, and better than the current version's. */
export interface MetricGate {
  metric: string;
  min?: number;
  max?: number;
  /** The candidate must beat the current version's value (when there is a current version). */
  betterThanCurrent?: boolean;
  /** Default true: a higher value is better (accuracy); false for a loss. */
  higherIsBetter?: boolean;
}

export type GateVerdict = { ok: boolean; reason?: string };

/** A version as a gate sees it. */
export type GateVersion = Pick<ModelVersionInfo, "name" | "version" | "metrics" | "params">;

/** A declared gate's metric missing from the candidate: the gate cannot be judged (not a refusal). */
export class ModelMetricMissingError extends TypeError {
  override name = "ModelMetricMissingError";
  constructor(
    readonly model: string,
    readonly version: number,
    readonly metric: string,
  ) {
    super(`model "${model}" version ${version} has no metric "${metric}", which the promotion gate needs; register the version with metrics: { ${metric}: … }`);
  }
}

export function modelNameProblem(name: unknown, field = "name"): string | null {
  if (typeof name === "string" && MODEL_NAME.test(name)) return null;
  return `${field} must be a model name of 1 to 128 letters, digits, ".", "_" or "-" (starting with a letter or digit), got ${JSON.stringify(name)?.slice(0, 80) ?? String(name)}`;
}

export function aliasProblem(alias: unknown, field = "alias"): string | null {
  if (typeof alias === "string" && ALIAS_NAME.test(alias)) return null;
  return `${field} must be an alias of 1 to 64 lowercase letters, digits, "_" or "-" starting with a letter (production, staging…), got ${JSON.stringify(alias)?.slice(0, 80) ?? String(alias)}`;
}

export function versionProblem(version: unknown, field = "version"): string | null {
  if (typeof version === "number" && Number.isSafeInteger(version) && version >= 1) return null;
  return `${field} must be a version number ≥ 1, got ${String(version)}`;
}

/** Metrics checked: an object of finite numbers; throws a TypeError naming the field. */
export function checkedMetrics(metrics: unknown, field = "metrics"): Record<string, number> {
  if (metrics === undefined) return {};
  if (metrics === null || typeof metrics !== "object" || Array.isArray(metrics)) throw new TypeError(`${field} must be an object of metric name → number`);
  for (const [key, value] of Object.entries(metrics))
    if (typeof value !== "number" || !Number.isFinite(value)) throw new TypeError(`${field}.${key} must be a finite number, got ${String(value)}`);
  return { ...(metrics as Record<string, number>) };
}

/** Declared gates checked; throws a TypeError naming the field at fault. */
export function checkedGates(gate: unknown, field = "gate"): MetricGate[] {
  const list = Array.isArray(gate) ? gate : [gate];
  return list.map((g, i) => {
    const at = Array.isArray(gate) ? `${field}[${i}]` : field;
    if (g === null || typeof g !== "object") throw new TypeError(`${at} must be { metric, min?, max?, betterThanCurrent?, higherIsBetter? }`);
    const { metric, min, max, betterThanCurrent, higherIsBetter } = g as Record<string, unknown>;
    if (typeof metric !== "string" || !metric) throw new TypeError(`${at}.metric must be a metric name`);
    for (const [key, value] of Object.entries({ min, max }))
      if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value))) throw new TypeError(`${at}.${key} must be a finite number`);
    for (const [key, value] of Object.entries({ betterThanCurrent, higherIsBetter }))
      if (value !== undefined && typeof value !== "boolean") throw new TypeError(`${at}.${key} must be true or false`);
    if (min === undefined && max === undefined && !betterThanCurrent) throw new TypeError(`${at} checks nothing: give min, max or betterThanCurrent: true`);
    return g as MetricGate;
  });
}

/**
 * Judges declared gates: the first one that fails gives the reason. A metric the candidate lacks
 * throws `ModelMetricMissingError`; a current version lacking it makes `betterThanCurrent` pass
 * (nothing to compare with), as does having no current version.
 */
export function judgeGates(gates: readonly MetricGate[], candidate: GateVersion, current: GateVersion | null): GateVerdict {
  for (const gate of gates) {
    const value = candidate.metrics[gate.metric];
    if (value === undefined) throw new ModelMetricMissingError(candidate.name, candidate.version, gate.metric);
    if (gate.min !== undefined && value < gate.min) return { ok: false, reason: `${gate.metric} ${value} is below the minimum ${gate.min}` };
    if (gate.max !== undefined && value > gate.max) return { ok: false, reason: `${gate.metric} ${value} is above the maximum ${gate.max}` };
    const theirs = current?.metrics[gate.metric];
    if (gate.betterThanCurrent && current && theirs !== undefined) {
      const higher = gate.higherIsBetter ?? true;
      const better = higher ? value > theirs : value < theirs;
      if (!better) return { ok: false, reason: `${gate.metric} ${value} is not better than version ${current.version}'s ${theirs} (${higher ? "higher" : "lower"} is better)` };
    }
  }
  return { ok: true };
}

/** A gate function's answer as a verdict (a boolean, or { ok, reason? }). */
export function verdictOf(answer: unknown): GateVerdict {
  if (typeof answer === "boolean") return { ok: answer, reason: answer ? undefined : "the gate function returned false" };
  if (answer !== null && typeof answer === "object" && typeof (answer as GateVerdict).ok === "boolean") {
    const { ok, reason } = answer as GateVerdict;
    return { ok, reason: typeof reason === "string" ? reason : ok ? undefined : "the gate function refused it" };
  }
  throw new TypeError(`a promotion gate must return a boolean or { ok: boolean, reason?: string }, got ${JSON.stringify(answer)?.slice(0, 80) ?? String(answer)}`);
}

const cell = (value: unknown) => (value === undefined ? "—" : String(value).replace(/\|/g, "\\|"));

/** Both versions' metrics side by side, as a markdown table (the approval form's description). */
export function metricsTable(candidate: GateVersion, current: GateVersion | null): string {
  const names = [...new Set([...Object.keys(candidate.metrics), ...Object.keys(current?.metrics ?? {})])].sort();
  const head = current ? `| metric | candidate v${candidate.version} | current v${current.version} |\n| --- | --- | --- |` : `| metric | candidate v${candidate.version} |\n| --- | --- |`;
  const rows = names.map((n) => (current ? `| ${cell(n)} | ${cell(candidate.metrics[n])} | ${cell(current.metrics[n])} |` : `| ${cell(n)} | ${cell(candidate.metrics[n])} |`));
  return [head, ...rows].join("\n");
}

/** The registry's event names. */
export const MODEL_EVENTS = {
  registered: "baton.model.registered",
  promoted: "baton.model.promoted",
  refused: "baton.model.promotion-refused",
  "rolled-back": "baton.model.rolled-back",
} as const;

/** An event of the registry: about `model:NAME`, related to the run that caused it (if any). */
export function modelEvent(
  event: string,
  model: string,
  payload: Record<string, unknown>,
  lineage: { flowRunId: string | null; taskRunId?: string | null },
  now = Date.now(),
): NewEvent {
  const related: RelatedResource[] = [];
  if (lineage.flowRunId) related.push({ role: "flow-run", id: lineage.flowRunId, name: null });
  if (lineage.taskRunId) related.push({ role: "task-run", id: lineage.taskRunId, name: null });
  return { id: newId(), occurred: now, event, resource: { id: `model:${model}`, name: model, labels: { kind: "model" } }, related, payload };
}
