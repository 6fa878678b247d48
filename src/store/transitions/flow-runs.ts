/**
 * The one way a flow run changes state: every writer — the engine, the API's set-state, claims,
 * cancels, the late marker, the crash sweep, deployment retries, the scheduler's new runs — goes
 * through `transitionFlowRuns` (or `createFlowRuns` for a run's first state).
 *
 * Inputs: proposals (run id, proposed state, optional force, compare-and-set expectations and
 * fields that change with the state), inside the caller's transaction.
 * Steps, in that transaction:
 *   1. lock the runs' rows (PostgreSQL FOR UPDATE, in id order so two callers never deadlock;
 *      SQLite's writer already holds the database);
 *   2. decide each proposal: a proposal whose outcome is stored already (sent again after its
 *      answer was lost) is accepted without writing; one whose `expect` no longer holds is
 *      refused (`RunChangedSinceRead`); the rest go through the rules of core/transitions.ts;
 *   3. write the state and the fields it implies (start and end times, run count, heartbeat,
 *      the holding worker...: `flowRunColumns`, pure);
 *   4. append the state history and one event per accepted transition
 *      (`baton.flow-run.<State>`, an outbox: the change and its event commit together);
 *   5. reactions: deployment retries (a Crashed or Failed run of a deployment with retries left
 *      goes to AwaitingRetry, through this same function), and after the commit the runs-due
 *      notifications (a Scheduled run wakes its pool's workers; an ended one frees a slot).
 * Outcomes: per run, accepted (with the run as it now is, its retry included) or refused with
 * the rule and the reason (the run as it is). Runs that do not exist are left out.
 */
