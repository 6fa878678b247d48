/**
 * The Baton API server (Fastify): REST under /api validated by JSON schemas that also produce
 * the OpenAPI document at /api/openapi.json, live events over SSE, optional API keys with the
 * roles each route allows (access.ts) and dashboard sign-in, a hash-chained audit log of every
 * mutating call (audit.ts), security headers, optional TLS with HTTP/2, and the background jobs
 * (scheduler, crashed-run detector, log and event retention).
 */
import Fastify, { LogController, type FastifyInstance } from "fastify";
import fastifyStatic from "@fastify/static";
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import type { Store } from "../store/types.ts";
import { DEFAULT_BODY_LIMIT_BYTES } from "../config/settings.ts";
import { ApiError, clientErrorHandler, errorHandler, sendError } from "./errors.ts";
import { announceResourceChanges, EventHub } from "./events.ts";
import { SHARED_SCHEMAS } from "./schemas.ts";
import { registerJsonParser, urlHasNul } from "./json-body.ts";
import { installRequestLog } from "./request-log.ts";
import { installRequestSpans } from "./request-spans.ts";
import { tracing } from "../telemetry/tracing.ts";
import { statsRoutes } from "./routes/stats.ts";
import { usageRoutes } from "./routes/usage.ts";
import { taskTableRoutes } from "./routes/task-table.ts";
import { flowRunRoutes } from "./routes/flow-runs.ts";
import { flowRunInputRoutes } from "./routes/flow-run-inputs.ts";
import { runDataRoutes } from "./routes/runs-data.ts";
import { batchRoutes } from "./routes/batch.ts";
import { BatchChecker } from "./batch-checker.ts";
import { flowRoutes, healthRoutes, liveStreamRoutes } from "./routes/flows.ts";
import { startBackgroundJobs, type BackgroundOptions } from "./background.ts";
import { LeaderElector, replicaName } from "./leadership.ts";
import { runRetentionRoutes } from "./routes/run-retention.ts";
import { KyselyRunRetention } from "../store/run-retention.ts";
import { localFlowRunPruner } from "../services/prune-flow-runs.ts";
import { orchestrationRoutes } from "./routes/orchestration.ts";
import { KyselyStore } from "../store/kysely-store.ts";
import { parseApiKeys } from "./api-keys.ts";
import { installAccessControl, type RouteRoles } from "./access.ts";
import { Authenticator } from "./authenticator.ts";
import { ScopeGuard } from "./scopes.ts";
import { KyselyCredentialStore } from "../store/credential-store.ts";
import { credentialRoutes } from "./routes/credentials.ts";
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
import { experimentRoutes } from "./routes/experiments.ts";
import { modelRoutes } from "./routes/models.ts";
import { KyselyModelStore, type ModelStore } from "../store/model-store.ts";
import { ResultStore } from "../engine/result-store.ts";
import { databaseResultStorage, type ResultStorage } from "../config/result-storage.ts";
import { resultBlobRoutes } from "./routes/result-blobs.ts";
import { assetRoutes } from "./routes/assets.ts";
import { flowRunRerunRoutes } from "./routes/flow-run-rerun.ts";
import { KyselyAssetViews, type AssetViews } from "../store/asset-store.ts";
import { KyselyExperimentViews, type ExperimentViews } from "../store/experiment-store.ts";
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
import { openApiRoute, registerOpenApi } from "./openapi.ts";
import { applyTimeouts, DEFAULT_SERVER_TIMEOUTS, timeoutOptions, type ServerTimeouts } from "./timeouts.ts";
import { KyselyAuditLog } from "../store/audit-log.ts";
import { AuditWriter, installAuditHooks } from "./audit.ts";
import { auditRoutes } from "./routes/audit.ts";
import { installSecurityHeaders } from "./security-headers.ts";
import { runReportRoutes } from "./routes/run-report.ts";
import { installRequestMetrics, metricsRoute, ServerMetrics } from "./metrics.ts";

export const SERVER_VERSION = "0.1.0";

