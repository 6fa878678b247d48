/**
 * Task and flow options: user input -> validated -> compiled with defaults, one function per
 * kind. Validation happens when a task or flow is defined, so a typo fails at import time with
 * a `TypeError` naming the option, not hours later inside a run.
 */
import { assetList, type Asset } from "./assets.ts";
import type { RetryDelay } from "./retry-policy.ts";

export type Runner = "async" | "threads";

/** Information handed to task hooks. */
export interface HookContext {
  kind: "task" | "flow";
  name: string;
  runId: string;
  flowRunId: string;
  state: { type: string; name: string; message?: string | null };
  /** 1-based attempt number. */
  attempt: number;
  error?: unknown;
  result?: unknown;
}
export type Hook = (ctx: HookContext) => void | Promise<void>;

export type CacheKeyFn = (ctx: { taskName: string; args: readonly unknown[]; parameters: unknown }) => string | null | undefined;

/** Options shared by tasks and flows. */
export interface RunOptions {
  name?: string;
  description?: string;
  version?: string;
  tags?: readonly string[];
  /** How many times to retry after a failure (default 0). */
  retries?: number;
  /** Delay before each retry: ms, a list of ms, or `exponentialBackoff(...)`. */
  retryDelayMs?: RetryDelay;
  /** 0..1: spread each delay randomly by up to this fraction. */
  retryJitter?: number;
  /** Decides whether an error is worth retrying (attempt is 1-based). */
  retryIf?: (error: unknown, attempt: number) => boolean | Promise<boolean>;
  /** Abort the run after this many ms; it ends `TimedOut`. */
  timeoutMs?: number;
  onCompletion?: Hook | readonly Hook[];
  onFailure?: Hook | readonly Hook[];
  onRetry?: Hook | readonly Hook[];
  /** Store the result so resumes and caches can reuse it (default true). */
  persistResult?: boolean;
}

export interface TaskOptions extends RunOptions {
  /** `"inputs"`: hash of the task's source and arguments; or a function returning the key. */
  cacheKey?: "inputs" | CacheKeyFn;
  /** How long a cached result stays valid (default: forever). */
  cacheExpiresMs?: number;
  /** A stable key for this task run inside its flow run (default: name plus call index). */
  key?: string;
  /** `"threads"` runs the task in a worker-thread pool (for CPU-bound work). */
  runner?: Runner;
  /** Futures this task waits for without receiving their results (set per call with `.with`). */
  waitFor?: readonly unknown[];
  /** Emit an event (`baton.task-run.<State>`) at every transition, not only Failed, TimedOut, Crashed and Cancelled. */
  emitEvents?: boolean;
  /** Assets the task reads: the latest version of each, or the one pinned with `.version(...)`, recorded when it starts. */
  reads?: readonly Asset[];
  /** Assets the task writes: materialised from its result when it completes, unless it calls `materialize` for them. */
  writes?: readonly Asset[];
  /** Each attempt runs as a child flow run on this work pool, claimed by its workers (`baton worker start --pool NAME`). */
  workPool?: string;
  /** A queue of `workPool` for those runs (default: the pool's default queue). */
  workQueue?: string;
}

export interface FlowOptions extends RunOptions {
  /** How many task runs may execute at once (default: unbounded). */
  maxConcurrency?: number;
  /** Also store `console.log` output of the flow as run logs. */
  logPrints?: boolean;
  /** A zod schema (or anything with `safeParse`) for the parameters object. */
  params?: ParamsSchema;
  /** Default task runner for the flow's tasks. */
  taskRunner?: Runner;
  /** The experiment its runs' params and metrics (`logParams`, `logMetric`) belong to (default: the flow's name). */
  experiment?: string;
  /**
   * Stop at the first task run that fails for good (default false): its other task runs are
   * cancelled at once (`FailFastError`) and the flow run ends Failed with that failure.
   */
  failFast?: boolean;
}

export interface ParamsSchema {
  safeParse(value: unknown): { success: true; data: unknown } | { success: false; error: { message: string; issues?: unknown } };
}

export interface CompiledRunOptions {
  name: string;
  description: string | null;
  version: string | null;
  tags: string[];
  retries: number;
  retryDelayMs: RetryDelay;
  retryJitter: number;
  retryIf: RunOptions["retryIf"] | null;
  timeoutMs: number | null;
  onCompletion: Hook[];
  onFailure: Hook[];
  onRetry: Hook[];
  persistResult: boolean;
}

export interface CompiledTaskOptions extends CompiledRunOptions {
  cacheKey: "inputs" | CacheKeyFn | null;
  cacheExpiresMs: number | null;
  key: string | null;
  runner: Runner | null;
  waitFor: readonly unknown[];
  emitEvents: boolean;
  reads: readonly Asset[];
  writes: readonly Asset[];
  workPool: string | null;
  workQueue: string | null;
}

