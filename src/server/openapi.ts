/**
 * The OpenAPI 3.1 document at /api/openapi.json, made by @fastify/swagger from the routes' JSON
 * Schemas (themselves from the zod declarations of src/schemas). The routes declare what they
 * take and answer; what every operation has in the same way is completed here, in one place, so
 * a route added later gets it too:
 *
 *   - an `operationId`, derived from the method and path (`GET /api/flow-runs/:id` →
 *     `getFlowRun`, `POST /api/flow-runs/:id/set-state` → `setFlowRunState`) unless the route
 *     names its own, so generated clients have stable method names;
 *   - the bearer (API key) and session-cookie security schemes on every route that is not public;
 *   - the error answers every route can give besides its own: 400 (any request can be
 *     malformed: a NUL in its URL, a bad query, a bad body), 401 and 403 (keys), 404 and 414 (a
 *     path naming something, or too long to), 413 and 415 (a POST, PUT or PATCH body too big, or
 *     not JSON), 503 (shutting down, or the database away: clients retry it);
 *   - a description for each answer: the route's own (its schema's `description`), else one said
 *     by its status and what it holds.
 *
 * The document only: the schemas the server validates and serialises with are not touched.
 */
import { ROUTE_PERMISSIONS } from "./route-permissions.ts";
import type { FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import type { SwaggerTransformObject } from "@fastify/swagger";
import { SESSION_COOKIE } from "./sessions.ts";

/** What each tag groups; a route's tags must be listed here (the OpenAPI test says which is not). */
export const TAG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  server: "Health, the document itself, and dashboard sign-in",
  flows: "Flows: the functions runs are made of, registered by name",
  "flow runs": "Runs of flows: create, list, read, move between states, cancel, retry, pause and resume, delete",
  "task runs": "Runs of tasks inside a flow run, and their state history",
  logs: "Log lines of flow and task runs",
  results: "Stored task and flow results, and the cache entries that point at them",
  batch: "The engine's write path in remote mode: task runs, states, logs and results in one transaction",
  deployments: "Deployments: a flow's entrypoint, parameters, schedules and work pool; runs of a deployment",
  "work pools": "Work pools, their queues and workers, and the claims workers make",
  concurrency: "Concurrency and rate limits: slots taken and released by leases",
  live: "The dashboard's live feed of state changes and logs (server-sent events)",
  events: "The durable event log: read, emit, and follow as server-sent events",
  webhooks: "Incoming webhooks that turn HTTP calls into events",
  automations: "Automations: triggers on events or metrics, and the actions they take",
  notifications: "Notification channels (webhook, Slack, e-mail) that automations notify",
  variables: "Variables: named JSON values flows and settings refer to",
  secrets: "Secrets: sealed values, listed by name; their values only to who may read them",
  stats: "Counts and durations of runs over time, and workers' status",
  artifacts: "Artifacts runs publish for people: markdown, tables, links, progress, images",
  models: "The model registry: versions with metrics and lineage, aliases (production, staging…), gated promotion, rollback and the history of alias moves",
  experiments: "Experiment tracking: the parameters and metrics runs log (logParams, logMetric), by experiment, side by side and as curves",
  assets: "Assets: the versions of data and models runs read and materialise, and their lineage",
  access: "API keys and accounts: created, listed and revoked by admins",
  audit: "The append-only audit log: who did what, and the verification of its hash chain",
};

/** Why a 4xx or 5xx answer happens, for answers whose route says nothing more. */
const ERROR_DESCRIPTIONS: Readonly<Record<string, string>> = {
  "400": "The request is not valid: the error's message names the field (query, path, body or header) and the problem",
  "401": "No API key, or one this server does not know (only when the server requires keys)",
  "403": "The key's role may not make this call, or may not set a field it sent: the message says which",
  "404": "What the path or a field names does not exist: the message says which",
  "409": "The request conflicts with the resource's current state (a refused transition, a name or id already taken): the message says how",
  "413": "The body is larger than the server accepts",
  "414": "A path parameter is longer than any name, id or key can be",
  "415": "The body is not JSON (send Content-Type: application/json)",
  "429": "Too many attempts from this address: retry after the Retry-After header's seconds",
  "501": "Not available on this server's database",
  "503": "The server is shutting down, or its database does not answer: retry shortly",
};

