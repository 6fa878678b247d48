/**
 * The engine state there must be one of per process, however many copies of Baton it loads.
 *
 * Node makes one module instance per URL. A flow file that imports Baton from dist/ while the
 * CLI runs from src/ (a linked checkout), or two installed versions of Baton, give two
 * instances of every engine module; were the run context a module variable, each copy would
 * have its own, and a task of one copy called in a flow run of the other would find no run and
 * silently run as a plain function call. So the state the copies must agree on lives on
 * `globalThis`, under `Symbol.for("baton.<name>")`, made by whichever copy loads first:
 *
 * - `run-context` (engine/run-context.ts): the AsyncLocalStorage of the current flow run and task
 *   run. A task of copy B finds copy A's flow run there and runs as one of its task runs, through
 *   copy A's FlowRunState and Runtime.
 * - `runtime` (sdk/runtime.ts): the store and settings `configure()` chose. A child flow or a
 *   concurrency limit of copy B uses its parent's database, not a default one, and not a second
 *   connection to it (two SQLite connections in one thread can wait on each other's write lock
 *   with the event loop blocked); `shutdown()` from either copy drains and closes the one store.
 *   Code that gets the runtime must not ask `instanceof` of what it holds (its store was maybe
 *   made by another copy's class): serve() asks `runtime.databaseUrl` whether it is a database.
 * - `flow-runs` (engine/flow-runner.ts): the flow runs executing in this process, so that a
 *   worker's SIGTERM cancels them whichever copy started them.
 * - `task-registry` (engine/task-registry.ts): tasks by module and name, which a worker thread
 *   looks up whichever copy defined them.
 * - `thread-values` (engine/thread-values.ts): in a worker thread, the AsyncLocalStorage of the
 *   running thread task's port, on which `logParams`/`logMetric` of whichever copy send values.
 * - `print-capture` (engine/print-capture.ts): whether the console is wrapped already; a wrapper
 *   per copy would store each line printed in a `logPrints` run once per copy.
 *
 * Not shared: classes (a TaskFuture, Unmapped or error made by one copy is not `instanceof` the
 * other's classes, so a future of copy A passed to a task of copy B is not seen as a
 * dependency), and per-copy caches and warnings that cost at most a repeated warning. The
 * flow-file loader hooks (flow-module-hooks.mjs) still bind a flow file's `import "baton"` to
 * the running Baton, which avoids those cases for flows that `baton run` and workers load.
 *
 * The copies share live objects — EngineContext with the FlowRunState and Runtime it reaches,
 * ConfigureOptions, TaskDefinitions — and each copy's code uses the other's. SHARED_SHAPE names
 * the shape of all of those this copy's code expects; a copy that finds another shape (or
 * something else at a key) fails to load with one error naming both copies, rather than
 * misusing them.
 */
import { BatonError } from "../core/errors.ts";

/**
 * Bump when EngineContext, FlowRunState, Runtime, TaskDefinition, ConfigureOptions or a slot's
 * value change in a way the previous shape's code would misuse (a member renamed, removed or
 * given another meaning): copies of the two shapes then refuse to share a process.
 */
export const SHARED_SHAPE = 1;

interface Slot {
  shape: number;
  value: unknown;
  /** The URL of this module in the copy that made the slot, to tell the user which copy it is. */
  createdBy: string;
}

/**
 * The process's one `name` value: made with `create()` if no copy made it yet. Throws a
 * `BatonError` when another copy made it in another shape, or `fits` rejects what is there.
 */
export function processWide<T>(name: string, create: () => T, fits: (value: unknown) => value is T): T {
  const key = Symbol.for(`baton.${name}`);
  const globals = globalThis as unknown as Record<symbol, unknown>;
  const found = globals[key];
  if (found === undefined) {
    const value = create();
    const slot: Slot = { shape: SHARED_SHAPE, value, createdBy: import.meta.url };
    globals[key] = slot;
    return value;
  }
  const where = `globalThis[Symbol.for("baton.${name}")]`;
  if (!isSlot(found))
    throw new BatonError(
      `${where} holds ${kindOf(found)} that is not Baton's shared state: some other code uses that key, so this copy of Baton (${import.meta.url}) cannot keep its runs there`,
    );
  if (found.shape === SHARED_SHAPE && fits(found.value)) return found.value;
  throw new BatonError(
    `two incompatible copies of Baton are loaded in this process: ${import.meta.url} expects its shared state in shape ${SHARED_SHAPE}, but ${found.createdBy} made ${where} in shape ${found.shape}${found.shape === SHARED_SHAPE ? " holding something else" : ""}; tasks of one would not run in flow runs of the other, so make every import of "baton" resolve to one installation (npm ls baton)`,
  );
}

function isSlot(value: unknown): value is Slot {
  if (typeof value !== "object" || value === null) return false;
  const slot = value as Partial<Slot>;
  return typeof slot.shape === "number" && typeof slot.createdBy === "string" && "value" in slot;
}

function kindOf(value: unknown): string {
  return value === null ? "null" : typeof value === "object" ? "an object" : `a ${typeof value}`;
}