export interface CompiledFlowOptions extends CompiledRunOptions {
  maxConcurrency: number | null;
  logPrints: boolean;
  params: ParamsSchema | null;
  taskRunner: Runner;
  experiment: string | null;
  failFast: boolean;
}

/** Defaults, in one place. */
export const DEFAULT_RUN_OPTIONS = {
  retries: 0,
  retryDelayMs: 0,
  retryJitter: 0,
  persistResult: true,
} as const;

const COMMON_KEYS = [
  "name", "description", "version", "tags", "retries", "retryDelayMs", "retryJitter", "retryIf", "timeoutMs",
  "onCompletion", "onFailure", "onRetry", "persistResult",
] as const;
const TASK_KEYS = new Set<string>([...COMMON_KEYS, "cacheKey", "cacheExpiresMs", "key", "runner", "waitFor", "emitEvents", "reads", "writes", "workPool", "workQueue"]);
const FLOW_KEYS = new Set<string>([...COMMON_KEYS, "maxConcurrency", "logPrints", "params", "taskRunner", "experiment", "failFast"]);

function fail(kind: string, field: string, problem: string): never {
  throw new TypeError(`${kind} option "${field}" ${problem}`);
}

function checkKnownKeys(kind: string, options: object, known: Set<string>): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) fail(kind, key, `is not a known option; known options: ${[...known].join(", ")}`);
  }
}

function optionalString(kind: string, options: Record<string, unknown>, field: string): string | null {
  const value = options[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") fail(kind, field, `must be a string, got ${typeof value}`);
  return value;
}

function experimentName(options: Record<string, unknown>): string | null {
  const name = optionalString("flow", options, "experiment");
  if (name !== null && (name.trim() === "" || name.length > 200)) fail("flow", "experiment", "must be a non-empty name of at most 200 characters");
  return name;
}

function nonNegativeInt(kind: string, field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
    fail(kind, field, `must be an integer >= 0, got ${String(value)}`);
  return value;
}

function positiveNumber(kind: string, field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) fail(kind, field, `must be a number > 0, got ${String(value)}`);
  return value;
}

function hooks(kind: string, field: string, value: unknown): Hook[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  list.forEach((hook, i) => {
    if (typeof hook !== "function") fail(kind, field, `must be a function or an array of functions (item ${i} is ${typeof hook})`);
  });
  return list as Hook[];
}

function retryDelay(kind: string, value: unknown): RetryDelay {
  if (value === undefined) return DEFAULT_RUN_OPTIONS.retryDelayMs;
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) fail(kind, "retryDelayMs", `must be >= 0, got ${value}`);
    return value;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) fail(kind, "retryDelayMs", `item ${i} must be a number >= 0, got ${String(v)}`);
    });
    return [...value] as number[];
  }
  if (value && typeof value === "object" && (value as { kind?: unknown }).kind === "exponential") return value as RetryDelay;
  fail(kind, "retryDelayMs", "must be a number, an array of numbers or exponentialBackoff({ baseMs, factor, maxMs })");
}

