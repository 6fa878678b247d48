/** Flows, health, the OpenAPI document and the live event stream. */
import type { FastifyInstance } from "fastify";
import type { Store } from "../../store/types.ts";
import { notFound } from "../errors.ts";
import type { BatonEvent, EventHub } from "../events.ts";
import { errorResponses, uuid } from "../schemas.ts";

export function flowRoutes(app: FastifyInstance, store: Store): void {
  app.get(
    "/api/flows",
    { schema: { tags: ["flows"], summary: "List flows", response: { 200: { type: "object", properties: { items: { type: "array", items: { $ref: "Flow#" } } } } } } },
    async () => ({ items: await store.listFlows() }),
  );

  app.get<{ Params: { id: string } }>(
    "/api/flows/:id",
    {
      schema: {
        tags: ["flows"],
        summary: "Get a flow by id or name",
        params: { type: "object", properties: { id: { type: "string", minLength: 1, maxLength: 200 } }, required: ["id"] },
        response: { 200: { $ref: "Flow#" }, ...errorResponses(404) },
      },
    },
    async (request) => {
      const flow = await store.getFlow(request.params.id);
      if (!flow) throw notFound("flow", request.params.id);
      return flow;
    },
  );

  app.post<{ Body: { name: string; description?: string | null; tags?: string[] } }>(
    "/api/flows",
    {
      schema: {
        tags: ["flows"],
        summary: "Register a flow (or update its description and tags)",
        body: {
          type: "object",
          properties: {
            name: { type: "string", minLength: 1, maxLength: 200 },
            description: { anyOf: [{ type: "string", maxLength: 10_000 }, { type: "null" }] },
            tags: { type: "array", items: { type: "string", maxLength: 100 }, maxItems: 50 },
          },
          required: ["name"],
          additionalProperties: false,
        },
        response: { 200: { $ref: "Flow#" }, ...errorResponses(400) },
      },
    },
    async (request) => store.upsertFlow(request.body),
  );
}

export function healthRoutes(app: FastifyInstance, store: Store, version: string): void {
  app.get(
    "/api/health",
    {
      schema: {
        tags: ["server"],
        summary: "Liveness, and the database in use with its latency",
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string" },
              version: { type: "string" },
              database: { type: "object", properties: { dialect: { type: "string" }, location: { type: "string" }, latencyMs: { type: "number" } } },
            },
          },
          503: { $ref: "ErrorResponse#" },
        },
      },
    },
    async (_request, reply) => {
      const started = performance.now();
      try {
        await store.tailPosition();
      } catch (error) {
        return reply.status(503).send({ error: { code: "DATABASE_UNAVAILABLE", message: `the database at ${store.location} does not answer: ${(error as Error).message}`, details: null } });
      }
      return { status: "ok", version, database: { dialect: store.dialect, location: store.location, latencyMs: Number((performance.now() - started).toFixed(2)) } };
    },
  );
}

export function eventRoutes(app: FastifyInstance, hub: EventHub): void {
  app.get<{ Querystring: { flowRunId?: string } }>(
    "/api/events/stream",
    {
      schema: {
        tags: ["events"],
        summary: "Server-sent events: state changes (event: state) and logs (event: log), optionally of one flow run",
        querystring: { type: "object", properties: { flowRunId: uuid }, additionalProperties: false },
      },
    },
    async (request, reply) => {
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
      raw.write(": connected\n\n");
      const unsubscribe = hub.subscribe({
        flowRunId: request.query.flowRunId ?? null,
        send: (event: BatonEvent) => raw.write(`event: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`),
      });
      const ping = setInterval(() => raw.write(": ping\n\n"), 15_000);
      request.raw.on("close", () => {
        clearInterval(ping);
        unsubscribe();
      });
    },
  );
}
