/**
 * `task(fn, options)`: a function whose calls inside a flow become task runs — recorded,
 * retried, cached, timed out and resumable. Outside a flow a task is a plain function call.
 *
 * @example
 * const load = task(async function load(path: string) { return readRows(path); }, { retries: 3 });
 * const rows = await load("data.csv");         // inside a flow: a task run
 * const futures = fit.map(unmapped(rows), [2, 4, 8]);
 */
import { compileTaskOptions, type CompiledTaskOptions, type TaskOptions } from "../core/options.ts";
import { BatonError } from "../core/errors.ts";
import { TaskFuture, Unmapped } from "../engine/futures.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import { registerTask } from "../engine/task-registry.ts";
import { submitTask, type TaskDefinition } from "../engine/task-runner.ts";
import { callerModuleUrl } from "./caller.ts";

/** An argument that may also be given as a future of that value, or hold futures inside arrays and plain objects. */
export type Futurable<T> =
  | T
  | TaskFuture<T>
  | (T extends readonly (infer U)[] ? readonly Futurable<U>[] : T extends Record<string, unknown> ? { [K in keyof T]: Futurable<T[K]> } : never);
type TaskArgs<A extends unknown[]> = { [K in keyof A]: Futurable<A[K]> };
type MapArgs<A extends unknown[]> = { [K in keyof A]: Iterable<Futurable<A[K]>> | Unmapped<Futurable<A[K]>> };

export interface Task<A extends unknown[], R> {
  /** Runs the task and waits for its result (inside a flow: as a task run). */
  (...args: TaskArgs<A>): Promise<Awaited<R>>;
  /** Starts a task run and returns its future at once. */
  submit(...args: TaskArgs<A>): TaskFuture<Awaited<R>>;
  /** One task run per element of equal-length iterables; `unmapped(x)` passes x whole. */
  map(...iterables: MapArgs<A>): TaskFuture<Awaited<R>>[];
  /** A copy of the task with options overridden. */
  with(options: TaskOptions): Task<A, R>;
  readonly taskName: string;
  readonly options: CompiledTaskOptions;
  readonly fn: (...args: A) => R;
}

const warnedOutsideFlow = new Set<string>();

export function task<A extends unknown[], R>(fn: (...args: A) => R, options: TaskOptions = {}): Task<A, R> {
  return makeTask(fn, options, callerModuleUrl(), {}, null);
}

/** `definedAs`: the name of the `task()` a `with` copy comes from (null for `task()` itself). */
function makeTask<A extends unknown[], R>(fn: (...args: A) => R, options: TaskOptions, moduleUrl: string | null, base: TaskOptions, definedAs: string | null): Task<A, R> {
  const merged = { ...base, ...options };
  const compiled = compileTaskOptions(fn, merged);
  const def: TaskDefinition = { fn: fn as TaskDefinition["fn"], options: compiled, source: fn.toString(), moduleUrl, definedAs: definedAs ?? compiled.name };
  checkWaitFor(compiled.waitFor);
  // Copies are not registered: the thread finds their function under the original's name.
  if (definedAs === null) registerTask(def);

  // One object for every call (a fan-out of a million calls need not allocate a million).
  const extras = { waitFor: compiled.waitFor };
  const submit = (args: unknown[]): TaskFuture<Awaited<R>> => {
    const ctx = currentEngineContext();
    if (!ctx) throw new BatonError(`task "${compiled.name}" was submitted outside a flow; submit() and map() need a running flow (a plain call works anywhere)`);
    return submitTask<Awaited<R>>(ctx.flow, def, args, extras);
  };

  const call = ((...args: unknown[]) => {
    const ctx = currentEngineContext();
    if (!ctx) {
      if (compiled.workPool !== null)
        return Promise.reject(new BatonError(`task "${compiled.name}" has workPool "${compiled.workPool}" and was called outside a flow: its runs are flow runs of that pool, started by a flow run; call it inside a flow`));
      if (!warnedOutsideFlow.has(compiled.name)) {
        warnedOutsideFlow.add(compiled.name);
        process.emitWarning(`task "${compiled.name}" was called outside a flow: it runs as a plain function call, without orchestration`, "BatonWarning");
      }
      return Promise.resolve().then(() => fn(...(args as A)));
    }
    return submit(args).promise;
  }) as Task<A, R>;

  return Object.assign(call, {
    submit: (...args: unknown[]) => submit(args),
    map: (...iterables: unknown[]) => mapCalls(compiled.name, iterables).map((args) => submit(args)),
    with: (overrides: TaskOptions) => makeTask(fn, overrides, moduleUrl, merged, def.definedAs),
    taskName: compiled.name,
    options: compiled,
    fn,
  }) as Task<A, R>;
}

/**
 * `waitFor` holds futures, or arrays of futures (as `map` returns): anything else — a promise
 * from calling a task without `submit`, a value — would be silently ignored.
 */
function checkWaitFor(waitFor: readonly unknown[]): void {
  waitFor.forEach((item, i) => {
    const items: unknown[] = Array.isArray(item) ? item : [item];
    const bad = items.find((f) => !(f instanceof TaskFuture));
    if (bad === undefined && items.every((f) => f instanceof TaskFuture)) return;
    const what = Array.isArray(item) ? `an array holding ${describeValue(bad)}` : describeValue(item);
    throw new TypeError(`task option "waitFor" must hold task futures (from submit() or map()); item ${i} is ${what}`);
  });
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object") return `a ${(value.constructor as { name?: string } | undefined)?.name || "object"}`;
  return `a ${typeof value}`;
}

/** Turns map arguments into the argument lists of each call. */
export function mapCalls(taskName: string, iterables: unknown[]): unknown[][] {
  const columns: (unknown[] | null)[] = iterables.map((arg) => {
    if (arg instanceof Unmapped) return null;
    if (arg instanceof TaskFuture)
      throw new TypeError(`task "${taskName}".map() got a future; await it first, or wrap it in unmapped() to pass it whole`);
    if (typeof arg === "string" || arg === null || arg === undefined || typeof (arg as Iterable<unknown>)[Symbol.iterator] !== "function") return null;
    return [...(arg as Iterable<unknown>)];
  });
  const lengths = new Set(columns.filter((c): c is unknown[] => c !== null).map((c) => c.length));
  if (lengths.size === 0) throw new TypeError(`task "${taskName}".map() needs at least one iterable argument to map over`);
  if (lengths.size > 1) throw new TypeError(`task "${taskName}".map() got iterables of different lengths (${[...lengths].join(", ")}); they must be equal`);
  const [length] = lengths as Set<number>;
  const calls: unknown[][] = [];
  for (let i = 0; i < length!; i++)
    calls.push(iterables.map((arg, j) => (columns[j] ? columns[j]![i] : arg instanceof Unmapped ? arg.value : arg)));
  return calls;
}