/** The longest path parameter the router matches: a 1,000-character cache key, percent-encoded. */
const MAX_PATH_PARAM_CHARS = 3000;

/** Where the built dashboard may be: beside the sources (a checkout) or the build (a package). */
const UI_ROOTS = [fileURLToPath(new URL("../../dist/ui", import.meta.url)), fileURLToPath(new URL("../ui", import.meta.url))];

export interface ServerOptions extends Partial<BackgroundOptions> {
  store: Store;
  /** The artifacts' cross-run reads; default: over the store's database. */
  artifacts?: ArtifactViews;
  /** Experiment tracking's reads; default: over the store's database. */
  experiments?: ExperimentViews;
  /** The model registry (default: over the store's database). */
  models?: ModelStore;
  /** The results directory of the processes that run flows on the database (BATON_RESULTS_DIR), to serve results stored in files; default: none. */
  resultsDir?: string | null;
  /** Where large results are (BATON_RESULTS_URL; default: the database's default with `resultsDir`). */
  resultStorage?: ResultStorage;
  /** Assets' reads; default: over the store's database. */
  assets?: AssetViews;
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
  /** How long clients may take to send headers and requests, and stay idle (default DEFAULT_SERVER_TIMEOUTS). */
  timeouts?: Partial<ServerTimeouts>;
  /** Static `role:secret` keys (BATON_SERVER_API_KEYS); any turns authentication on. */
  apiKeys?: string[];
  /** Require a credential on every API route but health and sign-in (BATON_AUTH=on); default: only with static keys. */
  auth?: boolean;
  /** pino logger options, or false. */
  logger?: boolean | object;
  /** How often the event hub tails the store (ms). */
  eventPollMs?: number;
  /** Serve Prometheus metrics at GET /metrics (default true; metrics.ts). */
  metrics?: boolean;
  /** Serve HTTPS (and HTTP/2, HTTP/1.1 still accepted) with this certificate chain and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** This replica's name in the leader election (default: host:pid:random). */
  replicaName?: string;
  /** How often a replica that does not lead tries to, and the leader checks its lock (ms; default 1000). */
  leaderRetryMs?: number;
}

export interface BatonServer {
  app: FastifyInstance;
  hub: EventHub;
  /** Every route registered and its line of the permission table (see access.ts). */
  routes: readonly RouteRoles[];
  /** The automations' service of this process: null when `automationService: false`, or while another replica leads. */
  automationService: AutomationService | null;
  /** This server's Prometheus metrics (null when `metrics: false`). */
  metrics: ServerMetrics | null;
  /** The election of the replica that runs the singleton services (leadership.ts); `stop()` resigns. */
  leadership: LeaderElector;
  close(): Promise<void>;
}

