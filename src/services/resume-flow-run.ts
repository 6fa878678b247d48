/**
 * Resuming a paused flow run with input (the dashboard's form, `baton flow-run resume`,
 * `POST /api/flow-runs/{id}/resume`, the `resume-flow-run` automation action): the input is
 * checked against the JSON Schema the run stored as it paused, then stored with the move
 * Paused -> Scheduled in one transaction. A suspended run of a work pool is then claimed by a
 * worker and runs again from the start (finished task runs return their stored results, and
 * `pauseFlowRun` returns this input); a run whose process waits in place sees it and goes on.
 * Not to be confused with the engine's durable resume of a failed run (`baton flow-run retry`).
 */
import { RunNotFoundError } from "../core/errors.ts";
import { openInputRequest, type FlowRunInput } from "../core/flow-run-inputs.ts";
import { refusalError } from "../store/refusal.ts";
import type { FlowRun, RunStore } from "../store/types.ts";
import { InvalidInputError, NotPausedError } from "./errors.ts";
import { schemaIssues } from "./parameters.ts";

export type PausedRunStore = Pick<RunStore, "getFlowRun" | "listFlowRunInputs" | "supplyFlowRunInput">;

/** A paused run with the request it waits on; a NotPausedError when it waits on none. */
export async function pausedRun(runs: Pick<RunStore, "getFlowRun" | "listFlowRunInputs">, id: string): Promise<{ run: FlowRun; request: FlowRunInput }> {
  const run = await runs.getFlowRun(id);
  if (!run) throw new RunNotFoundError("flow run", id);
  if (run.state.type !== "PAUSED") throw new NotPausedError(id, { state: run.state.name, key: null }, `is ${run.state.name}, not Paused: there is no input to give it`);
  const request = openInputRequest(run, await runs.listFlowRunInputs(id));
  if (!request)
    throw new NotPausedError(id, { state: run.state.name, key: null }, "is Paused but not by pauseFlowRun (it asks for no input): resume it with set-state instead");
  return { run, request };
}

export interface ResumeOptions {
  /** Who resumes it, recorded with the input ("api", "cli", "automation <name>"). */
  by: string;
  /** The pause the caller answers (a form shown for an earlier pause must not answer a later one). */
  key?: string;
  /** Compare-and-set: the Paused state's timestamp as the caller read it (default: as read here). */
  pausedAt?: number;
}

/**
 * The run as it now is (Scheduled). A RunNotFoundError; a NotPausedError for a run not waiting
 * on input (or on another key); an InvalidInputError naming each field that fails the schema
 * (nothing changes); an InvalidTransitionError when it changed meanwhile (resumed by someone else).
 */
export async function resumePausedFlowRun(runs: PausedRunStore, id: string, input: unknown, options: ResumeOptions): Promise<FlowRun> {
  const { run, request } = await pausedRun(runs, id);
  if (options.key !== undefined && options.key !== request.key)
    throw new NotPausedError(id, { state: run.state.name, key: request.key }, `waits for the input of pause "${request.key}", not "${options.key}"`);
  // Defaults of the schema are filled in, so the flow gets the input the schema describes.
  const value = structuredClone(input ?? {});
  const issues = schemaIssues(request.schema, value, "input");
  if (issues) throw new InvalidInputError(issues.message, issues.details);
  const result = await runs.supplyFlowRunInput(id, request.key, value, { by: options.by, pausedAt: options.pausedAt ?? run.state.timestamp });
  if (!result.accepted) throw refusalError(id, { name: "Scheduled" }, result);
  return result.run;
}
