/**
 * The durable event log over HTTP: a filtered, paged listing (GET /api/events), a stream of new
 * events (GET /api/events/stream, server-sent events) and events from outside a run
 * (POST /api/events).
 *
 * The stream tails the table for each connection (store/event-log-tail.ts) rather than a memory
 * buffer: every message's `id:` is a resume token holding the reader's exact position (the last
 * seq and, on PostgreSQL, the seqs still awaited), so a client that reconnects with
 * Last-Event-ID — to this server or to a restarted one — gets every event committed meanwhile,
 * once. An id-only message moves the token on when events the filter leaves out were read.
 */
import type { FastifyInstance } from "fastify";
import type { ServerResponse } from "node:http";
import { eventPassesFilter, parseEventPatterns, type EventFilter } from "../../core/event-filter.ts";
import { completeEvent, userEventNameProblem } from "../../core/event-input.ts";
import { InvalidCursorError } from "../../core/errors.ts";
import type { EventLogMaintenance, EventQuery, RunStore } from "../../store/types.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import {
  EmittedSchema,
  EventFilterQuerySchema,
  EventInputsSchema,
  EventPageSchema,
  EventListQuerySchema,
  EventStreamHeadersSchema,
  type Emitted,
  type EventFilterQuery,
  type EventInputs,
  type EventListQuery,
} from "../../schemas/event.ts";
import { formatResumeToken, parseResumeToken } from "../event-resume-token.ts";
import { eventStreamAnswer } from "../openapi.ts";
import { eventStreamHead } from "../security-headers.ts";

/** The filter of a query string; an invalid pattern is a 400 naming the parameter. */
function filterOf(query: EventFilterQuery): EventFilter {
  let patterns: string[] | undefined;
  try {
    patterns = query.event === undefined ? undefined : parseEventPatterns(query.event, "querystring.event");
  } catch (error) {
    throw new ApiError(400, "VALIDATION_ERROR", (error as Error).message, { field: "querystring.event" });
  }
  if (query.since !== undefined && query.until !== undefined && query.until <= query.since)
    throw new ApiError(400, "VALIDATION_ERROR", `querystring.until (${query.until}) must be after querystring.since (${query.since})`, { field: "querystring.until" });
  return { event: patterns, resource: query.resource, related: query.related, involves: query.involves, since: query.since, until: query.until };
}

/** Rows a stream reads at a time (it reads again at once after a full read, else after the poll interval). */
const STREAM_READ = 500;
/** A comment this often keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

export function eventLogRoutes(app: FastifyInstance, store: RunStore, eventLog: EventLogMaintenance, pollMs: number): void {
  app.get<{ Querystring: EventListQuery }>(
    "/api/events",
    {
      schema: {
        tags: ["events"],
        summary: "Stored events matching filters, in log order (newest first by default), a page at a time",
        querystring: jsonSchema(EventListQuerySchema),
        response: { 200: jsonSchema(EventPageSchema), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { limit, cursor, order } = request.query;
      const query: EventQuery = { ...filterOf(request.query), limit, cursor, order };
      try {
        return await store.listEvents(query);
      } catch (error) {
        if (error instanceof InvalidCursorError) throw new ApiError(400, "VALIDATION_ERROR", `querystring.cursor: ${error.message}`, { field: "querystring.cursor" });
        throw error;
      }
    },
  );

  app.post<{ Body: EventInputs; Reply: Emitted }>(
    "/api/events",
    {
      schema: {
        tags: ["events"],
        summary: "Store events from outside a run (up to 1,000, in one transaction; an id already stored is skipped). Names under baton. are Baton's own",
        body: jsonSchema(EventInputsSchema),
        response: { 201: jsonSchema(EmittedSchema), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const now = Date.now();
      const events = request.body.map((input, i) => {
        const problem = userEventNameProblem(input.event, `body[${i}].event`);
        if (problem) throw new ApiError(400, "VALIDATION_ERROR", problem, { field: `body[${i}].event` });
        return completeEvent(input, now);
      });
      await store.emitEvents(events);
      return reply.status(201).send({ ids: events.map((e) => e.id) });
    },
  );

  /** Open streams, ended when the server closes (they would hold it open). */
  const open = new Set<ServerResponse>();
  app.addHook("preClose", async () => {
    for (const raw of open) raw.end();
  });

  app.get<{ Querystring: EventFilterQuery }>(
    "/api/events/stream",
    {
      schema: {
        tags: ["events"],
        summary:
          "Server-sent events (event: event, data: an EventRecord) of the events stored from now on, with the same filters as GET /api/events. " +
          "Each message's id is a resume token: reconnect with it as Last-Event-ID to get every event committed since, once (none missed, none repeated), from any server of the database.",
        querystring: jsonSchema(EventFilterQuerySchema),
        headers: jsonSchema(EventStreamHeadersSchema),
        response: { 200: eventStreamAnswer("The stream: `event: event` messages whose data is an EventRecord, and id-only messages that move the resume token on"), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const filter = filterOf(request.query);
      const header = request.headers["last-event-id"];
      const resume = typeof header === "string" && header.trim() !== "" ? parseResumeToken(header.trim()) : null;
      if (typeof header === "string" && header.trim() !== "" && !resume)
        throw new ApiError(400, "VALIDATION_ERROR", "the Last-Event-ID header is not a resume token of this stream: send back the id of a message it sent, or none to start from now", {
          field: "headers.last-event-id",
        });
      let position = resume ?? (await eventLog.eventTailStart());
      reply.hijack();
      const raw = reply.raw;
      open.add(raw);
      let closed = false;
      let wake: (() => void) | null = null;
      const stop = () => {
        closed = true;
        open.delete(raw);
        wake?.();
      };
      request.raw.on("close", stop);
      raw.on("close", stop);
      /** Writes; resolves once the client has taken it, so a slow reader is not buffered without end. */
      const write = (text: string) =>
        new Promise<void>((resolve) => {
          if (closed || raw.destroyed) return resolve();
          if (raw.write(text)) return resolve();
          raw.once("drain", resolve);
          raw.once("close", resolve);
        });
      raw.writeHead(200, eventStreamHead(request.raw));
      // An id-only message: a client that reconnects before any event arrived resumes from here.
      let sent = formatResumeToken(position);
      await write(`: connected\nid: ${sent}\n\n`);
      let lastWrite = Date.now();
      while (!closed) {
        let full = false;
        try {
          const batch = await eventLog.tailEventLog(position, STREAM_READ);
          for (const { event, after } of batch.events) {
            if (!eventPassesFilter(filter, event)) continue;
            sent = formatResumeToken(after);
            await write(`id: ${sent}\nevent: event\ndata: ${JSON.stringify(event)}\n\n`);
            lastWrite = Date.now();
          }
          position = batch.position;
          full = batch.events.length >= STREAM_READ;
          const token = formatResumeToken(position);
          if (token !== sent) {
            sent = token;
            await write(`id: ${sent}\n\n`);
            lastWrite = Date.now();
          }
        } catch (error) {
          // The database is briefly unavailable: the position is kept, the read tried again.
          request.log.warn({ err: error }, "event stream read failed");
        }
        if (Date.now() - lastWrite >= HEARTBEAT_MS) {
          await write(": ping\n\n");
          lastWrite = Date.now();
        }
        if (full || closed) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
      if (!raw.destroyed) raw.end();
    },
  );
}
