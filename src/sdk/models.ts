/**
 * The model registry in code: `registerModel`, `loadModel`, `promoteModel`, `rollbackModel`.
 * Inside a run or outside one (a script after `configure()`), on the database or through a
 * server (remote mode). A version's value is stored as results are (engine/result-store.ts:
 * serialised, inline or a content-addressed file; inline only in remote mode, up to 8 MiB), with
 * its sha256, metrics, parameters, and lineage: the flow run and task run that registered it,
 * and their experiment.
 *
 * `loadModel` answers `{ value, name, version, metrics, params, sha256 }`; a version registered
 * from a file (`path`) gives its bytes as a Buffer.
 *
 * @example
 * import { flow, loadModel, promoteModel, registerModel } from "baton";
 * export const train = flow(async function train() {
 *   const model = { weights: [0.2, 0.7] }; // ... fit it
 *   const v = await registerModel("weather", { value: model, metrics: { macroF1: 0.81 } });
 *   const outcome = await promoteModel("weather", v.version, { gate: { metric: "macroF1", min: 0.5, betterThanCurrent: true } });
 *   if (!outcome.promoted) console.log(`kept production: ${outcome.reason}`);
 * });
 * const { value, version } = await loadModel("weather"); // the production version
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { isId } from "../core/ids.ts";
import {
  aliasProblem,
  checkedGates,
  checkedMetrics,
  DEFAULT_ALIAS,
  metricsTable,
  modelNameProblem,
  versionProblem,
  type GateVerdict,
  type MetricGate,
  type ModelActor,
  type ModelVersionInfo,
} from "../core/models.ts";
import { paramsAsJson } from "../core/experiments.ts";
import { RunNotFoundError, SerializationError } from "../core/errors.ts";
import { AssetVersionNotFoundError } from "../core/assets.ts";
import { currentEngineContext, type EngineContext } from "../engine/run-context.ts";
import type { Runtime } from "../engine/runtime.ts";
import type { ResultRecord } from "../store/types.ts";
import type { KyselyStore } from "../store/kysely-store.ts";
import type { RemoteStore } from "../client/remote-store.ts";
import { KyselyModelStore, modelAssetKey, type ModelStore, type MoveContext } from "../store/model-store.ts";
import { RemoteModels } from "../client/remote-models.ts";
import { ModelAliasNotFoundError, promoteModelVersion, requireVersion, rollbackModelAliasOf, type GateFunction, type PromotionOutcome } from "../services/models.ts";
import { pauseFlowRun } from "./pause.ts";
import { getRuntime } from "./runtime.ts";

export interface RegisterModelOptions {
  /** The model itself: any value Baton can serialise (objects, typed arrays, Buffers…). */
  value?: unknown;
  /** Or a file whose bytes are the model (loaded back as a Buffer). */
  path?: string;
  /** Its evaluation: metric → number (what promotion gates judge). */
  metrics: Record<string, number>;
  /** Its hyper-parameters (any JSON). */
  params?: Record<string, unknown>;
  /** What it takes and gives (any JSON, for people and serving). */
  signature?: unknown;
  description?: string;
  /**
   * The flow run that trained it, when registering outside that run (a script or notebook after
   * training): the version's lineage is that run's. Default: the run this is called in.
   */
  runId?: string;
}

export interface LoadModelOptions {
  /** Load the version this alias points to (default "production", when no version is given). */
  alias?: string;
  version?: number;
}

export interface LoadedModel<T = unknown> {
  value: T;
  name: string;
  version: number;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  sha256: string;
}

export interface PromoteModelOptions {
  /** The alias to move (default "production"). */
  to?: string;
  /** Declared thresholds (one or several), or a function of the candidate and the current version. */
  gate?: MetricGate | MetricGate[] | GateFunction;
  /** Pause the flow run for a person's decision (after the gate passed); call it in the flow function. */
  approval?: boolean;
}

export type { PromotionOutcome, GateFunction };

const registries = new WeakMap<Runtime, ModelStore>();

/** The runtime's registry: its database, or its server. */
export function modelStoreOf(runtime: Runtime): ModelStore {
  let found = registries.get(runtime);
  if (!found) {
    // Not `instanceof`: the runtime may have been opened by another copy of Baton (process-wide.ts).
    found = runtime.databaseUrl ? new KyselyModelStore(runtime.store as KyselyStore) : new RemoteModels((runtime.store as RemoteStore).api);
    registries.set(runtime, found);
  }
  return found;
}

