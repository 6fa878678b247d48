/**
 * The options that `ls` commands share: `--limit` (a default everywhere, and a note when more
 * match), `--state` (names or types, any case: `failed`, `Late,crashed`) and `--tag`.
 */
import type { Command } from "commander";
import { BatonError } from "../core/errors.ts";
import { STATE_NAME_TYPE, STATE_NAMES, STATE_TYPES, type StateName } from "../core/states.ts";

/** `--limit N` between 1 and `max`; the error names the flag. */
export function parseLimit(raw: string, max: number): number {
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw new BatonError(`--limit must be an integer from 1 to ${max}, got "${raw}"`);
  return limit;
}

/**
 * `--state` as the state names it covers: each comma-separated word is a state name or a state
 * type, in any case (`failed` is the type FAILED: Failed and TimedOut; `late` the name Late).
 */
export function parseStateFilter(raw: string): StateName[] {
  const names = new Set<StateName>();
  for (const word of raw.split(",").map((w) => w.trim()).filter(Boolean)) {
    const type = STATE_TYPES.find((t) => t === word.toUpperCase());
    const name = STATE_NAMES.find((n) => n.toLowerCase() === word.toLowerCase());
    if (type) for (const n of STATE_NAMES) if (STATE_NAME_TYPE[n] === type) names.add(n);
    if (name) names.add(name);
    if (!type && !name) throw new BatonError(`--state: unknown state "${word}"; give state types (${STATE_TYPES.map((t) => t.toLowerCase()).join(", ")}) or names (${STATE_NAMES.join(", ")}), in any case`);
  }
  if (!names.size) throw new BatonError(`--state: give at least one state, e.g. --state failed`);
  return [...names];
}

/** `--tag a --tag b,c` as one list. */
export function tagList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((t) => t.trim()).filter(Boolean);
}

export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Adds `--limit` with its default and range to an `ls` command. */
export function limitOption(cmd: Command, fallback: number, max: number): Command {
  return cmd.option("--limit <n>", `how many to show (1 to ${max})`, String(fallback));
}

/**
 * Says, on stderr, that a listing was cut: "showing 20 of 4,009 task runs, use --limit". `total`
 * is null when only "more" is known (a page with a next cursor).
 */
export function noteTruncated(shown: number, total: number | null, what: string, max: number): void {
  const of = total === null ? `the first ${shown} ${what}; more match` : `${shown} of ${total.toLocaleString("en")} ${what}`;
  process.stderr.write(`Showing ${of}: use --limit (up to ${max}) or a filter to see others\n`);
}

/** The most rows a listing of named things (variables, limits, webhooks…) prints. */
export const MAX_LISTED = 10_000;

/** The first `--limit` of `every`, and `note(what)` saying on stderr when that left some out. */
export function limited<T>(every: readonly T[], rawLimit: string): { items: T[]; note(what: string): void } {
  const items = every.slice(0, parseLimit(rawLimit, MAX_LISTED));
  return { items, note: (what) => void (every.length > items.length && noteTruncated(items.length, every.length, what, MAX_LISTED)) };
}