/** Explicit ids where the derivation would read badly (calls that are not plain reads or writes of a resource). */
const OPERATION_IDS: Readonly<Record<string, string>> = {
  "GET /api/health": "getHealth",
  "POST /api/session": "signIn",
  "GET /api/session": "getSession",
  "DELETE /api/session": "signOut",
  "POST /api/batch": "applyBatch",
  "POST /api/logs": "sendLogs",
  "POST /api/events": "emitEvents",
  "GET /api/events/stream": "streamEvents",
  "GET /api/live/stream": "streamLive",
  "POST /api/webhooks/:slug": "callWebhook",
  "POST /api/work-pools/:name/workers": "registerWorker",
  "POST /api/work-pools/:name/claim": "claimFlowRuns",
  "POST /api/flow-runs/crash-stale": "crashStaleFlowRuns",
  "GET /api/stats": "getStats",
  "POST /api/concurrency-limits/acquire": "acquireConcurrencySlots",
  "POST /api/flows": "registerFlow",
  "GET /api/cache/:key": "getCacheEntry",
};

const pascal = (words: string) => words.split(/[-_.]/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
const singular = (word: string) => (word.endsWith("ies") ? `${word.slice(0, -3)}y` : word.endsWith("ses") || !word.endsWith("s") ? word : word.slice(0, -1));
/** A last path segment that names a collection (its GET lists, its POST creates). */
const isCollection = (segment: string) => segment.endsWith("s") && segment !== "stats" && segment !== "status";

/**
 * The operation's id: `OPERATION_IDS`, else a verb and the resources its path names —
 * `GET /api/flow-runs` listFlowRuns, `POST /api/flow-runs` createFlowRun, `GET|DELETE
 * /api/flow-runs/:id` getFlowRun|deleteFlowRun, `GET /api/flow-runs/:id/states`
 * listFlowRunStates, `POST /api/flow-runs/:id/set-state` setFlowRunState.
 */
export function operationIdOf(method: string, url: string): string {
  const explicit = OPERATION_IDS[`${method} ${url}`];
  if (explicit) return explicit;
  const parts = url.replace(/^\/api\/?/, "").split("/").filter(Boolean);
  const nouns: string[] = [];
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    if (part.startsWith(":")) continue;
    nouns.push(pascal(parts[i + 1]!.startsWith(":") ? singular(part) : part));
  }
  const last = parts.at(-1) ?? "root";
  if (last.startsWith(":")) {
    const verb = { GET: "get", DELETE: "delete", PUT: "set", PATCH: "update", POST: "post" }[method] ?? method.toLowerCase();
    return verb + nouns.join("");
  }
  const collection = isCollection(last);
  if (method === "GET") return (collection ? "list" : "get") + nouns.join("") + pascal(last);
  if (method === "POST" && collection) return `create${nouns.join("")}${pascal(singular(last))}`;
  // An action on what the path names: its first word is the verb (`set-state` → setFlowRunState).
  const [verb, ...rest] = last.split("-");
  return verb! + nouns.join("") + pascal(rest.join("-"));
}

type Schema = Record<string, unknown>;

