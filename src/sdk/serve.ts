/**
 * `flow.serve()`: a long-running process that registers a deployment of the flow (with its
 * schedule) and runs that deployment's runs itself — scheduled ones and ones triggered from the
 * API or CLI — each in a child process, as Prefect's `serve` does. Stop it with Ctrl-C.
 */
import { z } from "zod";
import { compileSchedule, type ScheduleSpec } from "../core/schedule.ts";
import { BatonError } from "../core/errors.ts";
import { relativeEntrypoint, splitEntrypoint } from "../core/entrypoint.ts";
import { compileAllowEnv, compileJobVariables, type JobVariables } from "../core/job-variables.ts";
import type { ParamsSchema } from "../core/options.ts";
import { loadSettings, schedulerSettings } from "../config/settings.ts";
import type { KyselyStore } from "../store/kysely-store.ts";
import type { Deployment, DeploymentInput } from "../store/types.ts";
import { Worker } from "../worker/worker.ts";
import { SPARE_ENTRYPOINT_ENV } from "../worker/run-env.ts";
import { runEnvironment } from "../worker/run-env.ts";
import { runValueSource } from "../worker/job-variable-refs.ts";
import { getRuntime } from "./runtime.ts";

export interface ServeOptions {
  /** The deployment's name (default: the flow's name). */
  name?: string;
  cron?: string;
  /** Every this many ms, on slots aligned to `anchor`. */
  interval?: number;
  /** Where `interval` slots fall: anchor + k × interval (a Date, an ISO date or epoch ms; default the epoch). */
  anchor?: Date | string | number;
  rrule?: string;
  /** IANA time zone of `cron` / `rrule` (default UTC). */
  timezone?: string;
  parameters?: Record<string, unknown>;
  description?: string;
  tags?: string[];
  /** Most runs at once (default 1). */
  limit?: number;
  retries?: number;
  /** Stops serving when aborted. */
  signal?: AbortSignal;
  pollMs?: number;
  /** How the runs' processes start: extra environment variables and a working directory. */
  jobVariables?: JobVariables;
  /**
   * Environment variables that change how a run's process loads code (NODE_OPTIONS,
   * LD_PRELOAD, BATON_*…) which `jobVariables` may set anyway: names or `PREFIX_*`.
   */
  allowEnv?: string[];
}

/** The JSON Schema of a flow's parameters, from its zod schema (for validation and forms). */
export function parameterJsonSchema(params: ParamsSchema | null): Record<string, unknown> | null {
  if (!params) return null;
  try {
    const schema = z.toJSONSchema(params as unknown as z.ZodType, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
    delete schema.$schema; // draft 2020-12 marker; the server validates with draft-07 semantics
    return schema;
  } catch {
    return null;
  }
}

export function schedulesFrom(options: Pick<ServeOptions, "cron" | "interval" | "anchor" | "rrule" | "timezone">): { spec: Record<string, unknown> & { kind: string } }[] {
  const specs: unknown[] = [];
  if (options.anchor !== undefined && !options.interval) throw new TypeError("schedule.anchor applies to an interval: give interval too");
  if (options.cron) specs.push({ kind: "cron", cron: options.cron, timezone: options.timezone });
  if (options.interval) specs.push({ kind: "interval", intervalMs: options.interval, anchor: options.anchor });
  if (options.rrule) specs.push({ kind: "rrule", rrule: options.rrule, timezone: options.timezone });
  return specs.map((spec) => ({ spec: compileSchedule(spec) as unknown as Record<string, unknown> & { kind: string } }));
}

export async function serveFlow(
  flow: { flowName: string; entrypoint: string | null; params: ParamsSchema | null; description: string | null },
  options: ServeOptions,
): Promise<Deployment | null> {
  // Inside a worker's child process the module is imported to run one flow run — or, in the
  // worker's warm spare, ahead of its run (cli/spare.ts): a top-level serve() there must not
  // start another server.
  if (process.env.BATON_FLOW_RUN_ID || process.env[SPARE_ENTRYPOINT_ENV]) return null;
  if (!flow.entrypoint) throw new BatonError(`flow "${flow.flowName}" was not defined in a module file, so it cannot be served`);
  const runtime = await getRuntime();
  const orchestration = runtime.orchestration;
  const name = options.name ?? flow.flowName;
  const pool = `serve-${name}`;
  const workPool = await orchestration.upsertWorkPool({
    name: pool,
    type: "process",
    concurrencyLimit: options.limit ?? 1,
    allowEnv: options.allowEnv === undefined ? undefined : compileAllowEnv(options.allowEnv, "serve() option allowEnv"),
  });
  const { file, name: flowRef } = splitEntrypoint(flow.entrypoint);
  const input: DeploymentInput = {
    name,
    flowName: flow.flowName,
    // Relative to this process's working directory (the project root), where its runs start.
    entrypoint: relativeEntrypoint(file, flowRef, process.cwd()),
    description: options.description ?? flow.description,
    tags: options.tags ?? [],
    parameters: options.parameters ?? {},
    parameterSchema: parameterJsonSchema(flow.params),
    workPool: pool,
    retries: options.retries ?? 0,
    jobVariables: compileJobVariables(options.jobVariables, "serve() option jobVariables", workPool),
    schedules: schedulesFrom(options),
  };
  const deployment = await orchestration.upsertDeployment(input);
  // Asked of the runtime, not `instanceof`: another copy of Baton loaded in this process may have
  // opened it (engine/process-wide.ts), with its own KyselyStore class.
  const direct = runtime.databaseUrl !== null;
  const settings = loadSettings();
  const runEnv = runEnvironment(
    runtime.databaseUrl
      ? { databaseUrl: runtime.databaseUrl, home: settings.home.value, resultsDir: settings.resultsDir.value }
      : { apiUrl: runtime.store.location, apiKey: settings.apiKey.value },
  );
  // With a direct database there is no server to run the scheduler: this process does, for
  // its deployment.
  const scheduler = runtime.scheduler ? { store: runtime.scheduler, everyMs: 2_000, deployment: name, ...schedulerSettings(settings) } : undefined;
  const store = runtime.store;
  const worker = new Worker(store, orchestration, {
    pool,
    limit: options.limit ?? 1,
    pollMs: options.pollMs ?? 500,
    runEnv,
    values: runValueSource(store, direct),
    scheduler,
    // Woken as soon as a run is due: by the store's hints on a database, by a long-poll behind a server.
    subscribe: direct ? (wake) => (store as KyselyStore).subscribeRunsDue((p) => p === pool && wake()) : undefined,
    claimWaitMs: direct ? 0 : 10_000,
  });
  process.stdout.write(`Serving deployment "${name}" of flow "${flow.flowName}"${deployment.schedules.length ? ` on ${deployment.schedules.length} schedule(s)` : ""}. Trigger it with: baton deployment run ${name}\n`);
  const stop = () => worker.stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  process.once("SIGINT", stop);
  try {
    await worker.run();
  } finally {
    process.removeListener("SIGINT", stop);
  }
  return deployment;
}

export type { ScheduleSpec };
