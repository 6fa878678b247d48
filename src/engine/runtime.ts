/**
 * What a process needs to run flows: the store, the write batcher in front of it, the result
 * store, settings, and (lazily) the worker-thread pool. One per process, created by the SDK.
 */
import type { OrchestrationStore, RunStore, SchedulerStore } from "../store/types.ts";
import { ResultStore } from "./result-store.ts";
import type { ResultBlobStore } from "../core/result-storage.ts";
import type { FileBlobStore } from "./file-blobs.ts";
import { WriteBatcher } from "./write-batcher.ts";
import type { ThreadPool } from "./thread-pool.ts";

export interface RuntimeOptions {
  store: RunStore;
  /** Concurrency limits (and deployments): over the same database or API as `store`. */
  orchestration: OrchestrationStore;
  /** The scheduler's writes, when the store is a database (null behind a server, which schedules). */
  scheduler: SchedulerStore | null;
  /** The database URL when the store is a database (child processes of a worker reuse it). */
  databaseUrl?: string | null;
  /** Where large results are written; null: nowhere, they travel inline (a flow run through the API). */
  resultBlobs: ResultBlobStore | null;
  /** This machine's results folder, read for results `resultBlobs` does not hold (written before a switch). */
  legacyResults?: FileBlobStore | null;
  inlineResultBytes: number;
  heartbeatMs: number;
  /** Minimum pino level echoed to the console (stored logs keep everything >= debug). */
  consoleLevel: number;
  /** Task runs of a flow run in flight at once; later calls wait their turn (default 4,096). */
  taskWindow?: number;
}

export class Runtime {
  readonly store: RunStore;
  readonly orchestration: OrchestrationStore;
  readonly scheduler: SchedulerStore | null;
  readonly databaseUrl: string | null;
  readonly batcher: WriteBatcher;
  readonly results: ResultStore;
  readonly heartbeatMs: number;
  readonly consoleLevel: number;
  readonly taskWindow: number;
  private pool: Promise<ThreadPool> | null = null;

  constructor(options: RuntimeOptions) {
    this.store = options.store;
    this.orchestration = options.orchestration;
    this.scheduler = options.scheduler;
    this.databaseUrl = options.databaseUrl ?? null;
    this.batcher = new WriteBatcher(options.store);
    this.results = new ResultStore(options.store, options.resultBlobs, options.inlineResultBytes, options.legacyResults ?? null);
    this.heartbeatMs = options.heartbeatMs;
    this.consoleLevel = options.consoleLevel;
    this.taskWindow = options.taskWindow ?? 4096;
  }

  /** The worker-thread pool, started on first use (a flow without thread tasks never pays for it). */
  threadPool(): Promise<ThreadPool> {
    this.pool ??= import("./thread-pool.ts").then((m) => new m.ThreadPool());
    return this.pool;
  }

  async close(): Promise<void> {
    await this.batcher.drain().catch(() => undefined);
    if (this.pool) await (await this.pool).close();
    await this.store.close();
  }
}
