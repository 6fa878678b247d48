/**
 * Secret values this process has handled (read through `getSecret`, or put into its
 * environment from `{{ secrets.name }}` job variables), replaced by `***` in what a run stores
 * and prints: log lines, error messages and stacks. Process-wide on `globalThis` (like
 * engine/process-wide.ts): a flow file that loads another copy of Baton registers into the
 * same set the engine redacts with. Values shorter than 4 characters are not registered: they
 * would turn ordinary words into `***` and hide little.
 */

const KEY = Symbol.for("baton.redacted-values");
const MIN_LENGTH = 4;
export const REDACTED = "***";

function registry(): Set<string> {
  const holder = globalThis as { [KEY]?: Set<string> };
  return (holder[KEY] ??= new Set<string>());
}

/** From now on `value` is redacted wherever this process stores or prints run output. */
export function registerRedacted(value: string): void {
  if (value.length >= MIN_LENGTH) registry().add(value);
}

/** `text` with every registered value replaced by `***` (longest first: one value may contain another). */
export function redact(text: string): string {
  const values = registry();
  if (values.size === 0 || typeof text !== "string") return text;
  let out = text;
  for (const value of [...values].sort((a, b) => b.length - a.length)) if (out.includes(value)) out = out.split(value).join(REDACTED);
  return out;
}

/** Forgets every value (tests). */
export function clearRedacted(): void {
  registry().clear();
}