/** The server's own address, `http://host:port`, once it listens. */
function listeningUrl(app: FastifyInstance): string | undefined {
  const address = app.server.address();
  if (!address || typeof address === "string") return undefined;
  const host = address.address === "::" || address.address === "0.0.0.0" ? "localhost" : address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `${app.initialConfig.https ? "https" : "http"}://${host}:${address.port}`;
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
  const resultStorage = options.resultStorage ?? databaseResultStorage({ resultsUrl: { value: null } }, store, options.resultsDir ?? null);
  const results = new ResultStore(store, resultStorage.blobs, Number.MAX_SAFE_INTEGER, resultStorage.legacy);
  const runRetention = new KyselyRunRetention(store, resultStorage.collectable);
  const vault = new SecretVault(new KyselySecretStore(store), options.secretKey ?? (() => loadSecretKey()));
  const artifacts = options.artifacts ?? (store instanceof KyselyStore ? new KyselyArtifactViews(store) : null);
  if (!artifacts) throw new TypeError("buildServer needs options.artifacts for a store that is not a database");
  const experiments = options.experiments ?? (store instanceof KyselyStore ? new KyselyExperimentViews(store) : null);
  if (!experiments) throw new TypeError("buildServer needs options.experiments for a store that is not a database");
  const models = options.models ?? new KyselyModelStore(store);
  const assets = options.assets ?? (store instanceof KyselyStore ? new KyselyAssetViews(store) : null);
  if (!assets) throw new TypeError("buildServer needs options.assets for a store that is not a database");
  const refs = storeRefLookup(variables, vault.store);
  const timeouts = { ...DEFAULT_SERVER_TIMEOUTS, ...options.timeouts };
  // Over TLS, HTTP/2 for browsers (one connection, multiplexed event streams) and HTTP/1.1 for
  // the rest (the API client, curl, proxies) on the same port.
  const transport = options.tls ? { http2: true as const, https: { allowHTTP1: true, cert: options.tls.cert, key: options.tls.key } } : {};
  const app = Fastify({
    ...(transport as object),
    logger: options.logger ?? false,
    // Unique across servers and restarts: the audit log and the x-request-id header name it.
    genReqId: () => randomUUID(),
    // One line per request instead, written by installRequestLog (server/request-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES,
    // A slow client (a slow-loris) is cut off instead of holding a connection (timeouts.ts).
    ...timeoutOptions(timeouts),
    // Query strings arrive as text: coerce them ("?limit=5"). Bodies are JSON: no coercion,
    // so a number sent as a string is an error that names the field.
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
    // Errors Fastify answers itself get the API's error shape too: bad HTTP, a URL too long
    // (431), a malformed path; and requests arriving while the server closes are a 503 from
    // the onRequest hook below rather than Fastify's own body.
    clientErrorHandler,
    frameworkErrors: (error, _request, reply) =>
      void (error.code === "FST_ERR_MAX_PARAM_LENGTH"
        ? sendError(reply, 414, "URI_TOO_LONG", `a path parameter is longer than ${MAX_PATH_PARAM_CHARS} characters (percent-encoded); no name, id or key is that long`)
        : sendError(reply, error.statusCode ?? 400, error.code ?? "BAD_REQUEST", error.message)),
    // Names go up to 200 characters and cache keys to 1,000, percent-encoded up to three times longer
    // (Fastify's default of 100 answered 414 for a 101-character name).
    routerOptions: { maxParamLength: MAX_PATH_PARAM_CHARS },
    return503OnClosing: false,
  });
  applyTimeouts(app.server, timeouts);
  let closing = false;
  const bodyAjv = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true, discriminator: true, strict: false, allErrors: false });
  const queryAjv = new Ajv({ removeAdditional: false, coerceTypes: "array", useDefaults: true, strict: false, allErrors: false });
  for (const schema of SHARED_SCHEMAS) {
    bodyAjv.addSchema(schema);
    queryAjv.addSchema(schema);
    app.addSchema(schema);
  }
  app.setValidatorCompiler(({ schema, httpPart }) => {
    // A raw-bytes body (`format: binary`, parsed as a Buffer: result blobs) is bytes, not a JSON string.
    if (httpPart === "body" && (schema as { format?: string }).format === "binary")
      return (data: unknown) => (Buffer.isBuffer(data) ? true : { error: new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "body: send the bytes as application/octet-stream") });
    return httpPart === "body" ? bodyAjv.compile(schema) : queryAjv.compile(schema);
  });

  await registerOpenApi(app, { version: SERVER_VERSION });

  const keys = parseApiKeys(options.apiKeys ?? []);
  // First: every answer carries them, refusals by the hooks below included.
  const uiRoot = UI_ROOTS.find((dir) => fs.existsSync(path.join(dir, "index.html")));
  installSecurityHeaders(app, uiRoot, options.tls !== undefined);
  if (tracing.enabled) installRequestSpans(app);
  // Hooks in callback style: every request passes through them, and an async hook costs a
  // promise and a microtask turn on the hot path of remote flows.
  app.addHook("onRequest", (request, reply, done) => {
    if (closing) {
      // HTTP/1.1 only: HTTP/2 has no Connection header (Node refuses it).
      if (request.raw.httpVersionMajor < 2) reply.header("connection", "close");
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
  const credentials = new KyselyCredentialStore(store);
  const authenticator = new Authenticator(keys, credentials, { onError: (error) => app.log.warn({ err: error }, "recording when an API key was last used failed") });
  const authRequired = options.auth === true || keys.size > 0;
  // Before any route is registered: it lists them as they come.
  const routes = installAccessControl(app, { authRequired, authenticator, sessions, workerRuns, scopes: new ScopeGuard(store, orchestration), badKeys: new SignInLimiter(10, 6_000) });
  const auditLog = new KyselyAuditLog(store);
  const auditWriter = new AuditWriter(auditLog, (error, entries) => app.log.error({ err: error, lostAuditEntries: entries }, "audit entries could not be stored"));
  installAuditHooks(app, auditWriter);
  // One readable line per request in the server's log; the audit table holds who did what.
  installRequestLog(app);
  const metrics = options.metrics === false ? null : new ServerMetrics(store);
  if (metrics) {
    installRequestMetrics(app, metrics);
    // One observer per store: a second server on the same store (tests) leaves the first's.
    store.observer ??= metrics;
  }

  // The API speaks JSON only: a text/plain body is a 415, not a string that fails validation.
  app.removeContentTypeParser("text/plain");
  registerJsonParser(app);
  app.setErrorHandler(errorHandler);
  // The dashboard (built into dist/ui by `npm ci`/`npm run build:ui`): static files, and
  // index.html for every other page path so that deep links work.
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
  // Declared before the routes that report it; started once the server is ready.
  let leadership: LeaderElector | null = null;
  healthRoutes(app, store, SERVER_VERSION, () => leadership!.status());
  sessionRoutes(app, authRequired, authenticator, sessions, new SignInLimiter());
  credentialRoutes(app, credentials, authenticator, sessions);
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
  usageRoutes(app, store, orchestration);
  taskTableRoutes(app, store);
  artifactRoutes(app, store, artifacts, hub);
  experimentRoutes(app, store, experiments);
  modelRoutes(app, { store, models, results, assets });
  resultBlobRoutes(app, resultStorage.blobs);
  assetRoutes(app, store, assets);
  flowRunRerunRoutes(app, { runs: store, assets, deployments: orchestration, refs });
  auditRoutes(app, auditLog);
  runReportRoutes(app, { store, orchestration, audit: auditLog });
  runRetentionRoutes(app, localFlowRunPruner(runRetention));
  announceResourceChanges(app, hub);
  openApiRoute(app, () => options.publicUrl);
  if (metrics) metricsRoute(app, metrics);

  await app.ready();
  await hub.start();
  // The singleton services run in the one replica that leads (leadership.ts); a replica that
  // loses the lead stops them at once, and another starts them within about leaderRetryMs.
  let background: { stop(): void } | null = null;
  let automationService: AutomationService | null = null;
  const replica = options.replicaName ?? replicaName();
  const elector = new LeaderElector(store.leaderLock(replica), {
    name: replica,
    retryMs: options.leaderRetryMs ?? 1000,
    log: app.log,
    onElected: () => {
      background = startBackgroundJobs(store, orchestration, eventLog, runRetention, options, app.log);
      automationService = options.automationService === false ? null : startAutomationService(automations, { store, orchestration, channels, refs, values: channelValues, publicUrl, audit: auditLog, models }, options.automationService ?? {}, app.log);
    },
    onDeposed: async () => {
      background?.stop();
      background = null;
      const stopping = automationService;
      automationService = null;
      await stopping?.stop();
    },
  });
  leadership = elector;
  await elector.start();
  return {
    app,
    hub,
    routes,
    get automationService() {
      return automationService;
    },
    set automationService(service) {
      automationService = service;
    },
    leadership: elector,
    metrics,
    close: async () => {
      closing = true;
      if (metrics && store.observer === metrics) store.observer = null;
      await elector.stop();
      // Ends the event streams: open SSE responses would otherwise keep the server open.
      hub.stop();
      await app.close();
      // The entries of the last calls are committed before the store may close.
      await auditWriter.drain();
    },
  };
}