function compileCommon(kind: string, fn: unknown, input: Record<string, unknown>): CompiledRunOptions {
  const name = optionalString(kind, input, "name") ?? (typeof fn === "function" ? fn.name : "");
  if (!name) fail(kind, "name", "is required when the function has no name (pass a named function or { name })");
  const tags = input.tags ?? [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string")) fail(kind, "tags", "must be an array of strings");
  const retryJitter = input.retryJitter ?? DEFAULT_RUN_OPTIONS.retryJitter;
  if (typeof retryJitter !== "number" || !(retryJitter >= 0 && retryJitter <= 1)) fail(kind, "retryJitter", `must be a number between 0 and 1, got ${String(retryJitter)}`);
  if (input.retryIf !== undefined && typeof input.retryIf !== "function") fail(kind, "retryIf", "must be a function (error, attempt) => boolean");
  if (input.persistResult !== undefined && typeof input.persistResult !== "boolean") fail(kind, "persistResult", "must be a boolean");
  return {
    name,
    description: optionalString(kind, input, "description"),
    version: optionalString(kind, input, "version"),
    tags: [...(tags as string[])],
    retries: input.retries === undefined ? DEFAULT_RUN_OPTIONS.retries : nonNegativeInt(kind, "retries", input.retries),
    retryDelayMs: retryDelay(kind, input.retryDelayMs),
    retryJitter,
    retryIf: (input.retryIf as RunOptions["retryIf"]) ?? null,
    timeoutMs: input.timeoutMs === undefined || input.timeoutMs === null ? null : positiveNumber(kind, "timeoutMs", input.timeoutMs),
    onCompletion: hooks(kind, "onCompletion", input.onCompletion),
    onFailure: hooks(kind, "onFailure", input.onFailure),
    onRetry: hooks(kind, "onRetry", input.onRetry),
    persistResult: (input.persistResult as boolean | undefined) ?? DEFAULT_RUN_OPTIONS.persistResult,
  };
}

function checkFunction(kind: string, fn: unknown): void {
  if (typeof fn !== "function") throw new TypeError(`${kind}() expects a function as its first argument, got ${fn === null ? "null" : typeof fn}`);
}

function checkRunner(kind: string, field: string, value: unknown): Runner | null {
  if (value === undefined || value === null) return null;
  if (value !== "async" && value !== "threads") fail(kind, field, `must be "async" or "threads", got ${JSON.stringify(value)}`);
  return value;
}

export function compileTaskOptions(fn: unknown, options: TaskOptions = {}): CompiledTaskOptions {
  checkFunction("task", fn);
  if (typeof options !== "object" || options === null) throw new TypeError("task options must be an object");
  checkKnownKeys("task", options, TASK_KEYS);
  const input = options as Record<string, unknown>;
  const cacheKey = input.cacheKey;
  if (cacheKey !== undefined && cacheKey !== "inputs" && typeof cacheKey !== "function")
    fail("task", "cacheKey", `must be "inputs" or a function returning a key, got ${JSON.stringify(cacheKey)}`);
  if (input.emitEvents !== undefined && typeof input.emitEvents !== "boolean") fail("task", "emitEvents", "must be a boolean");
  return {
    ...compileCommon("task", fn, input),
    cacheKey: (cacheKey as CompiledTaskOptions["cacheKey"]) ?? null,
    cacheExpiresMs: input.cacheExpiresMs === undefined ? null : positiveNumber("task", "cacheExpiresMs", input.cacheExpiresMs),
    key: optionalString("task", input, "key"),
    runner: checkRunner("task", "runner", input.runner),
    waitFor: waitForList(input.waitFor),
    emitEvents: (input.emitEvents as boolean | undefined) ?? false,
    reads: assetList(input.reads, "reads"),
    writes: assetList(input.writes, "writes"),
    ...workPlacement(input),
  };
}

/** `workPool` and `workQueue`: names (non-empty), a queue only with a pool. */
function workPlacement(input: Record<string, unknown>): { workPool: string | null; workQueue: string | null } {
  const workPool = optionalString("task", input, "workPool");
  const workQueue = optionalString("task", input, "workQueue");
  if (workPool !== null && workPool.trim() === "") fail("task", "workPool", "must be the name of a work pool, got an empty string");
  if (workQueue !== null && workQueue.trim() === "") fail("task", "workQueue", "must be the name of a queue of workPool, got an empty string");
  if (workQueue !== null && workPool === null) fail("task", "workQueue", "needs workPool: a queue belongs to a work pool");
  if (workPool !== null && input.runner === "threads") fail("task", "runner", `"threads" cannot be combined with workPool: the task runs on a worker of pool "${workPool}"`);
  return { workPool, workQueue };
}

export function compileFlowOptions(fn: unknown, options: FlowOptions = {}): CompiledFlowOptions {
  checkFunction("flow", fn);
  if (typeof options !== "object" || options === null) throw new TypeError("flow options must be an object");
  checkKnownKeys("flow", options, FLOW_KEYS);
  const input = options as Record<string, unknown>;
  const params = input.params;
  if (params !== undefined && (typeof params !== "object" || params === null || typeof (params as ParamsSchema).safeParse !== "function"))
    fail("flow", "params", "must be a zod schema (an object with safeParse)");
  if (input.logPrints !== undefined && typeof input.logPrints !== "boolean") fail("flow", "logPrints", "must be a boolean");
  if (input.failFast !== undefined && typeof input.failFast !== "boolean") fail("flow", "failFast", `must be a boolean, got ${typeof input.failFast}`);
  return {
    ...compileCommon("flow", fn, input),
    maxConcurrency: input.maxConcurrency === undefined ? null : positiveInt("flow", "maxConcurrency", input.maxConcurrency),
    logPrints: (input.logPrints as boolean | undefined) ?? false,
    params: (params as ParamsSchema | undefined) ?? null,
    taskRunner: checkRunner("flow", "taskRunner", input.taskRunner) ?? "async",
    experiment: experimentName(input),
    failFast: (input.failFast as boolean | undefined) ?? false,
  };
}

function waitForList(value: unknown): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail("task", "waitFor", "must be an array of task futures");
  return value;
}

function positiveInt(kind: string, field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) fail(kind, field, `must be an integer >= 1, got ${String(value)}`);
  return value;
}
