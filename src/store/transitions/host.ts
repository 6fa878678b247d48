/**
 * The transition primitive's interface: what it needs from the store that runs it (the
 * transaction, the dialect, the after-commit notifications) and what callers propose. The
 * primitive lives in this folder, the only place allowed to write a state column or a
 * state-history row (test/unit/state-writers.test.ts checks it).
 */
import type { Kysely, Transaction } from "kysely";
import type { Dialect } from "../dialect.ts";
import type { ErrorInfo } from "../../core/errors.ts";
import type { RunResources } from "../../core/resources.ts";
import type { State } from "../../core/states.ts";
import type { Database } from "../schema.ts";
import type { Statement } from "./batch-sql.ts";
import type { FlowRunMove } from "../observer.ts";

export type Tx = Kysely<Database> | Transaction<Database>;

export interface TransitionHost {
  readonly dialect: Dialect;
  /**
   * A run of `pool` became due (Scheduled): after the commit, every process's workers waiting on
   * the pool are told (PostgreSQL NOTIFY, and this process's listeners).
   */
  notifyRunsDue(tx: Tx, pool: string): Promise<void>;
  /**
   * A run of `pool` ended, freeing a slot of its pool, queue and deployment: after the commit,
   * this process's waiting claims are told (a NOTIFY to every worker on each run's end would
   * wake them all for the one slot).
   */
  slotFreed(tx: Tx, pool: string): void;
  /** Flow runs moved in the transaction: the store's observer hears of them after the commit (when it has one). */
  flowRunsMoved(tx: Tx, moves: () => readonly FlowRunMove[]): void;
  /** Runs one hand-written statement (`?` placeholders) in the transaction; returns its rows. */
  run(tx: Tx, statement: Statement): Promise<Record<string, unknown>[]>;
}

/** Fields that change along with a state. */
export interface FlowRunFields {
  resultId?: string | null;
  error?: ErrorInfo | null;
  /** Default: one more on entering RUNNING (every start counts, whoever proposes it). */
  runCount?: number;
  /** With RUNNING: the heartbeat interval the running process promises. */
  heartbeatMs?: number;
  /** With RUNNING: when the run was last heard of (default: the state's timestamp). */
  heartbeatAt?: number;
  /** With PENDING: the worker that claimed the run (default: none — a resume by hand). */
  workerId?: string | null;
  /** Deployment retries used (set by the retry reaction). */
  retriesUsed?: number;
  /** With a final state: what the run's process used (the runner measures it). */
  resources?: RunResources;
}

export interface FlowRunProposal {
  id: string;
  state: State;
  /** Skip the policy rules (admins, recovery tools); the consistency rules still apply. */
  force?: boolean;
  /** Compare-and-set: refused unless the run is still held by this worker / in the state of this timestamp. */
  expect?: { workerId?: string; stateTimestamp?: number };
  fields?: FlowRunFields;
}
