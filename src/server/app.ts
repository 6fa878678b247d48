/**
 * The Baton API server (Fastify): REST under /api validated by JSON schemas that also produce
 * the OpenAPI document at /api/openapi.json, live events over SSE, optional API keys with the
 * roles each route allows (access.ts) and dashboard sign-in, an audit line for every mutating
 * call, and the background jobs (scheduler, crashed-run detector, log and event retention).
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import swagger from "@fastify/swagger";
import fastifyStatic from "@fastify/static";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import type { Store } from "../store/types.ts";
import { DEFAULT_BODY_LIMIT_BYTES } from "../config/settings.ts";
import { clientErrorHandler, errorHandler, sendError } from "./errors.ts";
import { announceResourceChanges, EventHub } from "./events.ts";
import { SHARED_SCHEMAS } from "./schemas.ts";
import { registerJsonParser, urlHasNul } from "./json-body.ts";
import { installRequestLog } from "./request-log.ts";
import { statsRoutes } from "./routes/stats.ts";
import { taskTableRoutes } from "./routes/task-table.ts";
import { flowRunRoutes } from "./routes/flow-runs.ts";
import { flowRunInputRoutes } from "./routes/flow-run-inputs.ts";
import { runDataRoutes } from "./routes/runs-data.ts";
import { batchRoutes } from "./routes/batch.ts";
import { BatchChecker } from "./batch-checker.ts";
import { flowRoutes, healthRoutes, liveStreamRoutes } from "./routes/flows.ts";
import { startBackgroundJobs, type BackgroundOptions } from "./background.ts";
import { orchestrationRoutes } from "./routes/orchestration.ts";
import { KyselyStore } from "../store/kysely-store.ts";
import { parseApiKeys } from "./api-keys.ts";
import { installAccessControl, type RouteRoles } from "./access.ts";
import { Sessions } from "./sessions.ts";
import { SignInLimiter } from "./sign-in-limiter.ts";
import { WorkerRuns } from "./worker-runs.ts";
import { sessionRoutes } from "./routes/session.ts";
import { KyselyOrchestrationStore } from "../store/orchestration-store.ts";
import type { EventLogMaintenance, OrchestrationStore, SchedulerStore, WebhookStore } from "../store/types.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { KyselyWebhookStore } from "../store/webhook-store.ts";
import { eventLogRoutes } from "./routes/events.ts";
import { automationRoutes } from "./routes/automations.ts";
import { KyselyAutomationStore } from "../store/automation-store.ts";
import type { AutomationStore } from "../store/automation-types.ts";
import { startAutomationService, type AutomationService, type AutomationServiceOptions } from "./automation-service.ts";
import { KyselyNotificationChannelStore, type NotificationChannelStore } from "../store/notification-channel-store.ts";
import { notificationChannelRoutes } from "./routes/notification-channels.ts";
import { artifactRoutes } from "./routes/artifacts.ts";
import { KyselyArtifactViews, type ArtifactViews } from "../store/artifact-store.ts";
import type { AutomationReferences } from "./automations.ts";
import type { SecretKey } from "../core/secret-cipher.ts";
import { loadSecretKey } from "../config/secret-key.ts";
import { KyselyVariableStore } from "../store/variable-store.ts";
import { flowRunJobVariables, KyselySecretStore } from "../store/secret-store.ts";
import { SecretVault } from "../services/secrets.ts";
import { storeRefLookup } from "../services/config-refs.ts";
import { storeChannelValues } from "./channel-values.ts";
import { variableRoutes } from "./routes/variables.ts";
import { secretRoutes } from "./routes/secrets.ts";

export const SERVER_VERSION = "0.1.0";

/** Where the built dashboard may be: beside the sources (a checkout) or the build (a package). */
const UI_ROOTS = [fileURLToPath(new URL("../../dist/ui", import.meta.url)), fileURLToPath(new URL("../ui", import.meta.url))];

export interface ServerOptions extends Partial<BackgroundOptions> {
  store: Store;
  /** The artifacts' cross-run reads; default: over the store's database. */
  artifacts?: ArtifactViews;
  /** Deployments, pools, workers, limits, and the scheduler's writes (default: over the same database as `store`). */
  orchestration?: OrchestrationStore & SchedulerStore;
  /** The event log's tail and retention (default: `store`, a database store). */
  eventLog?: EventLogMaintenance;
  /** Webhooks (default: over the same database as `store`). */
  webhooks?: WebhookStore;
  /** Automations (default: over the same database as `store`). */
  automations?: AutomationStore;
  /** Notification channels (default: over the same database as `store`). */
  channels?: NotificationChannelStore;
  /** The dashboard's address as people reach it, for links in notifications (BATON_PUBLIC_URL); default: the address the server listens on. */
  publicUrl?: string;
  /** The automations' evaluator and executor (automation-service.ts); false: not started in this process. */
  automationService?: Partial<AutomationServiceOptions> | false;
  /** The key that seals secrets (default: BATON_SECRET_KEY or $BATON_HOME/secret.key, loaded on first use). */
  secretKey?: () => SecretKey;
  /** Maximum request body in bytes (default 16 MiB). */
  bodyLimit?: number;
  /** `role:secret` pairs (role admin or worker); empty = no authentication. */
  apiKeys?: string[];
  /** pino logger options, or false. */
  logger?: boolean | object;
  /** How often the event hub tails the store (ms). */
  eventPollMs?: number;
}

