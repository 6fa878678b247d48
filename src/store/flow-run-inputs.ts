/**
 * The store's side of pausing for input (core/flow-run-inputs.ts): each request and its answer
 * in `flow_run_inputs`, written in the same transaction as the state change it goes with, so a
 * run is never Paused without its request, nor Scheduled again without its input.
 *
 *   pause:  Running -> Paused (the primitive decides), then the request is upserted — only when
 *           the transition was accepted;
 *   supply: Paused -> Scheduled, compare-and-set on the Paused state read by the caller (two
 *           people resuming at once: one wins, the other is refused), then the input is stored;
 *   expiry: the open requests of Paused runs whose timeout passed, for the timeout sweep.
 */
import type { Selectable } from "kysely";
import { RunNotFoundError } from "../core/errors.ts";
import type { FlowRunInput, InputRequest } from "../core/flow-run-inputs.ts";
import { makeState } from "../core/states.ts";
import type { FlowRunInputsTable } from "./schema.ts";
import { transitionFlowRuns } from "./transitions/flow-runs.ts";
import type { TransitionHost, Tx } from "./transitions/host.ts";
import type { SetStateResult } from "./types.ts";

/** What these writes need of the store (the Kysely store; named here so the two files do not import each other). */
interface InputsHost extends TransitionHost {
  transaction<T>(fn: (tx: Tx) => Promise<T>, options?: { rerunnable?: boolean }): Promise<T>;
}

export function flowRunInputFromRow(row: Selectable<FlowRunInputsTable>): FlowRunInput {
  return {
    flowRunId: row.flow_run_id,
    key: row.key,
    schema: row.schema === null ? null : (JSON.parse(row.schema) as Record<string, unknown>),
    description: row.description,
    timeoutAt: row.timeout_at === null ? null : Number(row.timeout_at),
    ...(row.default_value === null ? {} : { default: JSON.parse(row.default_value) as unknown }),
    createdAt: Number(row.created_at),
    ...(row.input === null ? {} : { input: JSON.parse(row.input) as unknown }),
    suppliedAt: row.supplied_at === null ? null : Number(row.supplied_at),
    suppliedBy: row.supplied_by,
  };
}

export async function getFlowRunInput(db: Tx, flowRunId: string, key: string): Promise<FlowRunInput | undefined> {
  const row = await db.selectFrom("flow_run_inputs").selectAll().where("flow_run_id", "=", flowRunId).where("key", "=", key).executeTakeFirst();
  return row ? flowRunInputFromRow(row) : undefined;
}

/** A run's pauses, oldest first. */
export async function listFlowRunInputs(db: Tx, flowRunId: string): Promise<FlowRunInput[]> {
  const rows = await db.selectFrom("flow_run_inputs").selectAll().where("flow_run_id", "=", flowRunId).orderBy("created_at").orderBy("key").execute();
  return rows.map(flowRunInputFromRow);
}

/** Moves the run to Paused and records what it asks for, in one transaction (nothing is recorded when the rules refuse). */
export async function pauseFlowRun(base: InputsHost, flowRunId: string, request: InputRequest): Promise<SetStateResult> {
  const outcome = await base.transaction(
    async (tx) => {
      const now = Date.now();
      const paused = makeState("Paused", { message: request.description ?? `waiting for input (${request.key})`, timestamp: now });
      const result = (await transitionFlowRuns(tx, base, [{ id: flowRunId, state: paused }], now)).get(flowRunId);
      if (!result?.accepted) return result;
      const columns = {
        schema: request.schema ? JSON.stringify(request.schema) : null,
        description: request.description,
        timeout_at: request.timeoutAt,
        default_value: request.default === undefined ? null : JSON.stringify(request.default),
        input: null,
        created_at: now,
        supplied_at: null,
        supplied_by: null,
      };
      await tx
        .insertInto("flow_run_inputs")
        .values({ flow_run_id: flowRunId, key: request.key, ...columns })
        .onConflict((oc) => oc.columns(["flow_run_id", "key"]).doUpdateSet(columns))
        .execute();
      return result;
    },
    { rerunnable: true },
  );
  if (!outcome) throw new RunNotFoundError("flow run", flowRunId);
  return outcome;
}

/**
 * Stores the input of the run's request `key` and schedules the run again (Paused -> Scheduled,
 * due now), in one transaction; refused (nothing stored) unless the run is still in the Paused
 * state of `pausedAt`.
 */
export async function supplyFlowRunInput(base: InputsHost, flowRunId: string, key: string, input: unknown, options: { by: string; pausedAt: number }): Promise<SetStateResult> {
  const outcome = await base.transaction(async (tx) => {
    const now = Date.now();
    const scheduled = makeState("Scheduled", { scheduledAt: now, timestamp: now, message: `resumed with input (${key}) by ${options.by}` });
    const result = (await transitionFlowRuns(tx, base, [{ id: flowRunId, state: scheduled, expect: { stateTimestamp: options.pausedAt } }], now)).get(flowRunId);
    if (!result?.accepted) return result;
    await tx
      .updateTable("flow_run_inputs")
      .set({ input: JSON.stringify(input ?? null), supplied_at: now, supplied_by: options.by })
      .where("flow_run_id", "=", flowRunId)
      .where("key", "=", key)
      .execute();
    return result;
  });
  if (!outcome) throw new RunNotFoundError("flow run", flowRunId);
  return outcome;
}

/** The open requests of Paused runs whose timeout is at or before `now`, oldest first. */
export async function listExpiredPauses(db: Tx, now: number, limit = 200): Promise<FlowRunInput[]> {
  const rows = await db
    .selectFrom("flow_run_inputs")
    .innerJoin("flow_runs", "flow_runs.id", "flow_run_inputs.flow_run_id")
    .selectAll("flow_run_inputs")
    .where("flow_run_inputs.supplied_at", "is", null)
    .where("flow_run_inputs.timeout_at", "<=", now)
    .where("flow_runs.state_type", "=", "PAUSED")
    // The request of the run's current pause (made in the same commit), not an older one left open.
    .whereRef("flow_run_inputs.created_at", "=", "flow_runs.state_timestamp")
    .orderBy("flow_run_inputs.timeout_at")
    .limit(limit)
    .execute();
  return rows.map(flowRunInputFromRow);
}
