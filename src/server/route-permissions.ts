/**
 * THE table of who may call what: every API route, by `METHOD /path` as registered, with the one
 * permission it requires (core/permissions.ts says which roles hold it) and how a key scoped to
 * work pools or deployment tags is held to its scope. access.ts checks it, in one place, before
 * any handler; test/integration/route-matrix.test.ts calls every registered route with no key
 * and with each role, and fails for a route missing here.
 *
 * Scope rules (what a scoped key may reach through the route):
 *   - "global": the route's data is not divided by pool or deployment (flows, variables, limits);
 *   - "list:<kind>": the answer's `items` are filtered to the key's scope;
 *   - { pool | deployment | run | taskRun | worker: where }: the one resource the request names
 *     (a path parameter, query or body field) must be in scope, else 404;
 *   - "runs-written": the flow runs the route's `config.access.workerRuns` names must be in scope;
 *   - none: a scoped key is refused (403): events, automations, definitions of new pools…
 */
import type { Permission } from "../core/permissions.ts";

/** Where a request names the resource its scope rule checks: `params.name`, `query.flowRunId`, `body.flowRunId`. */
export type RequestField = `${"params" | "query" | "body"}.${string}`;

export type ScopeRule =
  | "global"
  | "list:flow-runs"
  | "list:deployments"
  | "list:work-pools"
  | "list:workers"
  | "runs-written"
  | { pool: RequestField; claims?: true }
  | { deployment: RequestField }
  | { run: RequestField }
  | { taskRun: RequestField }
  | { worker: RequestField };

export type RouteRule =
  /** Open to anyone, with why. */
  | { public: string }
  /** Needs a credential holding `permission` ("signed-in": any credential). */
  | { permission: Permission | "signed-in"; scope?: ScopeRule };

const pub = (why: string): RouteRule => ({ public: why });
const need = (permission: Permission | "signed-in", scope?: ScopeRule): RouteRule => (scope === undefined ? { permission } : { permission, scope });

const RUN_ID = { run: "params.id" } as const;
const POOL = { pool: "params.name" } as const;
const DEPLOYMENT = { deployment: "params.name" } as const;