import type { Selectable, Updateable } from "kysely";
import { STATE_NAME_TYPE, TERMINAL_TYPES, type State, type StateType } from "../../core/states.ts";
import type { FlowRunMove } from "../observer.ts";
import { decideTransition } from "../../core/transitions.ts";
import { proposalAlreadyApplied } from "../../core/deployment-retry.ts";
import { flowRunTransitionEvent, type FlowRunFacts, type NewEvent } from "../../core/event-records.ts";
import { InvalidTransitionError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import { flowRunFromRow, resourceColumns } from "../rows.ts";
import type { FlowRunsTable } from "../schema.ts";
import type { FlowRun, NewFlowRun, StateRecord } from "../types.ts";
import { historyStatements, storableText, type Statement } from "./batch-sql.ts";
import { deploymentRetryProposals } from "./deployment-retries.ts";
import { writeWithEvents } from "./event-log.ts";
import type { FlowRunFields, FlowRunProposal, TransitionHost, Tx } from "./host.ts";

export type { FlowRunFields, FlowRunProposal } from "./host.ts";

export type FlowRunOutcome =
  | { accepted: true; run: FlowRun }
  | { accepted: false; run: FlowRun; kind: "reject" | "abort" | "wait"; reason: string; rule: string; delayMs?: number };

/** A flow run's row as the primitive reads it: with its flow's name and its deployment's. */
/** A run's row as a transition reads it: its flow's and deployment's names joined. */
export type FlowRunRow = Selectable<FlowRunsTable> & { flow_name: string; deployment_name: string | null };
type Row = FlowRunRow;

/** Ids per locking read: well under both databases' parameter limits. */
const CHUNK = 400;

/** The columns a move of `current` to `to` sets (pure: the per-state fields in one place). */
export function flowRunColumns(current: FlowRun, to: State, fields: FlowRunFields = {}): Updateable<FlowRunsTable> {
  const columns: Updateable<FlowRunsTable> = {
    state_type: to.type,
    state_name: to.name,
    state_message: storableText(to.message ?? null),
    state_timestamp: to.timestamp,
    // A relabel among SCHEDULED names (Late) keeps the time the run is due.
    scheduled_at: to.scheduledAt ?? (to.type === "SCHEDULED" ? (current.state.scheduledAt ?? null) : null),
  };
  if (to.type === "RUNNING") {
    if (current.startTime == null) columns.start_time = to.timestamp;
    columns.heartbeat_at = fields.heartbeatAt ?? to.timestamp;
    columns.end_time = null;
    // Every start counts, whoever proposes it (a run set Running through the API too): a
    // resume then knows that task runs of an earlier start may exist.
    if (current.state.type !== "RUNNING") columns.run_count = current.runCount + 1;
  }
  if (TERMINAL_TYPES.has(to.type)) columns.end_time = to.timestamp;
  // A claim names its worker; a run made Pending otherwise (a resume by hand) is no longer held
  // by the worker that claimed it before, whose death must not crash it.
  if (to.type === "PENDING") columns.worker_id = fields.workerId ?? null;
  // A paused run holds no worker (a suspended one has no process either): the worker that
  // claimed it must not crash it when its process exits, nor must that worker's death.
  if (to.type === "PAUSED") columns.worker_id = null;
  if (fields.resultId !== undefined) columns.result_id = fields.resultId;
  if (fields.error !== undefined) columns.error = fields.error ? JSON.stringify(fields.error) : null;
  if (fields.runCount !== undefined) columns.run_count = fields.runCount;
  if (fields.heartbeatMs !== undefined) columns.heartbeat_ms = fields.heartbeatMs;
  if (fields.retriesUsed !== undefined) columns.retries_used = fields.retriesUsed;
  // What the run's process used, sent with its final state (the same statement writes both).
  if (fields.resources !== undefined) Object.assign(columns, resourceColumns(fields.resources));
  return columns;
}

/** Why a run no longer is as the caller read it (`expect`), or null. */
function changedSinceRead(run: FlowRun, expect: FlowRunProposal["expect"]): string | null {
  if (!expect) return null;
  if (expect.workerId !== undefined && run.workerId !== expect.workerId)
    return `the run is no longer held by worker ${expect.workerId} (now: ${run.workerId ?? "none"}, ${run.state.name})`;
  if (expect.stateTimestamp !== undefined && run.state.timestamp !== expect.stateTimestamp)
    return `the run changed state since it was read (now ${run.state.name} since ${new Date(run.state.timestamp).toISOString()})`;
  return null;
}

/** What an event about the run says of it. */
function factsOf(row: Row): FlowRunFacts {
  return {
    id: row.id,
    name: row.name,
    flowId: row.flow_id,
    flowName: row.flow_name,
    tags: JSON.parse(row.tags) as string[],
    deploymentId: row.deployment_id,
    deploymentName: row.deployment_name,
    workPool: row.work_pool,
    workQueue: row.work_queue,
    workerId: row.worker_id,
    parentFlowRunId: row.parent_flow_run_id,
    runCount: Number(row.run_count),
  };
}

/** What the store's observer hears of a move of `row` (as it is after the move) from `from` to `to`. */
function moveOf(row: Row, from: StateType | null, to: State): FlowRunMove {
  return {
    flowName: row.flow_name,
    workPool: row.work_pool,
    from,
    toType: to.type,
    toName: to.name,
    at: to.timestamp,
    startTime: row.start_time === null ? null : Number(row.start_time),
    expectedStartTime: row.expected_start_time === null ? null : Number(row.expected_start_time),
  };
}

/** Reads (and on PostgreSQL locks, in id order) the runs' rows. Hand-written: it runs at every transition. */
async function lockRows(tx: Tx, host: TransitionHost, ids: readonly string[]): Promise<Map<string, Row>> {
  const rows = new Map<string, Row>();
  const sorted = [...new Set(ids)].sort();
  const lock = host.dialect === "postgres" ? " for update of flow_runs" : "";
  for (let i = 0; i < sorted.length; i += CHUNK) {
    const part = sorted.slice(i, i + CHUNK);
    const sql =
      "select flow_runs.*, flows.name as flow_name, deployments.name as deployment_name from flow_runs " +
      "join flows on flows.id = flow_runs.flow_id left join deployments on deployments.id = flow_runs.deployment_id " +
      `where flow_runs.id in (${part.map(() => "?").join(", ")}) order by flow_runs.id${lock}`;
    for (const row of await host.run(tx, { sql, params: part })) rows.set(row.id as string, row as unknown as Row);
  }
  return rows;
}

/**
 * `locked`: the runs' rows as the caller read them in this transaction, locked on PostgreSQL (the
 * claim does: it reads and locks the runs it hands out), so they are not read again.
 */
export async function transitionFlowRuns(
  tx: Tx,
  host: TransitionHost,
  proposals: readonly FlowRunProposal[],
  now = Date.now(),
  locked?: ReadonlyMap<string, FlowRunRow>,
): Promise<Map<string, FlowRunOutcome>> {
  const outcomes = new Map<string, FlowRunOutcome>();
  if (proposals.length === 0) return outcomes;
  const rows = locked && proposals.every((p) => locked.has(p.id)) ? new Map(locked) : await lockRows(tx, host, proposals.map((p) => p.id));
  const changed = new Map<string, Updateable<FlowRunsTable>>();
  const history: Omit<StateRecord, "id">[] = [];
  const events: NewEvent[] = [];
  const ended: { id: string; deploymentId: string | null; retriesUsed: number; ended: State; errorName: string | null }[] = [];
  const moves: { id: string; from: StateType; to: State }[] = [];
  for (const proposal of proposals) {
    const row = rows.get(proposal.id);
    if (!row) continue;
    const current = flowRunFromRow(row);
    // Sent again after its answer was lost: it was applied. Not twice (nor its reactions).
    if (proposalAlreadyApplied(current.state, proposal.state)) {
      outcomes.set(proposal.id, { accepted: true, run: current });
      continue;
    }
    const stale = changedSinceRead(current, proposal.expect);
    if (stale) {
      outcomes.set(proposal.id, { accepted: false, run: current, kind: "reject", rule: "RunChangedSinceRead", reason: stale });
      continue;
    }
    const decision = decideTransition({ from: current.state, to: proposal.state, force: proposal.force, now });
    if (decision.kind !== "accept") {
      outcomes.set(proposal.id, { accepted: false, run: current, ...decision });
      continue;
    }
    const columns = flowRunColumns(current, proposal.state, proposal.fields);
    const next = { ...row, ...columns } as Row;
    rows.set(row.id, next);
    changed.set(row.id, { ...changed.get(row.id), ...columns });
    history.push({ ...proposal.state, flowRunId: row.id, taskRunId: null });
    moves.push({ id: row.id, from: current.state.type, to: proposal.state });
    events.push(flowRunTransitionEvent(newId(), factsOf(next), current.state, proposal.state));
    outcomes.set(row.id, { accepted: true, run: flowRunFromRow(next) });
    if (proposal.state.type === "CRASHED" || proposal.state.type === "FAILED") {
      const error = proposal.fields?.error !== undefined ? proposal.fields.error : current.error;
      ended.push({ id: row.id, deploymentId: row.deployment_id, retriesUsed: Number(next.retries_used), ended: proposal.state, errorName: error?.name ?? null });
    }
  }
  await writeChanges(tx, host, changed, history, events, rows);
  if (moves.length) host.flowRunsMoved(tx, () => moves.map(({ id, from, to }) => moveOf(rows.get(id)!, from, to)));
  // Reactions inside the same commit: a deployment retry is a transition like any other.
  const retries = await deploymentRetryProposals(tx, ended, now);
  if (retries.length) for (const [id, outcome] of await transitionFlowRuns(tx, host, retries, now)) if (outcome.accepted) outcomes.set(id, outcome);
  return outcomes;
}

/** Writes the accepted transitions: the rows (grouped when their changes are the same), history, events, notifications. */
async function writeChanges(
  tx: Tx,
  host: TransitionHost,
  changed: Map<string, Updateable<FlowRunsTable>>,
  history: Omit<StateRecord, "id">[],
  events: NewEvent[],
  rows: Map<string, Row>,
): Promise<void> {
  const groups = new Map<string, { columns: Updateable<FlowRunsTable>; ids: string[] }>();
  for (const [id, columns] of changed) {
    const key = JSON.stringify(columns);
    const group = groups.get(key) ?? { columns, ids: [] };
    group.ids.push(id);
    groups.set(key, group);
  }
  const statements: Statement[] = [];
  for (const { columns, ids } of groups.values()) {
    const set = Object.entries(columns).filter(([, value]) => value !== undefined);
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      const sql = `update flow_runs set ${set.map(([column]) => `${column} = ?`).join(", ")} where id in (${part.map(() => "?").join(", ")})`;
      statements.push({ sql, params: [...set.map(([, value]) => value), ...part] });
    }
  }
  await writeWithEvents(tx, host, [...statements, ...historyStatements(history)], events);
  const due = new Set<string>();
  for (const id of changed.keys()) {
    const row = rows.get(id)!;
    if (!row.work_pool) continue;
    const type = STATE_NAME_TYPE[row.state_name as keyof typeof STATE_NAME_TYPE];
    if (type === "SCHEDULED") due.add(row.work_pool);
    else if (TERMINAL_TYPES.has(type)) host.slotFreed(tx, row.work_pool);
  }
  for (const pool of due) await host.notifyRunsDue(tx, pool);
}