async function access(): Promise<{ runtime: Runtime; models: ModelStore; ctx: EngineContext | undefined }> {
  const ctx = currentEngineContext();
  const runtime = ctx?.flow.runtime ?? (await getRuntime());
  return { runtime, models: modelStoreOf(runtime), ctx };
}

function check(problem: string | null): void {
  if (problem) throw new TypeError(problem);
}

/** Who acts: the run, else this process's user on this machine. */
function contextOf(ctx: EngineContext | undefined): MoveContext {
  if (ctx) return { actor: { kind: "flow-run", id: ctx.flow.flowRun.id, name: ctx.flow.flowRun.flowName }, flowRunId: ctx.flow.flowRun.id };
  const actor: ModelActor = { kind: "process", id: null, name: `${os.userInfo().username}@${os.hostname()}` };
  return { actor, flowRunId: null };
}

/** Registers version N+1 of model `name` and returns it (its number, sha256, metrics…). */
export async function registerModel(name: string, options: RegisterModelOptions): Promise<ModelVersionInfo> {
  check(modelNameProblem(name, "registerModel(name)"));
  if (options === null || typeof options !== "object") throw new TypeError("registerModel(name, options): options must be { value | path, metrics, params?, signature?, description? }");
  const hasValue = "value" in options && options.value !== undefined;
  if (hasValue === (options.path !== undefined)) throw new TypeError("registerModel(name, options): give exactly one of options.value and options.path");
  const metrics = checkedMetrics(options.metrics, "registerModel options.metrics");
  const params = options.params === undefined ? {} : (JSON.parse(JSON.stringify(options.params)) as Record<string, unknown>);
  paramsAsJson(params, "registerModel options.params");
  if (options.description !== undefined && typeof options.description !== "string") throw new TypeError("registerModel options.description must be a string");
  if (options.runId !== undefined && !isId(options.runId))
    throw new TypeError(`registerModel options.runId must be a flow run's id (a UUID, as baton flow-run ls shows), got ${JSON.stringify(options.runId)?.slice(0, 80) ?? String(options.runId)}`);
  let value = options.value;
  let sourcePath: string | null = null;
  if (options.path !== undefined) {
    if (typeof options.path !== "string" || !options.path) throw new TypeError("registerModel options.path must be a file path");
    sourcePath = path.resolve(options.path);
    value = fs.readFileSync(sourcePath);
  }
  const { runtime, models, ctx } = await access();
  let record: ResultRecord;
  try {
    record = await runtime.results.save(value, `model "${name}"`);
  } catch (error) {
    // The result store's advice is about task results; a model has its own way out.
    if (!(error instanceof SerializationError) || runtime.results.blobs !== null || !error.message.includes("inline")) throw error;
    throw new SerializationError(
      `model "${name}" is too large to travel through the API (inline, at most ${runtime.results.inlineBytes.toLocaleString("en")} bytes serialised); register it on the database (BATON_DATABASE_URL), or store the file where serving can read it and register its location as the value`,
      { cause: error },
    );
  }
  const sha256 = record.value !== null ? createHash("sha256").update(record.value).digest("hex") : record.path!.slice(0, 64);
  // The run's own records first: the server checks the run a version names.
  if (ctx) await ctx.flow.runtime.batcher.write([]);
  const context = contextOf(ctx);
  let lineage = { flowRunId: ctx?.flow.flowRun.id ?? null, taskRunId: ctx?.task?.id ?? null, experiment: ctx ? (ctx.flow.options.experiment ?? ctx.flow.flowRun.flowName) : null };
  if (options.runId !== undefined && options.runId !== lineage.flowRunId) {
    const run = await runtime.store.getFlowRun(options.runId);
    if (!run) throw new RunNotFoundError("flow run", options.runId, `registerModel options.runId names the run that trained "${name}" (baton flow-run ls shows their ids)`);
    lineage = { flowRunId: run.id, taskRunId: null, experiment: run.flowName };
  }
  return models.registerModelVersion({
    name,
    source: sourcePath ? "path" : "value",
    sourcePath,
    stored: { serializer: record.serializer, value: record.value, path: record.path, size: record.size, sha256 },
    metrics,
    params,
    signature: options.signature === undefined ? null : (JSON.parse(JSON.stringify(options.signature)) as unknown),
    description: options.description ?? null,
    ...lineage,
    actor: context.actor,
  });
}