export interface BatonServer {
  app: FastifyInstance;
  hub: EventHub;
  /** Every route registered and the roles that may call it (see access.ts). */
  routes: readonly RouteRoles[];
  /** The automations' service of this process (null when `automationService: false`). */
  automationService: AutomationService | null;
  close(): Promise<void>;
}

/** Whether the request's logger writes info lines (pino's check; the no-op logger has none). */
function infoEnabled(request: FastifyRequest): boolean {
  return (request.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.("info") ?? true;
}

/** The server's own address, `http://host:port`, once it listens. */
function listeningUrl(app: FastifyInstance): string | undefined {
  const address = app.server.address();
  if (!address || typeof address === "string") return undefined;
  const host = address.address === "::" || address.address === "0.0.0.0" ? "localhost" : address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function buildServer(options: ServerOptions): Promise<BatonServer> {
  const { store } = options;
  const orchestration = options.orchestration ?? (store instanceof KyselyStore ? new KyselyOrchestrationStore(store) : null);
  if (!orchestration) throw new TypeError("buildServer needs an orchestration store for a store that is not a database");
  const eventLog = options.eventLog ?? (store instanceof KyselyStore ? store : null);
  if (!eventLog) throw new TypeError("buildServer needs options.eventLog for a store that is not a database");
  const webhooks = options.webhooks ?? (store instanceof KyselyStore ? new KyselyWebhookStore(store) : null);
  if (!webhooks) throw new TypeError("buildServer needs options.webhooks for a store that is not a database");
  const automations = options.automations ?? (store instanceof KyselyStore ? new KyselyAutomationStore(store) : null);
  if (!automations) throw new TypeError("buildServer needs options.automations for a store that is not a database");
  const channels = options.channels ?? (store instanceof KyselyStore ? new KyselyNotificationChannelStore(store) : null);
  if (!channels) throw new TypeError("buildServer needs options.channels for a store that is not a database");
  if (!(store instanceof KyselyStore)) throw new TypeError("buildServer needs a database store for variables and secrets");
  const variables = new KyselyVariableStore(store);
  const vault = new SecretVault(new KyselySecretStore(store), options.secretKey ?? (() => loadSecretKey()));
  const artifacts = options.artifacts ?? (store instanceof KyselyStore ? new KyselyArtifactViews(store) : null);
  if (!artifacts) throw new TypeError("buildServer needs options.artifacts for a store that is not a database");
  const refs = storeRefLookup(variables, vault.store);
  const app = Fastify({
    logger: options.logger ?? false,
    // One line per request instead, written by installRequestLog (server/request-log.ts).
    disableRequestLogging: true,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES,
    // Query strings arrive as text: coerce them ("?limit=5"). Bodies are JSON: no coercion,
    // so a number sent as a string is an error that names the field.
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
    // Errors Fastify answers itself get the API's error shape too: bad HTTP, a URL too long
    // (431), a malformed path; and requests arriving while the server closes are a 503 from
    // the onRequest hook below rather than Fastify's own body.
    clientErrorHandler,
    frameworkErrors: (error, _request, reply) => void sendError(reply, error.statusCode ?? 400, error.code ?? "BAD_REQUEST", error.message),
    return503OnClosing: false,
  });
  let closing = false;
  const bodyAjv = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true, discriminator: true, strict: false, allErrors: false });
  const queryAjv = new Ajv({ removeAdditional: false, coerceTypes: "array", useDefaults: true, strict: false, allErrors: false });
  for (const schema of SHARED_SCHEMAS) {
    bodyAjv.addSchema(schema);
    queryAjv.addSchema(schema);
    app.addSchema(schema);
  }
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "body" ? bodyAjv.compile(schema) : queryAjv.compile(schema)));

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Baton API", version: SERVER_VERSION, description: "Workflow orchestration for AI and data pipelines" },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  const keys = parseApiKeys(options.apiKeys ?? []);
  // Hooks in callback style: every request passes through them, and an async hook costs a
  // promise and a microtask turn on the hot path of remote flows.
  app.addHook("onRequest", (request, reply, done) => {
    if (closing) {
      reply.header("connection", "close");
      sendError(reply, 503, "SHUTTING_DOWN", "the server is shutting down; retry shortly (clients in remote mode do)");
      return;
    }
    // PostgreSQL cannot compare text with a NUL in it: refuse it before any query sees it.
    if (urlHasNul(request.url)) {
      sendError(reply, 400, "VALIDATION_ERROR", "the URL contains a NUL character (%00), which no name, id or filter may contain");
      return;
    }
    done();
  });
  const sessions = new Sessions();
  const workerRuns = new WorkerRuns(store);
  // Before any route is registered: it lists them as they come.
  const routes = installAccessControl(app, keys, sessions, workerRuns);
  installRequestLog(app);
  app.addHook("onResponse", (request: FastifyRequest, reply, done) => {
    if (request.method !== "GET" && request.method !== "HEAD" && request.method !== "OPTIONS" && infoEnabled(request))
      request.log.info({ audit: true, method: request.method, url: request.url, status: reply.statusCode, role: request.apiKeyRole, ip: request.ip }, "audit");
    done();
  });

  // The API speaks JSON only: a text/plain body is a 415, not a string that fails validation.
  app.removeContentTypeParser("text/plain");
  registerJsonParser(app);
  app.setErrorHandler(errorHandler);
  // The dashboard (built into dist/ui by `npm ci`/`npm run build:ui`): static files, and
  // index.html for every other page path so that deep links work.
  const uiRoot = UI_ROOTS.find((dir) => fs.existsSync(path.join(dir, "index.html")));
  // Hashed assets never change (cache them for good); the build wrote .br/.gz copies of them.
  if (uiRoot)
    await app.register(fastifyStatic, {
      root: uiRoot,
      prefix: "/",
      wildcard: false,
      index: ["index.html"],
      preCompressed: true,
      setHeaders: (res, file) => void (file.includes(`${path.sep}assets${path.sep}`) && res.header("cache-control", "public, max-age=31536000, immutable")),
    });
  app.setNotFoundHandler((request, reply) => {
    if (uiRoot && request.method === "GET" && !request.url.startsWith("/api")) return reply.type("text/html").sendFile("index.html");
    return sendError(reply, 404, "NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`);
  });

  const hub = new EventHub(store, options.eventPollMs ?? 200);
  healthRoutes(app, store, SERVER_VERSION);
  sessionRoutes(app, keys, sessions, new SignInLimiter());
  flowRoutes(app, store);
  const checker = new BatchChecker(store);
  flowRunRoutes(app, store, orchestration, refs, {
    flowRunCreated: (id) => checker.flowRunCreated(id),
    forgetFlowRun: (id) => {
      checker.forgetFlowRun(id);
      workerRuns.forget(id);
    },
    knowsResult: (id) => checker.knowsResult(id),
  });
  flowRunInputRoutes(app, store);
  runDataRoutes(app, store);
  batchRoutes(app, store, checker, workerRuns);
  orchestrationRoutes(app, store, orchestration, refs);
  liveStreamRoutes(app, store, hub);
  eventLogRoutes(app, store, eventLog, options.eventPollMs ?? 200);
  webhookRoutes(app, store, webhooks);
  const references: AutomationReferences = {
    getDeployment: (n) => orchestration.getDeployment(n),
    getWorkPool: (n) => orchestration.getWorkPool(n),
    getChannel: (n) => channels.getChannel(n),
    getFlow: (n) => store.getFlow(n),
  };
  automationRoutes(app, automations, references);
  // Known once the server listens (inject-only servers, in tests, never do).
  const publicUrl = () => options.publicUrl ?? listeningUrl(app) ?? "http://127.0.0.1:4200";
  const channelValues = storeChannelValues(variables, vault);
  notificationChannelRoutes(app, channels, automations, publicUrl, { refs, read: channelValues });
  variableRoutes(app, variables);
  secretRoutes(app, vault, { getFlowRun: (id) => store.getFlowRun(id), getDeployment: (id) => orchestration.getDeployment(id), getWorkPool: (name) => orchestration.getWorkPool(name), flowRunJobVariables: (id) => flowRunJobVariables(store, id) }, workerRuns);
  statsRoutes(app, store, orchestration);
  taskTableRoutes(app, store);
  artifactRoutes(app, store, artifacts, hub);
  announceResourceChanges(app, hub);
  app.get("/api/openapi.json", { config: { access: { roles: "public" } }, schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  await hub.start();
  const background = startBackgroundJobs(store, orchestration, eventLog, options, app.log);
  const automationService = options.automationService === false ? null : startAutomationService(automations, { store, orchestration, channels, refs, values: channelValues, publicUrl }, options.automationService ?? {}, app.log);
  return {
    app,
    hub,
    routes,
    automationService,
    close: async () => {
      closing = true;
      background.stop();
      await automationService?.stop();
      // Ends the event streams: open SSE responses would otherwise keep the server open.
      hub.stop();
      await app.close();
    },
  };
}
