/**
 * Pausing a flow run for input, from inside its flow function (`pauseFlowRun` in the SDK).
 *
 * A pause whose key already has input (the run was resumed and runs again from the start)
 * returns that input at once. Otherwise the run pauses, in one of two ways (Prefect's "suspend"
 * and "pause"):
 *   - suspend: a run a worker can start again (it has a work pool and an entrypoint: a
 *     deployment's) unwinds its flow function with a FlowRunSuspendedError; the runner lets its
 *     started task runs finish, moves it to Paused and the process exits, holding no worker slot.
 *     Resumed, it is Scheduled; a worker claims it and runs it from the start, finished task runs
 *     returning their stored results;
 *   - wait in place: any other run (`baton run`, `flow.run()`, a child flow) moves to Paused and
 *     its process polls the store until the run is resumed (Scheduled, with the input: it goes
 *     Running again), cancelled, or its timeout passes (it applies the timeout itself, as the
 *     server would: there may be no server).
 */
import { BatonError, RunCancelledError } from "../core/errors.ts";
import { FlowRunSuspendedError, PauseEndedError, type FlowRunInput, type InputRequest } from "../core/flow-run-inputs.ts";
import { makeState } from "../core/states.ts";
import { refusalError } from "../store/refusal.ts";
import { expirePause } from "../services/pause-timeouts.ts";
import type { FlowRunState } from "./flow-run-state.ts";
import { abortableSleep } from "./timing.ts";

/** How often a process waiting in place reads its run (ms; tests shorten it). */
const waitPollMs = () => Number(process.env.BATON_TEST_PAUSE_POLL_MS) || 1000;

/** A pause as the SDK compiled it; `parse` turns stored JSON input into the flow's value. */
export interface PauseCall {
  key: string | undefined;
  request: Omit<InputRequest, "key" | "timeoutAt">;
  timeoutMs: number | null;
  parse(input: unknown): unknown;
}

/** The input of the pause, once given (see the module's comment). */
export async function pauseFlowRunHere(state: FlowRunState, call: PauseCall): Promise<unknown> {
  const { store } = state.runtime;
  const id = state.flowRun.id;
  const key = state.nextPauseKey(call.key);
  const answered = await store.getFlowRunInput(id, key);
  if (answered && answered.suppliedAt !== null) return parseInput(state, call, key, answered.input);
  const request: InputRequest = { ...call.request, key, timeoutAt: call.timeoutMs === null ? null : Date.now() + call.timeoutMs };
  if (state.flowRun.workPool && state.flowRun.entrypoint) throw new FlowRunSuspendedError(id, request);

  // Waiting in place: the records written so far are stored before anyone looks at the run.
  // Flagged before the run is Paused, so a heartbeat in between does not take it for a pause
  // from outside.
  state.waitingForInput = true;
  try {
    await state.runtime.batcher.drain(id);
    const paused = await store.pauseFlowRun(id, request);
    if (!paused.accepted) throw refusalError(id, { name: "Paused" }, paused);
    state.logger.info(`Paused, waiting for input (${key}): resume it with \`baton flow-run resume ${id} --input '{…}'\` or from the dashboard`);
    return await waitForInput(state, call, key, request, paused.run.state.timestamp);
  } finally {
    state.waitingForInput = false;
  }
}

/** Polls the paused run until it is resumed with input (its value), cancelled or ended otherwise (thrown). */
async function waitForInput(state: FlowRunState, call: PauseCall, key: string, request: InputRequest, pausedAt: number): Promise<unknown> {
  const { store } = state.runtime;
  const id = state.flowRun.id;
  for (;;) {
    await abortableSleep(waitPollMs(), state.controller.signal);
    const run = await store.getFlowRun(id);
    if (!run) throw new BatonError(`flow run ${id} was deleted while it waited for input`);
    if (run.state.type === "PAUSED" && run.state.timestamp === pausedAt) {
      if (request.timeoutAt !== null && Date.now() >= request.timeoutAt) await expirePause(store, { ...request, flowRunId: id, createdAt: pausedAt, suppliedAt: null, suppliedBy: null });
      continue;
    }
    if (run.state.type === "CANCELLING" || run.state.type === "CANCELLED") {
      state.cancelled = true;
      throw new RunCancelledError(`flow run ${id} was cancelled while it waited for input`);
    }
    const given = run.state.type === "SCHEDULED" ? await store.getFlowRunInput(id, key) : undefined;
    if (!given || given.suppliedAt === null) throw new PauseEndedError(id, run.state.name);
    const running = await store.setFlowRunState(id, makeState("Running", { message: `resumed with input (${key}) by ${given.suppliedBy ?? "someone"}` }), { heartbeatMs: state.runtime.heartbeatMs });
    if (!running.accepted) throw refusalError(id, { name: "Running" }, running);
    state.flowRun = running.run;
    state.logger.info(`Resumed with input (${key}) by ${given.suppliedBy ?? "someone"}`);
    return parseInput(state, call, key, given.input);
  }
}

function parseInput(state: FlowRunState, call: PauseCall, key: string, input: FlowRunInput["input"]): unknown {
  try {
    return call.parse(input);
  } catch (error) {
    throw new BatonError(`the input given to pause ${key} of flow run ${state.flowRun.id} no longer passes its schema (the flow's code changed since?): ${(error as Error).message}`, { cause: error });
  }
}