/** Appends rows to the state history (flow runs' and task runs'). */
export async function insertHistory(tx: Tx, host: TransitionHost, states: readonly Omit<StateRecord, "id">[]): Promise<void> {
  for (const statement of historyStatements(states)) await host.run(tx, statement);
}

/** The row of a flow run being created. */
export function newFlowRunRow(run: NewFlowRun, flowId: string): Selectable<FlowRunsTable> {
  return {
    id: run.id,
    flow_id: flowId,
    name: run.name,
    parent_flow_run_id: run.parentFlowRunId,
    parent_task_run_id: run.parentTaskRunId,
    state_type: run.state.type,
    state_name: run.state.name,
    state_message: storableText(run.state.message ?? null),
    state_timestamp: run.state.timestamp,
    scheduled_at: run.state.scheduledAt ?? null,
    parameters: JSON.stringify(run.parameters ?? {}),
    tags: JSON.stringify(run.tags),
    run_count: 0,
    created_at: run.state.timestamp,
    start_time: null,
    end_time: null,
    heartbeat_at: null,
    heartbeat_ms: null,
    result_id: null,
    error: null,
    version: run.version,
    entrypoint: run.entrypoint ?? null,
    deployment_id: run.deploymentId ?? null,
    work_pool: run.workPool ?? null,
    work_queue: run.workQueue ?? null,
    worker_id: null,
    expected_start_time: run.expectedStartTime ?? null,
    job_variables: run.jobVariables ? JSON.stringify(run.jobVariables) : null,
    retries_used: 0,
    ...resourceColumns(null),
  };
}

