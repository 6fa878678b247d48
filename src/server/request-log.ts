/**
 * The server's request log: one line per request, readable (`POST /api/deployments 201 4 ms`),
 * at `info` only for calls that change something and for errors — reads that succeed (the
 * dashboard polls, workers long-poll) are logged at `debug`. Fastify's own two lines per
 * request ("incoming request", "request completed") are turned off where the server is built.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The level a request is logged at: error for a 5xx, info for a write or a 4xx, debug for a read that succeeded. */
export function requestLogLevel(method: string, status: number): "error" | "info" | "debug" {
  if (status >= 500) return "error";
  if (status >= 400 || !READS.has(method)) return "info";
  return "debug";
}

/** The URL as logged: without its query string's values, which may carry tokens. */
function loggedUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const keys = [...new URLSearchParams(url.slice(q + 1)).keys()];
  return `${url.slice(0, q)}?${keys.map((k) => `${k}=…`).join("&")}`;
}

export function installRequestLog(app: FastifyInstance): void {
  app.addHook("onResponse", (request: FastifyRequest, reply: FastifyReply, done) => {
    const level = requestLogLevel(request.method, reply.statusCode);
    const log = request.log as FastifyRequest["log"] & { isLevelEnabled?: (level: string) => boolean };
    if (log.isLevelEnabled?.(level) !== false) {
      const url = loggedUrl(request.url);
      const ms = Math.round(reply.elapsedTime);
      // Who asked, beside it (the audit table holds the full record of every write).
      log[level]({ method: request.method, url, status: reply.statusCode, ms, role: request.apiKeyRole, actor: request.principal?.name, ip: request.ip }, `${request.method} ${url} ${reply.statusCode} ${ms} ms`);
    }
    done();
  });
}
