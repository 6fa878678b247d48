/**
 * The resume token of the event stream: each SSE message's `id:`, which a client sends back as
 * Last-Event-ID to resume. It holds the reader's whole position — the last seq read and, on
 * PostgreSQL, the seqs still awaited below it (see store/event-log-tail.ts) — so a client
 * resumes with no gap and no repeat against any server process, a restarted one included: the
 * stream reads the table, nothing is kept in memory. Opaque to clients: `e1.` and base64url
 * JSON `[seq, [[from, to, xmax, seenAt], ...]]`.
 */
import type { EventTailPosition } from "../store/types.ts";

const PREFIX = "e1.";

export function formatResumeToken(position: EventTailPosition): string {
  const gaps = (position.pending ?? []).map((g) => [g.from, g.to, g.xmax, g.seenAt]);
  return PREFIX + Buffer.from(JSON.stringify(gaps.length ? [position.seq, gaps] : [position.seq])).toString("base64url");
}

const seqOk = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** The position a token holds, or null when it is not one this server makes. */
export function parseResumeToken(token: string): EventTailPosition | null {
  if (!token.startsWith(PREFIX) || token.length > 8192) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token.slice(PREFIX.length), "base64url").toString());
  } catch {
    return null;
  }
  if (!Array.isArray(value) || !seqOk(value[0]) || value.length > 2) return null;
  const gaps = (value[1] ?? []) as unknown;
  if (!Array.isArray(gaps) || gaps.length > 1000) return null;
  const pending: NonNullable<EventTailPosition["pending"]> = [];
  for (const g of gaps) {
    if (!Array.isArray(g) || g.length !== 4) return null;
    const [from, to, xmax, seenAt] = g as unknown[];
    if (!seqOk(from) || !seqOk(to) || from > to || to >= value[0] || typeof xmax !== "string" || !/^\d{1,20}$/.test(xmax) || !seqOk(seenAt)) return null;
    pending.push({ from, to, xmax, seenAt });
  }
  return pending.length ? { seq: value[0], pending } : { seq: value[0] };
}
