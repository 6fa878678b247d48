/**
 * Running a flow run a worker claimed, in this process: what `baton execute-flow-run` does in a
 * worker's child process — and, for tests only, what the inline infrastructure does inside the
 * worker itself.
 */
import fs from "node:fs";
import path from "node:path";
import { BatonError, RunNotFoundError } from "../core/errors.ts";
import { splitEntrypoint, TASK_JOB_TAG } from "../core/entrypoint.ts";
import { resumeFlowRun, type FlowRunOutcome } from "../engine/flow-runner.ts";
import { getRuntime } from "../sdk/runtime.ts";
import type { Infrastructure, RunHandle, StartOptions } from "../worker/infrastructure.ts";
import { contextFromEnv } from "../telemetry/trace-context.ts";
import { context } from "@opentelemetry/api";
import { isPreloaded, loadFlow } from "./load-flow.ts";
import { loadTaskJob } from "./task-job.ts";
import { registerRedacted } from "../core/redaction.ts";
import { findTemplateRefs, resolveTemplateRefs } from "../core/template-refs.ts";
import { getVariable } from "../sdk/values.ts";
import { SECRET_ENV_NAMES } from "../worker/job-variable-refs.ts";
import { flowRunSourceEvent } from "../core/source-events.ts";
import { sourceHashes } from "../engine/source-hashes.ts";
import type { SourceHashes } from "../core/source-events.ts";
import type { FlowRun } from "../store/types.ts";

/** The env variables the worker filled from secrets: their values are redacted from this process's run output. */
function redactSecretEnv(): void {
  for (const name of (process.env[SECRET_ENV_NAMES] ?? "").split(",")) {
    const value = name ? process.env[name] : undefined;
    if (value) registerRedacted(value);
  }
}

/** A deployment run's parameters with `{{ variables.x }}` resolved at its start (the stored run keeps the references). */
async function resolveParameterRefs(stored: unknown): Promise<unknown> {
  const refs = findTemplateRefs(stored, "parameters");
  if (!refs.length) return stored;
  const variables = new Map<string, unknown>();
  const missing = Symbol("missing");
  for (const ref of refs)
    if (ref.kind === "variables" && !variables.has(ref.name)) {
      const value = await getVariable<unknown>(ref.name, missing);
      if (value !== missing) variables.set(ref.name, value);
    }
  return resolveTemplateRefs(stored, { variables }, "parameters");
}

/** The source hashes of flow files a warm spare preloaded (by absolute path; the spare checks they are unchanged). */
const preparedHashes = new Map<string, Omit<SourceHashes, "entrypoint">>();

/** Hashes `file` and its lock file ahead of its run (a warm spare, src/cli/spare.ts). */
export function prepareSourceHashes(file: string): void {
  const resolved = path.resolve(file);
  preparedHashes.set(resolved, sourceHashes("", resolved));
}

function hashesOf(entrypoint: string, file: string): SourceHashes {
  const prepared = preparedHashes.get(file);
  return prepared ? { ...prepared, entrypoint } : sourceHashes(entrypoint, file);
}

/**
 * Loads the run's flow from its entrypoint and runs it. With `claimedBy` (a worker's id), only
 * while it is still the Pending run that worker claimed (`claimed`: the run as it claimed it,
 * handed to a warm spare); otherwise it resumes the run.
 */
export async function runClaimedFlowRun(id: string, claimedBy: string | undefined, claimed?: FlowRun): Promise<FlowRunOutcome<unknown>> {
  redactSecretEnv();
  const runtime = await getRuntime();
  // A warm spare was handed the run as its worker claimed it a moment ago: no second read.
  const run = claimed?.id === id && claimedBy !== undefined ? claimed : await runtime.store.getFlowRun(id);
  if (!run) throw new RunNotFoundError("flow run", id);
  if (!run.entrypoint) throw new BatonError(`flow run ${id} has no entrypoint: it cannot be executed by a worker`);
  const { file, name } = splitEntrypoint(run.entrypoint);
  // A relative entrypoint (a deployment's) is read from this process's working directory: the
  // worker's, or the run's job variable cwd.
  if (!path.isAbsolute(file) && !fs.existsSync(path.resolve(file)))
    throw new BatonError(`flow run ${id}: entrypoint ${run.entrypoint} is relative to the project root, but ${path.resolve(file)} does not exist; start the worker in the project's directory or set the job variable cwd`);
  // What is about to run, recorded before its code loads (the compliance report reads it).
  if (fs.existsSync(path.resolve(file))) runtime.batcher.post([{ kind: "event", event: flowRunSourceEvent(run, hashesOf(run.entrypoint, path.resolve(file))), flowRunId: id }]);
  // A preloaded module is at hand: the run read above is current, not worth a second read.
  const current = isPreloaded(file) ? run : undefined;
  if (run.tags.includes(TASK_JOB_TAG)) {
    const job = await loadTaskJob(run, file, name);
    return resumeFlowRun(runtime, job, id, { claimedBy, current });
  }
  const target = await loadFlow(file, run.flowName);
  return claimedBy ? resumeFlowRun(runtime, { fn: target.fn, options: target.options, entrypoint: target.entrypoint }, id, { claimedBy, resolveParameters: resolveParameterRefs, current }) : target.resume(id);
}

/**
 * Test infrastructure (`BATON_TEST_INLINE_RUNS=1` on `baton worker start`): each claimed run is
 * executed inside the worker's own process, through the same path as a child's. The claims,
 * the store, the server and the flows are real; process isolation, job variables, the lifeline
 * and stopping on cancel (the run's own heartbeat still sees it) are not. It lets tests push
 * hundreds of runs through real worker processes in seconds instead of one process per run.
 */
export class InlineInfrastructure implements Infrastructure {
  readonly type = "process";

  start(flowRunId: string, env: Record<string, string>, options: StartOptions = {}): RunHandle {
    const exited = context.with(contextFromEnv(options.traceEnv ?? {}), () => runClaimedFlowRun(flowRunId, env.BATON_WORKER_ID)).then(
      (outcome) => (outcome.state.type === "COMPLETED" ? 0 : 1),
      (error: unknown) => {
        process.stderr.write(`flow run ${flowRunId} failed to run: ${(error as Error).message}\n`);
        return 1;
      },
    );
    return { exited, pid: process.pid, stop: () => undefined, kill: () => undefined, lastErrorLines: () => [] };
  }
}