/** A version of model `name`: `version`, else the one `alias` (default "production") points to. */
export async function loadModel<T = unknown>(name: string, options: LoadModelOptions = {}): Promise<LoadedModel<T>> {
  check(modelNameProblem(name, "loadModel(name)"));
  if (options.version !== undefined) check(versionProblem(options.version, "loadModel options.version"));
  if (options.alias !== undefined) check(aliasProblem(options.alias, "loadModel options.alias"));
  if (options.version !== undefined && options.alias !== undefined) throw new TypeError("loadModel(name, options): give options.version or options.alias, not both");
  const { runtime, models, ctx } = await access();
  let version = options.version;
  if (version === undefined) {
    const alias = options.alias ?? DEFAULT_ALIAS;
    version = await models.aliasVersion(name, alias);
    if (version === undefined) throw new ModelAliasNotFoundError(name, alias);
  }
  const info = await requireVersion(models, name, version);
  const stored = await models.modelValue(name, version);
  if (!stored) throw new ModelAliasNotFoundError(name, String(version));
  const value = await runtime.results.decode({ id: `model:${name}:${version}`, serializer: stored.serializer, value: stored.value, path: stored.path, size: stored.size, createdAt: info.createdAt });
  if (ctx) {
    // Read by the run, as version vN of model://NAME: what it makes from it (predictions) has the model in its lineage.
    await ctx.flow.runtime.batcher.write([]);
    await runtime.store
      .recordAssetReads({ flowRunId: ctx.flow.flowRun.id, taskRunId: ctx.task?.id ?? null, reads: [{ key: modelAssetKey(name), version: `v${version}` }] })
      // A version registered before models were assets has none: the load itself is fine.
      .catch((error: unknown) => {
        if (!(error instanceof AssetVersionNotFoundError)) throw error;
      });
  }
  return { value: value as T, name, version, metrics: info.metrics, params: info.params, sha256: info.sha256 };
}

/**
 * Moves alias `to` (default "production") to `version` if `gate` accepts it (and, with
 * `approval`, a person): `{ promoted: true, from, to }`, else `{ promoted: false, reason }`,
 * recorded with its reason. A version that does not exist, or a declared gate's metric the
 * candidate lacks, is an error.
 */
export async function promoteModel(name: string, version: number, options: PromoteModelOptions = {}): Promise<PromotionOutcome> {
  check(modelNameProblem(name, "promoteModel(name)"));
  check(versionProblem(version, "promoteModel(name, version)"));
  const to = options.to ?? DEFAULT_ALIAS;
  check(aliasProblem(to, "promoteModel options.to"));
  const gate = options.gate === undefined || typeof options.gate === "function" ? options.gate : checkedGates(options.gate, "promoteModel options.gate");
  const { models, ctx } = await access();
  if (options.approval && !ctx) throw new TypeError("promoteModel options.approval pauses a flow run for a person's decision: call it from a flow function");
  if (options.approval && ctx?.task) throw new TypeError(`promoteModel options.approval was used in task run ${ctx.task.name}; call it in the flow function (a run pauses between tasks)`);
  return promoteModelVersion(models, name, version, { to, gate, approve: options.approval ? (c, cur) => askPerson(c, cur, to) : undefined, context: contextOf(ctx) });
}

const Decision = z.object({ approve: z.boolean(), comment: z.string().optional() });

/** Pauses the flow run with both versions' metrics; the person's answer is the verdict. */
async function askPerson(candidate: ModelVersionInfo, current: ModelVersionInfo | null, alias: string): Promise<GateVerdict> {
  const description =
    `Promote model **${candidate.name}** version ${candidate.version} to **${alias}**` +
    (current ? ` (now version ${current.version})?` : " (no version yet)?") +
    `\n\n${metricsTable(candidate, current)}`;
  const { approve, comment } = await pauseFlowRun({ description, input: Decision, key: `promote-${candidate.name}-v${candidate.version}-${alias}` });
  return approve ? { ok: true, reason: comment } : { ok: false, reason: comment ? `refused by a person: ${comment}` : "refused by a person" };
}

/**
 * Moves `alias` (default "production") back to the version it pointed to before its last
 * promotion; again goes further back. Nothing to go back to is an error.
 */
export async function rollbackModel(name: string, options: { alias?: string } = {}): Promise<{ from: number; to: number }> {
  check(modelNameProblem(name, "rollbackModel(name)"));
  const alias = options.alias ?? DEFAULT_ALIAS;
  check(aliasProblem(alias, "rollbackModel options.alias"));
  const { models, ctx } = await access();
  return rollbackModelAliasOf(models, name, alias, contextOf(ctx));
}
