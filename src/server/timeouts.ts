/**
 * How long a client may take, so that slow or stalled ones (a slow-loris attack: headers sent a
 * byte at a time, a connection opened and left silent) cannot hold the server's connections
 * while others wait. Node's own defaults are too lenient for this — Fastify turns its request
 * timeout off, and Node checks the header timeout only every 30 s — so each is set here.
 *
 * The idle timeout must stay above the longest a served answer is silent: a long-polled claim
 * waits up to 25 s (ClaimSchema's waitMs) and the event streams send a ping every 15 s.
 */
import type { FastifyServerOptions } from "fastify";
import type { Server } from "node:http";

export interface ServerTimeouts {
  /** Until a request's headers have all arrived (ms). */
  headersMs: number;
  /** Until the whole request, body included, has arrived (ms): a 16 MiB body over a slow link. */
  requestMs: number;
  /** A connection with no bytes either way is closed after this (ms). */
  idleMs: number;
  /** How often Node looks for requests past their header or request time (ms). */
  checkEveryMs: number;
}

export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = { headersMs: 20_000, requestMs: 120_000, idleMs: 60_000, checkEveryMs: 2_000 };

/** The Fastify options that set them (HTTP/1: the server is built with them). */
export function timeoutOptions(timeouts: ServerTimeouts): Pick<FastifyServerOptions, "connectionTimeout" | "requestTimeout" | "keepAliveTimeout"> & { http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } } {
  return {
    connectionTimeout: timeouts.idleMs,
    requestTimeout: timeouts.requestMs,
    // Under the idle timeout: an idle keep-alive connection ends cleanly before it would be cut.
    keepAliveTimeout: Math.min(72_000, Math.max(1_000, timeouts.idleMs - 1_000)),
    http: { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: timeouts.checkEveryMs },
  };
}

/** For a server built without them (HTTPS takes its own options): the header timeout, set on the instance. */
export function applyTimeouts(server: Server, timeouts: ServerTimeouts): void {
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
}
