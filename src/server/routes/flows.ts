/** Flows, health, the OpenAPI document and the live feed of states and logs (`/api/live/stream`). */
import type { FastifyInstance } from "fastify";
import type { RunStore, StateLogTail } from "../../store/types.ts";
import { notFound } from "../errors.ts";
import { formatResumeId, parseResumeId, type BatonEvent, type EventHub, type ResourceEvent } from "../events.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { FlowInputSchema, FlowListSchema, FlowParamsSchema, FlowSchema, type FlowInput, type FlowParams, type FlowRecord } from "../../schemas/flow.ts";
import { HealthSchema, type Leadership } from "../../schemas/health.ts";
import { LiveStreamQuerySchema, type LiveStreamQuery } from "../../schemas/live-event.ts";
import { eventStreamAnswer } from "../openapi.ts";
import { eventStreamHead } from "../security-headers.ts";

export function flowRoutes(app: FastifyInstance, store: RunStore): void {
  app.get(
    "/api/flows",
    { schema: { tags: ["flows"], summary: "List flows", response: { 200: jsonSchema(FlowListSchema) } } },
    async () => ({ items: await store.listFlows() }),
  );

  app.get<{ Params: FlowParams; Reply: FlowRecord }>(
    "/api/flows/:id",
    {
      schema: {
        tags: ["flows"],
        summary: "Get a flow by id or name",
        params: jsonSchema(FlowParamsSchema),
        response: { 200: jsonSchema(FlowSchema), ...errorResponses(404) },
      },
    },
    async (request) => {
      const flow = await store.getFlow(request.params.id);
      if (!flow) throw notFound("flow", request.params.id);
      return flow;
    },
  );

  app.post<{ Body: FlowInput; Reply: FlowRecord }>(
    "/api/flows",
    {
      schema: {
        tags: ["flows"],
        summary: "Register a flow (or update its description and tags): 201 when it is new, 200 when it was already registered",
        body: jsonSchema(FlowInputSchema),
        response: { 200: jsonSchema(FlowSchema), 201: jsonSchema(FlowSchema), ...errorResponses(400) },
      },
    },
    // Creates answer 201, updates 200 (as every create-or-update of the API).
    async (request, reply) => {
      const existed = await store.getFlow(request.body.name);
      return reply.status(existed ? 200 : 201).send(await store.upsertFlow(request.body));
    },
  );
}

export function healthRoutes(app: FastifyInstance, store: RunStore, version: string, leadership: () => Promise<Leadership>): void {
  app.get(
    "/api/health",
    {
      schema: {
        tags: ["server"],
        summary: "Liveness, the database in use with its latency, and which replica leads (runs the scheduler, sweeps, retention and automations)",
        response: { 200: jsonSchema(HealthSchema), ...errorResponses(503) },
      },
    },
    async (_request, reply) => {
      const started = performance.now();
      try {
        await store.existingFlowRunIds(["-"]);
      } catch (error) {
        return reply.status(503).send({ error: { code: "DATABASE_UNAVAILABLE", message: `the database at ${store.location} does not answer: ${(error as Error).message}`, details: null } });
      }
      const latencyMs = Number((performance.now() - started).toFixed(2));
      return { status: "ok", version, database: { dialect: store.dialect, location: store.location, latencyMs }, leadership: await leadership() };
    },
  );
}

export function liveStreamRoutes(app: FastifyInstance, store: StateLogTail, hub: EventHub): void {
  app.get<{ Querystring: LiveStreamQuery }>(
    "/api/live/stream",
    {
      schema: {
        tags: ["live"],
        summary:
          "The dashboard's live feed (for the durable event log, see GET /api/events/stream). Server-sent events: state changes (event: state) and logs (event: log), optionally of one flow run, and changes of deployments, work pools, workers and limits made through the API (event: resource, unfiltered streams only). Each event has an id; " +
          "a client reconnecting with Last-Event-ID gets what it missed (and possibly repeats: drop them by the event's kind and data.id).",
        querystring: jsonSchema(LiveStreamQuerySchema),
        response: { 200: eventStreamAnswer("The stream: `event: state` (a state record), `event: log` (a log line) and `event: resource` (a changed resource) messages, data in JSON"), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const flowRunId = request.query.flowRunId ?? null;
      const resume = parseResumeId(request.headers["last-event-id"] as string | undefined);
      reply.hijack();
      const raw = reply.raw;
      const write = (event: BatonEvent | ResourceEvent, id: string) => {
        if (!raw.destroyed) raw.write(`id: ${id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`);
      };
      // Subscribed before the headers go out: a client that has the headers misses nothing
      // committed from then on. While a replay is read, live events wait behind it.
      let held: [BatonEvent | ResourceEvent, string][] | null = resume ? [] : null;
      const unsubscribe = hub.subscribe({
        flowRunId,
        send: (event, id) => (held ? held.push([event, id]) : write(event, id)),
        close: () => raw.end(),
      });
      const ping = setInterval(() => raw.write(": ping\n\n"), 15_000);
      request.raw.on("close", () => {
        clearInterval(ping);
        unsubscribe();
      });
      raw.writeHead(200, eventStreamHead(request.raw));
      // An id-only message: a client that reconnects before any event arrived still resumes
      // from here (EventSource keeps the id; no event is dispatched).
      raw.write(`: connected\nid: ${hub.resumeId()}\n\n`);
      if (!resume || !held) return;
      const replayed = new Set<string>();
      try {
        let from = resume;
        for (let page = 0; page < REPLAY_PAGES && !raw.destroyed; page++) {
          const { states, logs } = await store.eventsAfter(from, { flowRunId: flowRunId ?? undefined, limit: 1000 });
          const id = formatResumeId(from);
          for (const s of states) replayed.add(`state:${s.id}`), write({ kind: "state", ...s }, id);
          for (const l of logs) replayed.add(`log:${l.id}`), write({ kind: "log", ...l }, id);
          from = { stateId: states.at(-1)?.id ?? from.stateId, logId: logs.at(-1)?.id ?? from.logId };
          if (states.length < 1000 && logs.length < 1000) break;
        }
      } catch (error) {
        request.log.warn({ err: error }, "event replay failed");
      }
      const waiting = held;
      held = null;
      for (const [event, id] of waiting) if (event.kind === "resource" || !replayed.has(`${event.kind}:${event.id}`)) write(event, id);
    },
  );
}

/** A reconnecting client is replayed at most this many pages of 1,000 events per table. */
const REPLAY_PAGES = 20;