export const ROUTE_PERMISSIONS: Readonly<Record<string, RouteRule>> = {
  // Server
  "GET /api/health": pub("load balancers and `baton server status` probe it"),
  "GET /api/openapi.json": pub("the API's description holds no data; clients generate code from it"),
  "POST /api/session": pub("signing in: the credential is in the body"),
  "DELETE /api/session": pub("signing out must work with a session that already expired"),
  "GET /api/session": need("signed-in", "global"),
  "GET /api/stats": need("runs:read"),
  // Prometheus' scrape, outside /api by convention; aggregates over every pool, so no scoped key.
  "GET /metrics": need("metrics:read"),

  // Audit (admins: who did what is sensitive); append-only, so no route writes it
  "GET /api/audit": need("audit:inspect", "global"),
  "GET /api/audit/verify": need("audit:inspect", "global"),
  "GET /api/flow-runs/:id/report": need("audit:inspect", RUN_ID),
  // Aggregates over every run of a flow: not divided by pool or deployment, so no scoped key.
  "GET /api/stats/flows": need("runs:read"),
  "GET /api/stats/flows/:id": need("runs:read"),
  // Sums over every run that ended in the window, with the pools' prices: no scoped key either.
  "GET /api/usage": need("runs:read"),

  // Flows
  "GET /api/flows": need("flows:read", "global"),
  "GET /api/flows/:id": need("flows:read", "global"),
  "POST /api/flows": need("flows:write", "global"),

  // Flow runs and what hangs off them
  "POST /api/flow-runs": need("runs:write", "runs-written"),
  "GET /api/flow-runs": need("runs:read", "list:flow-runs"),
  "GET /api/flow-runs/:id": need("runs:read", RUN_ID),
  "GET /api/flow-runs/:id/states": need("runs:read", RUN_ID),
  "POST /api/flow-runs/:id/set-state": need("runs:write", RUN_ID),
  "POST /api/flow-runs/:id/heartbeat": need("runs:write", RUN_ID),
  "POST /api/flow-runs/:id/cancel": need("runs:operate", RUN_ID),
  "POST /api/flow-runs/:id/retry": need("runs:operate", RUN_ID),
  "POST /api/flow-runs/:id/rerun": need("runs:operate", RUN_ID),
  "DELETE /api/flow-runs/:id": need("runs:delete", RUN_ID),
  // Marks runs whose heartbeats stopped Crashed: the rule the server applies anyway, in any pool.
  "POST /api/flow-runs/crash-stale": need("runs:write", "global"),
  // Bulk deletion across every pool and deployment: admins only, never a scoped key.
  "POST /api/flow-runs/prune": need("runs:prune"),
  "POST /api/flow-runs/:id/pause": need("runs:write", RUN_ID),
  "POST /api/flow-runs/:id/resume": need("runs:operate", RUN_ID),
  "GET /api/flow-runs/:id/input-request": need("runs:read", RUN_ID),
  "GET /api/flow-runs/:id/inputs": need("runs:read", RUN_ID),
  "GET /api/flow-runs/:id/inputs/:key": need("runs:read", RUN_ID),
  "GET /api/flow-runs/:id/task-runs": need("runs:read", RUN_ID),
  "GET /api/flow-runs/:id/task-table": need("runs:read", RUN_ID),
  // Searches task runs of every run: a scoped key names its task runs by whole id or with their flow run.
  "GET /api/task-runs": need("runs:read"),
  "GET /api/task-runs/:id": need("runs:read", { taskRun: "params.id" }),
  "GET /api/task-runs/:id/states": need("runs:read", { taskRun: "params.id" }),
  "GET /api/logs": need("runs:read", { run: "query.flowRunId" }),
  "POST /api/logs": need("runs:write", "runs-written"),
  "POST /api/batch": need("runs:write", "runs-written"),
  "GET /api/live/stream": need("runs:read", { run: "query.flowRunId" }),
  // Results are addressed by random ids a run's own records hold (they name no run themselves).
  "GET /api/results/:id": need("results:read", "global"),
  "GET /api/cache/:key": need("results:read", "global"),
  // Blobs are addressed by the sha256 of their bytes, which only a holder of the bytes or of a
  // result row pointing at them knows; writing one is part of writing a run's results.
  "GET /api/result-blobs/:sha256": need("results:read", "global"),
  "PUT /api/result-blobs/:sha256": need("runs:write", "global"),

  // Experiment tracking: runs write what they logged; reads span runs (a scoped key is refused).
  "POST /api/run-values": need("runs:write", "runs-written"),
  "GET /api/experiments": need("runs:read"),
  "GET /api/experiments/:name/runs": need("runs:read"),
  "GET /api/experiments/compare": need("runs:read"),
  // Models: not divided by pool or deployment; a run registers versions and records the moves
  // its own gate decided (for the runs it holds); people promote and roll back.
  "GET /api/models": need("runs:read", "global"),
  "GET /api/models/:name": need("runs:read", "global"),
  "GET /api/models/:name/aliases/:alias": need("runs:read", "global"),
  "GET /api/models/:name/versions/:version": need("runs:read", "global"),
  "GET /api/models/:name/versions/:version/lineage": need("runs:read", "global"),
  "GET /api/models/:name/versions/:version/value": need("results:read", "global"),
  "POST /api/models/:name/versions": need("runs:write", "runs-written"),
  "POST /api/models/:name/moves": need("runs:write", "runs-written"),
  "POST /api/models/:name/promote": need("runs:operate", "global"),
  "POST /api/models/:name/rollback": need("runs:operate", "global"),
  "GET /api/runs/:id/metrics": need("runs:read"),

  // Assets: runs record what they read and materialise; reads span runs (a scoped key is refused).
  "POST /api/asset-reads": need("runs:write", "runs-written"),
  "POST /api/asset-materializations": need("runs:write", "runs-written"),
  "GET /api/assets": need("runs:read"),
  "GET /api/assets/:key": need("runs:read"),
  "GET /api/assets/:key/lineage": need("runs:read"),
  "GET /api/flow-runs/:id/assets": need("runs:read", RUN_ID),

  // Artifacts
  "POST /api/artifacts": need("runs:write", "runs-written"),
  "PATCH /api/artifacts/:id": need("runs:write", "runs-written"),
  "GET /api/artifacts": need("runs:read", { run: "query.flowRunId" }),
  "GET /api/artifacts/:key/history": need("runs:read"),
  "GET /api/artifacts/:id/content": need("runs:read"),

  // Events
  "GET /api/events": need("events:read"),
  "GET /api/events/stream": need("events:read"),
  // Not a worker's: its code emits events through its runs' batches, tied to a run it holds.
  "POST /api/events": need("events:write"),

  // Deployments
  "POST /api/deployments": need("deployments:write"),
  "GET /api/deployments": need("deployments:read", "list:deployments"),
  "GET /api/deployments/:name": need("deployments:read", DEPLOYMENT),
  "PATCH /api/deployments/:name": need("deployments:write", DEPLOYMENT),
  "DELETE /api/deployments/:name": need("deployments:write", DEPLOYMENT),
  "POST /api/deployments/:name/pause": need("deployments:operate", DEPLOYMENT),
  "POST /api/deployments/:name/resume": need("deployments:operate", DEPLOYMENT),
  "GET /api/deployments/:name/schedules": need("deployments:read", DEPLOYMENT),
  "POST /api/deployments/:name/schedules": need("deployments:write", DEPLOYMENT),
  "PUT /api/deployments/:name/schedules/:id": need("deployments:write", DEPLOYMENT),
  "DELETE /api/deployments/:name/schedules/:id": need("deployments:write", DEPLOYMENT),
  // Schedule maths on the body alone: reads nothing stored.
  "POST /api/schedules/preview": need("deployments:read", "global"),
  "POST /api/deployments/:name/schedules/:id/pause": need("deployments:operate", DEPLOYMENT),
  "POST /api/deployments/:name/schedules/:id/resume": need("deployments:operate", DEPLOYMENT),
  "POST /api/deployments/:name/runs": need("deployments:operate", DEPLOYMENT),

  // Work pools, queues and workers
  "POST /api/work-pools": need("pools:write"),
  "GET /api/work-pools": need("pools:read", "list:work-pools"),
  "GET /api/work-pools/:name": need("pools:read", POOL),
  "DELETE /api/work-pools/:name": need("pools:write", POOL),
  "POST /api/work-pools/:name/queues": need("pools:write", POOL),
  "DELETE /api/work-pools/:name/queues/:queue": need("pools:write", POOL),
  "POST /api/work-pools/:name/workers": need("work:claim", POOL),
  "POST /api/work-pools/:name/claim": need("work:claim", { pool: "params.name", claims: true }),
  "GET /api/work-pools/:name/next-due": need("work:claim", POOL),
  "POST /api/workers/:id/heartbeat": need("work:claim", { worker: "params.id" }),
  "POST /api/workers/:id/interrupt-claim": need("work:claim", { worker: "params.id" }),
  "GET /api/workers": need("pools:read", "list:workers"),
  "GET /api/workers/:id": need("pools:read", { worker: "params.id" }),

  // Concurrency limits: global (a limit spans pools)
  "POST /api/concurrency-limits": need("limits:write"),
  "GET /api/concurrency-limits": need("limits:read", "global"),
  "GET /api/concurrency-limits/:name": need("limits:read", "global"),
  "DELETE /api/concurrency-limits/:name": need("limits:write"),
  "POST /api/concurrency-limits/:name/reset": need("limits:write"),
  "POST /api/concurrency-limits/acquire": need("limits:use", "global"),
  "POST /api/concurrency-leases/renew": need("limits:use", "global"),
  "POST /api/concurrency-leases/release": need("limits:use", "global"),

  // Variables and secrets
  "GET /api/variables": need("variables:read", "global"),
  "GET /api/variables/:name": need("variables:read", "global"),
  "PUT /api/variables/:name": need("variables:write", "global"),
  "DELETE /api/variables/:name": need("variables:delete", "global"),
  "GET /api/secrets": need("secrets:read", "global"),
  "PUT /api/secrets/:name": need("secrets:write"),
  "DELETE /api/secrets/:name": need("secrets:write"),
  "GET /api/secrets/:name/value": need("secrets:values", { run: "query.flowRunId" }),

  // Automations, notification channels, webhooks
  "POST /api/automations": need("automations:write"),
  "GET /api/automations": need("automations:read"),
  "GET /api/automations/:name": need("automations:read"),
  "GET /api/automations/:name/firings": need("automations:read"),
  "PUT /api/automations/:name": need("automations:write"),
  "PATCH /api/automations/:name": need("automations:write"),
  "POST /api/automations/:name/pause": need("automations:write"),
  "POST /api/automations/:name/resume": need("automations:write"),
  "DELETE /api/automations/:name": need("automations:write"),
  "POST /api/notification-channels": need("channels:write"),
  "GET /api/notification-channels": need("channels:read"),
  "GET /api/notification-channels/:name": need("channels:read"),
  "PUT /api/notification-channels/:name": need("channels:write"),
  "DELETE /api/notification-channels/:name": need("channels:write"),
  "POST /api/notification-channels/:name/test": need("channels:write"),
  "POST /api/webhooks": need("webhooks:manage"),
  "GET /api/webhooks": need("webhooks:manage"),
  "GET /api/webhooks/:slug": need("webhooks:manage"),
  "DELETE /api/webhooks/:slug": need("webhooks:manage"),
  "POST /api/webhooks/:slug": pub("calling a webhook: its slug is the secret"),

  // API keys and accounts
  "GET /api/api-keys": need("access:admin"),
  "POST /api/api-keys": need("access:admin"),
  "POST /api/api-keys/:id/revoke": need("access:admin"),
  "GET /api/accounts": need("access:admin"),
  "POST /api/accounts": need("access:admin"),
  "DELETE /api/accounts/:name": need("access:admin"),
};

/** The rule of `method url` (a registered route's path), or undefined when the table lacks it. */
export function ruleOf(method: string, url: string): RouteRule | undefined {
  // HEAD is answered by the GET route.
  return ROUTE_PERMISSIONS[`${method === "HEAD" ? "GET" : method} ${url}`];
}
