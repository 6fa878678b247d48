/**
 * Lineage for values passed on directly between tasks (`const rows = await load(); fit(rows)`):
 * which task run produced a value a task receives, so the dependency is recorded as a future's
 * would be.
 *
 * Objects are traced by identity, as Prefect does: a returned object, and the objects inside a
 * returned plain object or array down to `DEPTH` levels (`split.train` of a returned `split`).
 * Primitives have no identity, so only distinctive ones are traced, by value: a string of at
 * least `MIN_STRING` characters, a number that is not a small integer (Prefect skips small
 * ints and booleans for the same reason: they are shared). A primitive two task runs returned
 * is ambiguous and traced to neither, and at most `MAX_PRIMITIVES` are remembered per flow run.
 * Arguments are searched the same way: each argument, and inside plain objects and arrays.
 */

/** How deep inside a returned (or passed) plain object or array values are traced. */
const DEPTH = 2;
/** Values looked at per result or per call, at most: a 100,000-row result costs no more. */
const BUDGET = 1000;
const MIN_STRING = 8;
const SMALL_INT = 1000;
const MAX_PRIMITIVES = 100_000;

type Primitive = string | number | bigint;

function distinctive(value: unknown): value is Primitive {
  if (typeof value === "string") return value.length >= MIN_STRING;
  if (typeof value === "number") return Number.isFinite(value) && !(Number.isInteger(value) && Math.abs(value) <= SMALL_INT);
  return typeof value === "bigint";
}

/** The values directly inside a plain object or an array; none for anything else (a Map, a class instance). */
function childrenOf(value: object): unknown[] {
  if (Array.isArray(value)) return value.slice(0, BUDGET);
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null ? Object.values(value) : [];
}

export class ValueLineage {
  private readonly objects = new WeakMap<object, string>();
  /** A primitive's producer; null once two task runs returned it. */
  private readonly primitives = new Map<Primitive, string | null>();

  /** Values still to look at in the current `note` or `producersOf` (each is synchronous: one at a time). */
  private budget = 0;
  private found: Set<string> | null = null;

  /** Remembers that task run `taskRunId` produced `value` (and what it holds). */
  note(value: unknown, taskRunId: string): void {
    this.budget = BUDGET;
    this.noteValue(value, taskRunId, 0);
  }

  // Methods, not closures made per call: a fan-out notes a result and looks up the arguments of
  // every one of its task runs.
  private noteValue(v: unknown, taskRunId: string, depth: number): void {
    if (this.budget-- <= 0) return;
    if (v !== null && typeof v === "object") {
      // A value inside a result may come from an earlier task (passed through): it keeps its producer.
      if (depth > 0 && this.objects.has(v)) return;
      this.objects.set(v, taskRunId);
      if (depth < DEPTH) for (const child of childrenOf(v)) this.noteValue(child, taskRunId, depth + 1);
    } else if (distinctive(v)) this.notePrimitive(v, taskRunId);
  }

  private notePrimitive(value: Primitive, taskRunId: string): void {
    const known = this.primitives.get(value);
    if (known === undefined) {
      if (this.primitives.size < MAX_PRIMITIVES) this.primitives.set(value, taskRunId);
    } else if (known !== taskRunId) this.primitives.set(value, null);
  }

  /** The task runs that produced values among `args`. */
  producersOf(args: readonly unknown[]): string[] {
    this.budget = BUDGET;
    this.found = null;
    for (const arg of args) this.lookUp(arg, 0);
    const found = this.found;
    this.found = null;
    return found ? [...found] : [];
  }

  private lookUp(v: unknown, depth: number): void {
    if (this.budget-- <= 0) return;
    let producer: string | null | undefined;
    if (v !== null && typeof v === "object") {
      producer = this.objects.get(v);
      if (!producer && depth < DEPTH) for (const child of childrenOf(v)) this.lookUp(child, depth + 1);
    } else if (distinctive(v)) producer = this.primitives.get(v);
    if (producer) (this.found ??= new Set()).add(producer);
  }
}
