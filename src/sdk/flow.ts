/**
 * `flow(fn, options)`: the entry point of a pipeline. Calling it creates a flow run, runs the
 * function (its task calls become task runs) and records everything in the store.
 *
 * @example
 * const pipeline = flow(async function pipeline(params: { path: string }) {
 *   return await load(params.path);
 * }, { retries: 1 });
 * const value = await pipeline({ path: "data.csv" });   // throws FlowRunError on failure
 * const run = await pipeline.run({ path: "data.csv" }); // { id, state, result }, never throws for a failed run
 * await pipeline.resume(run.id);                       // re-runs a Failed/Crashed run, reusing finished tasks
 * await pipeline.rerun(run.id);                        // a new run on that run's parameters and data versions
 */
import { BatonError, RunNotFoundError } from "../core/errors.ts";
import { readPins } from "../store/asset-store.ts";
import { RerunOfChildError } from "../services/errors.ts";
import { assetViewsOf } from "./assets.ts";
import { newId } from "../core/ids.ts";
import { compileFlowOptions, type CompiledFlowOptions, type FlowOptions } from "../core/options.ts";
import { flowRunErrorOf, resumeFlowRun, startFlowRun, type FlowDefinition, type FlowRunOutcome } from "../engine/flow-runner.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import { inWorkerThread } from "../engine/task-registry.ts";
import { getRuntime } from "./runtime.ts";
import { serveFlow, type ServeOptions } from "./serve.ts";
import { callerModuleUrl } from "./caller.ts";
import { fileURLToPath } from "node:url";

export interface Flow<P, R> {
  /** Runs the flow and returns its result; throws `FlowRunError` if the run does not complete. */
  (...params: ParamArgs<P>): Promise<Awaited<R>>;
  /** Runs the flow and returns `{ id, state, result }`, whatever the outcome. */
  run(...params: ParamArgs<P>): Promise<FlowRunOutcome<Awaited<R>>>;
  /** Re-runs a Failed, Crashed or Cancelled run with its stored parameters; finished tasks are reused. */
  resume(flowRunId: string): Promise<FlowRunOutcome<Awaited<R>>>;
  /**
   * Runs the flow again as a new run, on what run `flowRunId` ran on: its parameters, and the
   * asset versions it read (its task runs' unpinned reads resolve to those, not to the latest;
   * `readVersion` tells a task which). Nothing is reused: every task runs.
   */
  rerun(flowRunId: string): Promise<FlowRunOutcome<Awaited<R>>>;
  /** A copy of the flow with options overridden. */
  with(options: FlowOptions): Flow<P, R>;
  /**
   * Registers a deployment of this flow (optionally on a schedule) and runs its runs from this
   * process until Ctrl-C, like Prefect's `serve`.
   */
  serve(options?: ServeOptions): Promise<void>;
  readonly entrypoint: string | null;
  readonly flowName: string;
  readonly options: CompiledFlowOptions;
  readonly fn: (params: P) => R;
}

type ParamArgs<P> = [P] extends [undefined] ? [] : undefined extends P ? [params?: P] : [params: P];

export function flow<P = undefined, R = unknown>(fn: (params: P) => R, options: FlowOptions = {}): Flow<P, R> {
  const compiled = compileFlowOptions(fn, options);
  const moduleUrl = callerModuleUrl();
  const entrypoint = moduleUrl?.startsWith("file:") ? `${fileURLToPath(moduleUrl)}:${compiled.name}` : null;
  const def: FlowDefinition = { fn: fn as FlowDefinition["fn"], options: compiled, entrypoint };

  const guard = () => {
    if (inWorkerThread())
      throw new BatonError(
        `flow "${compiled.name}" was started inside a worker thread: a module that defines runner "threads" tasks must not run flows when it is imported`,
      );
  };

  const run = async (params?: unknown): Promise<FlowRunOutcome<Awaited<R>>> => {
    guard();
    // Read before any await: the call's place among the parent's child calls is its key.
    const ctx = currentEngineContext();
    const parent = ctx ? { flowRunId: ctx.flow.flowRun.id, taskRunId: ctx.task?.id ?? null } : null;
    const child = ctx ? { ...ctx.flow.nextChildCall(compiled.name), id: newId() } : null;
    const outcome = getRuntime().then((runtime) => startFlowRun<Awaited<R>>(runtime, def, params, parent, child));
    // A parent flow run ends only after its child runs ended (one it stops ends Cancelled).
    ctx?.flow.track(outcome);
    return outcome;
  };

  const call = (async (params?: unknown) => {
    const outcome = await run(params);
    if (outcome.state.type !== "COMPLETED") throw flowRunErrorOf(compiled.name, outcome);
    return outcome.result;
  }) as unknown as Flow<P, R>;

  return Object.assign(call, {
    run,
    resume: async (flowRunId: string) => {
      guard();
      return resumeFlowRun<Awaited<R>>(await getRuntime(), def, flowRunId);
    },
    rerun: async (flowRunId: string) => {
      guard();
      const runtime = await getRuntime();
      const source = await runtime.store.getFlowRun(flowRunId);
      if (!source) throw new RunNotFoundError("flow run", flowRunId);
      if (source.flowName !== compiled.name) throw new BatonError(`flow run ${flowRunId} is a run of flow "${source.flowName}", not "${compiled.name}"; re-run it with that flow`);
      // As the API: a child's data and parameters come from its parent, which re-runs it.
      if (source.parentFlowRunId) throw new RerunOfChildError(source.id, source.parentFlowRunId);
      const used = await assetViewsOf(runtime).flowRunAssets(flowRunId);
      return startFlowRun<Awaited<R>>(runtime, def, source.parameters, null, null, used ? readPins(used) : []);
    },
    with: (overrides: FlowOptions) => flow(fn, { ...options, ...overrides }),
    serve: async (serveOptions: ServeOptions = {}) => {
      guard();
      await serveFlow({ flowName: compiled.name, entrypoint, params: compiled.params, description: compiled.description }, serveOptions);
    },
    entrypoint,
    flowName: compiled.name,
    options: compiled,
    fn,
  }) as Flow<P, R>;
}
