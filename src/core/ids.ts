/**
 * Run and result ids: UUIDv7, time-ordered. New rows land at the right edge of every index
 * instead of at random pages (fewer pages written per commit), and ids sort by creation time.
 */
import { v7 } from "uuid";

export function newId(): string {
  return v7();
}