/** A run to create, with the id of its flow (the caller resolves names to ids). */
export interface FlowRunToCreate {
  run: NewFlowRun;
  flowId: string;
  /** For the event: the deployment's name, when the caller knows it. */
  deploymentName?: string | null;
}

/**
 * Creates runs in their first state (the rules decide it: Scheduled or Pending), with their
 * history row and their event. `skipSlotsTaken`: a run whose (deployment, expected start time)
 * slot exists already is skipped (the scheduler's runs, made once per slot). Returns the runs made.
 */
export async function createFlowRuns(tx: Tx, host: TransitionHost, runs: readonly FlowRunToCreate[], options: { skipSlotsTaken?: boolean } = {}): Promise<FlowRun[]> {
  const created: FlowRun[] = [];
  const fullRows: Row[] = [];
  const history: Omit<StateRecord, "id">[] = [];
  const events: NewEvent[] = [];
  const due = new Set<string>();
  for (const { run, flowId, deploymentName } of runs) {
    const decision = decideTransition({ from: null, to: run.state });
    if (decision.kind !== "accept") throw new InvalidTransitionError(run.id, null, run.state.name, decision.rule, decision.reason);
    const row = newFlowRunRow(run, flowId);
    const columns = Object.keys(row);
    // The scheduler's runs: one per (deployment, slot), a partial unique index decides.
    const conflict = options.skipSlotsTaken ? " on conflict (deployment_id, expected_start_time) where deployment_id is not null and expected_start_time is not null do nothing" : "";
    const sql = `insert into flow_runs (${columns.join(", ")}) values (${columns.map(() => "?").join(", ")})${conflict} returning id`;
    const inserted = await host.run(tx, { sql, params: Object.values(row) });
    if (inserted.length === 0) continue;
    const full: Row = { ...row, flow_name: run.flowName, deployment_name: deploymentName ?? null };
    created.push(flowRunFromRow(full));
    fullRows.push(full);
    history.push({ ...run.state, flowRunId: run.id, taskRunId: null });
    events.push(flowRunTransitionEvent(newId(), factsOf(full), null, run.state));
    if (run.state.type === "SCHEDULED" && run.workPool) due.add(run.workPool);
  }
  await writeWithEvents(tx, host, historyStatements(history), events);
  for (const pool of due) await host.notifyRunsDue(tx, pool);
  if (created.length) host.flowRunsMoved(tx, () => fullRows.map((row) => moveOf(row, null, flowRunFromRow(row).state)));
  return created;
}