/** What the answer holds, said from its schema: a named record, a list or a page of them. */
function describeAnswer(status: string, schema: Schema | undefined): string {
  if (status === "204") return "Done; no content";
  const ref = (s: unknown) => (s && typeof s === "object" && typeof (s as Schema).$ref === "string" ? words(String((s as Schema).$ref).replace(/#$/, "")) : null);
  const named = ref(schema);
  const items = (schema?.properties as Schema | undefined)?.items as Schema | undefined;
  const item = ref(items?.items);
  const what = named ? `The ${named}` : item ? (`nextCursor` in ((schema?.properties as Schema) ?? {}) ? `A page of ${item} records; nextCursor is null on the last page` : `The ${item} records`) : null;
  if (status === "201") return what ? `Created. ${what}` : "Created";
  if (status === "202") return what ? `Accepted. ${what}` : "Accepted";
  return what ?? "The answer, as its schema says";
}

/** `FlowRunInput` → `flow run input`. */
function words(id: string): string {
  return id.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

/**
 * The operation as documented: `schema` (the route's) completed with its id, security, the
 * 4xx answers every such route can give, and a description for each answer.
 */
export function documentedOperation(method: string, url: string, schema: Schema, isPublic: boolean): Schema {
  const response: Record<string, Schema> = {};
  for (const [status, answer] of Object.entries((schema.response ?? {}) as Record<string, Schema>)) {
    const described = typeof answer.description === "string" ? answer.description : ERROR_DESCRIPTIONS[status] ?? describeAnswer(status, answer);
    response[status] = { ...answer, description: described };
  }
  const add = (status: string) => {
    response[status] ??= { $ref: "ErrorResponse#", description: ERROR_DESCRIPTIONS[status]! };
  };
  const statuses = ["400", ...(isPublic ? [] : ["401", "403"]), ...(url.includes("/:") ? ["404", "414"] : []), ...(schema.body || ["POST", "PUT", "PATCH"].includes(method) ? ["413", "415"] : []), "503"];
  for (const status of statuses) add(status);
  return {
    ...schema,
    operationId: typeof schema.operationId === "string" ? schema.operationId : operationIdOf(method, url),
    ...(isPublic ? { security: [] } : { security: [{ bearer: [] }, { session: [] }] }),
    response,
  };
}

/** Registers @fastify/swagger, which collects the routes registered after it. */
export async function registerOpenApi(app: FastifyInstance, options: { version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Baton API",
        version: options.version,
        description:
          "Workflow orchestration for AI and data pipelines. Every error answers `{ error: { code, message, details } }`, its message naming the field. " +
          "When the server requires API keys, send `Authorization: Bearer <key>` (or the dashboard's session cookie).",
        license: { name: "Apache-2.0", identifier: "Apache-2.0" },
      },
      tags: Object.entries(TAG_DESCRIPTIONS).map(([name, description]) => ({ name, description })),
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", description: "An API key (`baton api-key create`, or BATON_SERVER_API_KEYS): `Authorization: Bearer <key>`" },
          session: { type: "apiKey", in: "cookie", name: SESSION_COOKIE, description: "The dashboard's session, from POST /api/session" },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const method = [route.method].flat()[0] ?? "GET";
      const rule = ROUTE_PERMISSIONS[`${method} ${url}`];
      const isPublic = (rule !== undefined && "public" in rule) || !url.startsWith("/api");
      return { schema: documentedOperation(method, url, (schema ?? {}) as Schema, isPublic) as typeof schema, url };
    },
    // The types say the argument is the document; at run time it is `{ openapiObject }`.
    transformObject: (argument) => withoutInlineDiscriminators((argument as unknown as { openapiObject: Schema }).openapiObject) as ReturnType<SwaggerTransformObject>,
  });
}

/** `GET /api/openapi.json`; `publicUrl`: the server's address as its clients reach it (BATON_PUBLIC_URL), for `servers`. */
export function openApiRoute(app: FastifyInstance, publicUrl: () => string | undefined): void {
  app.get("/api/openapi.json", { schema: { hide: true } }, async (request) => {
    const document = app.swagger() as Schema;
    // The address the caller used, unless the server was told its public one.
    const url = publicUrl() ?? `${request.protocol}://${request.host}`;
    return { ...document, servers: [{ url, description: "this server" }] };
  });
}

/**
 * The document without the `discriminator` keywords of unions whose members are inline: the
 * server's ajv uses them for its error messages, but OpenAPI's discriminator selects named
 * schemas only. Each member still says its kind (a `const`), which is what clients need.
 */
function withoutInlineDiscriminators(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutInlineDiscriminators);
  if (!node || typeof node !== "object") return node;
  const out: Schema = {};
  const inline = Array.isArray((node as Schema).oneOf) && ((node as Schema).oneOf as Schema[]).some((member) => typeof member?.$ref !== "string");
  for (const [key, value] of Object.entries(node)) if (!(key === "discriminator" && inline)) out[key] = withoutInlineDiscriminators(value);
  return out;
}

/**
 * The documented answer of a server-sent events route: `text/event-stream`, each message an
 * `id:` (a resume token for Last-Event-ID), an `event:` name and a `data:` line of JSON.
 */
export function eventStreamAnswer(description: string): Schema {
  return {
    description,
    content: {
      "text/event-stream": {
        schema: { type: "string", description: "messages of `id: <resume token>`, `event: <name>`, `data: <JSON>`, each ended by a blank line; `: ping` comments keep a quiet stream open" },
      },
    },
  };
}
