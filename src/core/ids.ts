/**
 * Run and result ids: UUIDv7, time-ordered. New rows land at the right edge of every index
 * instead of at random pages (fewer pages written per commit), and ids sort by creation time.
 * What must get the same id whenever it is made again (an artifact published again by a later
 * attempt of its run) gets a UUIDv5 of a name that says where it was made.
 */
import { v5, v7, validate } from "uuid";

export function newId(): string {
  return v7();
}

/** The namespace of Baton's name-based ids (fixed: changing it changes every such id). */
const NAME_NAMESPACE = "b879c06a-2e6e-40de-8b38-384b90a853c3";

/** The same id for the same name, in every process: a UUIDv5. */
export function idForName(name: string): string {
  return v5(name, NAME_NAMESPACE);
}

/** Whether `value` is an id as Baton makes them (a UUID). */
export function isId(value: unknown): value is string {
  return typeof value === "string" && validate(value);
}
