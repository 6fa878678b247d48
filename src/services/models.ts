/**
 * The model registry's use cases over any `ModelStore` (the database, or a server in remote
 * mode): promotion through a gate (declared thresholds, a function, a person's approval) and
 * rollback. The SDK, the API and the CLI all promote through `promoteModelVersion`, so a refusal
 * is recorded the same way wherever it happens.
 */
import { DEFAULT_ALIAS, judgeGates, ModelMetricMissingError, verdictOf, type GateVerdict, type MetricGate, type ModelVersionInfo } from "../core/models.ts";
import type { ModelStore, MoveContext } from "../store/model-store.ts";
import { ServiceError } from "./errors.ts";

export class ModelNotFoundError extends ServiceError {
  override name = "ModelNotFoundError";
  readonly reason = "not-found";
  readonly code = "NOT_FOUND";
  constructor(readonly model: string) {
    super(`model "${model}" does not exist; register it with registerModel("${model}", { value, metrics }) (baton model ls lists the models)`);
  }
}

export class ModelVersionNotFoundError extends ServiceError {
  override name = "ModelVersionNotFoundError";
  readonly reason = "not-found";
  readonly code = "NOT_FOUND";
  constructor(
    readonly model: string,
    readonly version: number,
    latest: number | null,
  ) {
    super(`model "${model}" has no version ${version}${latest === null ? " (the model does not exist)" : ` (its versions are 1 to ${latest})`}`);
  }
}

/** A model's alias that points nowhere. */
export class ModelAliasNotFoundError extends ServiceError {
  override name = "ModelAliasNotFoundError";
  readonly reason = "not-found";
  readonly code = "NOT_FOUND";
  constructor(
    readonly model: string,
    readonly alias: string,
  ) {
    super(`model "${model}" has no alias "${alias}"; promote a version to it first (promoteModel("${model}", VERSION, { to: "${alias}" }))`);
  }
}

/** A declared gate needs a metric the candidate does not have: the gate cannot be judged. */
export class ModelGateError extends ServiceError {
  override name = "ModelGateError";
  readonly reason = "invalid";
  readonly code = "METRIC_MISSING";
  constructor(message: string) {
    super(message);
  }
}

export class NothingToRollBackError extends ServiceError {
  override name = "NothingToRollBackError";
  readonly reason = "conflict";
  readonly code = "NOTHING_TO_ROLL_BACK";
  constructor(message: string) {
    super(`nothing to roll back to: ${message}`);
  }
}

/** A gate function sees both versions (metrics, params…); the current one is null before the first promotion. */
export type GateFunction = (candidate: ModelVersionInfo, current: ModelVersionInfo | null) => boolean | GateVerdict | Promise<boolean | GateVerdict>;
export type Gate = MetricGate | readonly MetricGate[] | GateFunction;

export interface PromoteRequest {
  /** The alias to move (default "production"). */
  to?: string;
  gate?: Gate;
  /** Asked last, once the gate passed (a person's decision); refuses with its reason. */
  approve?: (candidate: ModelVersionInfo, current: ModelVersionInfo | null) => Promise<GateVerdict>;
  context: MoveContext;
}

export type PromotionOutcome = { promoted: true; from: number | null; to: number } | { promoted: false; reason: string };

/** A version, or an error naming what is missing. */
export async function requireVersion(store: ModelStore, name: string, version: number): Promise<ModelVersionInfo> {
  const found = await store.getModelVersion(name, version);
  if (found) return found;
  const model = await store.getModel(name);
  throw new ModelVersionNotFoundError(name, version, model ? model.latestVersion : null);
}

/**
 * Moves alias `to` to `version` if the gate (then the approval) accepts it; a refusal is
 * recorded with its reason and returned, not thrown. Promoting the version the alias already
 * points to changes nothing and answers promoted (from = to).
 */
export async function promoteModelVersion(store: ModelStore, name: string, version: number, request: PromoteRequest): Promise<PromotionOutcome> {
  const alias = request.to ?? DEFAULT_ALIAS;
  const candidate = await requireVersion(store, name, version);
  const currentVersion = await store.aliasVersion(name, alias);
  if (currentVersion === version) return { promoted: true, from: version, to: version };
  const current = currentVersion === undefined ? null : ((await store.getModelVersion(name, currentVersion)) ?? null);
  let verdict = await judge(request.gate, candidate, current);
  if (verdict.ok && request.approve) verdict = await request.approve(candidate, current);
  if (!verdict.ok) {
    const reason = verdict.reason ?? "refused";
    await store.refuseModelPromotion(name, alias, version, reason, request.context);
    return { promoted: false, reason };
  }
  const moved = await store.moveModelAlias(name, alias, version, { ...request.context, reason: verdict.reason ?? null });
  if (!moved) throw new ModelVersionNotFoundError(name, version, null);
  return { promoted: true, ...moved };
}

async function judge(gate: Gate | undefined, candidate: ModelVersionInfo, current: ModelVersionInfo | null): Promise<GateVerdict> {
  if (gate === undefined) return { ok: true };
  if (typeof gate === "function") return verdictOf(await gate(candidate, current));
  try {
    return judgeGates(Array.isArray(gate) ? (gate as MetricGate[]) : [gate as MetricGate], candidate, current);
  } catch (error) {
    if (error instanceof ModelMetricMissingError) throw new ModelGateError(error.message);
    throw error;
  }
}

/** Moves `alias` back to where it pointed before its last promotion (see store/model-store.ts). */
export async function rollbackModelAliasOf(store: ModelStore, name: string, alias: string, context: MoveContext): Promise<{ from: number; to: number }> {
  const outcome = await store.rollbackModelAlias(name, alias, context);
  if ("nothing" in outcome) {
    if (!(await store.getModel(name))) throw new ModelNotFoundError(name);
    throw new NothingToRollBackError(outcome.nothing);
  }
  return outcome;
}
