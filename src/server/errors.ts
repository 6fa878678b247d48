/**
 * Every error leaves the API as `{ "error": { "code", "message", "details" } }` with a 4xx for
 * anything the caller can fix, naming the field and the problem. Only a bug is a 500.
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { BatonError, CommitOutcomeUnknownError, DatabaseUnreachableError, InvalidCursorError, InvalidTransitionError, RunNotFoundError, SerializationError } from "../core/errors.ts";
import { AssetVersionConflictError, AssetVersionNotFoundError } from "../core/assets.ts";
import { classifyDatabaseError, duplicateMessage } from "../store/db-errors.ts";
import { excerpt } from "../core/excerpt.ts";
import { describeIssues, type AjvIssue } from "../core/schema-issues.ts";
import { ServiceError } from "../services/errors.ts";

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function notFound(what: string, id: string): ApiError {
  return new ApiError(404, "NOT_FOUND", `${what} ${id} was not found`);
}

/**
 * The longest message an error answers with. Values quoted in messages are cut where they are
 * quoted (EXCERPT_CHARS); this bounds the rest — a message listing many issues, or one from a
 * library or the database that quotes what it was given.
 */
const MAX_MESSAGE_CHARS = 2000;

/** "body.state.name must be one of Scheduled, Late, …" from Fastify's validation error. */
function validationMessage(error: FastifyError): { message: string; details: unknown } {
  const { message, details } = describeIssues((error.validation ?? []) as AjvIssue[], error.validationContext ?? "request");
  return { message: message || error.message, details };
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: unknown): FastifyReply {
  return reply.status(status).send({ error: { code, message: excerpt(message, MAX_MESSAGE_CHARS), details: details ?? null } });
}

/** How the API answers a use case's refusal (services/errors.ts). */
const SERVICE_REFUSAL_STATUS: Record<ServiceError["reason"], number> = { "not-found": 404, invalid: 400, conflict: 409 };

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof ApiError) return sendError(reply, error.statusCode, error.code, error.message, error.details);
  if (error.validation) {
    const { message, details } = validationMessage(error);
    return sendError(reply, 400, "VALIDATION_ERROR", message, details);
  }
  if (error instanceof RunNotFoundError || error instanceof AssetVersionNotFoundError) return sendError(reply, 404, "NOT_FOUND", error.message);
  if (error instanceof AssetVersionConflictError) return sendError(reply, 409, "CONFLICT", error.message);
  if (error instanceof ServiceError) return sendError(reply, SERVICE_REFUSAL_STATUS[error.reason], error.code, error.message, error.details);
  if (error instanceof InvalidTransitionError)
    return sendError(reply, 409, "INVALID_TRANSITION", error.message, {
      runId: error.runId,
      from: error.from,
      to: error.to,
      rule: error.rule,
      decision: error.decision,
      delayMs: error.delayMs,
      run: error.current,
    });
  if (error instanceof InvalidCursorError || error instanceof SerializationError) return sendError(reply, 400, "BAD_REQUEST", error.message);
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return sendError(reply, 413, "BODY_TOO_LARGE", `request body is larger than the server's limit of ${request.server.initialConfig.bodyLimit} bytes`);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return sendError(reply, 415, "UNSUPPORTED_MEDIA_TYPE", `send JSON with content-type application/json (got ${excerpt(request.headers["content-type"] ?? "none")})`);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return sendError(reply, 400, "BAD_REQUEST", "the JSON body is empty");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return sendError(reply, 400, "MALFORMED_JSON", `the body is not valid JSON: ${error.message}`);
  }
  if (error instanceof SyntaxError) return sendError(reply, 400, "MALFORMED_JSON", `the body is not valid JSON: ${error.message}`);
  if (typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500)
    return sendError(reply, error.statusCode, error.code ?? "BAD_REQUEST", error.message);
  // The store rode out the outage as long as it may: the client may try again later.
  if (error instanceof DatabaseUnreachableError || error instanceof CommitOutcomeUnknownError) {
    request.log.warn({ err: error }, "database unavailable");
    reply.header("retry-after", "1");
    return sendError(reply, 503, "DATABASE_UNAVAILABLE", error.message);
  }
  if (error instanceof BatonError) return sendError(reply, 400, "BAD_REQUEST", error.message);
  const database = classifyDatabaseError(error);
  if (database) {
    switch (database.kind) {
      case "duplicate":
        return sendError(reply, 409, "CONFLICT", duplicateMessage(database) ?? `a record with the same key already exists: ${database.detail}`, { constraint: database.constraint });
      case "missing-reference":
        return sendError(reply, 409, "MISSING_REFERENCE", `the request refers to a record that does not exist: ${database.detail}`, { constraint: database.constraint });
      case "invalid-value":
        return sendError(reply, 400, "INVALID_VALUE", `the database cannot store a value of this request: ${excerpt(database.detail)}`);
      case "unavailable":
        request.log.warn({ err: error }, "database unavailable");
        reply.header("retry-after", "1");
        return sendError(reply, 503, "DATABASE_UNAVAILABLE", `the database is unavailable or busy; retry shortly (${database.detail})`);
    }
  }
  request.log.error({ err: error }, "unhandled error");
  return sendError(reply, 500, "INTERNAL", "internal server error; the server log has the details");
}

/**
 * Answers what Node's HTTP parser refuses before Fastify sees a request — malformed HTTP, a
 * URL or headers over 16 KiB (431), a client too slow to send its request (408) — with the
 * API's error body, then closes the connection (its state is unknown).
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "HEADERS_TOO_LARGE", "the request line and headers are larger than 16 KiB: send long filters in fewer, shorter parameters"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "REQUEST_TIMEOUT", "the request was not received in time"]
        : [400, "MALFORMED_REQUEST", `the request is not valid HTTP (${error.code ?? error.message})`];
  const body = JSON.stringify({ error: { code, message, details: null } });
  if (socket.writable)
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy(error);
}
