/**
 * Roles and what each may do. A role is a set of permissions; an API route requires one
 * permission (server/route-permissions.ts), so "who may call what" is this table times that
 * one, and nothing else. Pure data: the server checks it, `GET /api/session` hands a caller its
 * list, and the dashboard hides what the list lacks.
 */

/** Every permission, each with what it opens. */
export const PERMISSIONS = {
  /** Read flows. */
  "flows:read": "list and read flows",
  /** Register a flow (what `baton run` and remote flows do first). */
  "flows:write": "register flows",
  /** Read flow runs and what hangs off them: task runs, states, logs, artifacts, inputs, the live feed, statistics. */
  "runs:read": "read flow runs, task runs, logs, artifacts and statistics",
  /** Read the results of tasks and the task cache (data a viewer may not see unless granted). */
  "results:read": "read task results and cache entries",
  /** What the engine writes while a flow runs: create runs, move states, batches, logs, artifacts, pauses. */
  "runs:write": "create flow runs and report their progress",
  /** People acting on runs: cancel, retry, resume with input. */
  "runs:operate": "cancel, retry and resume flow runs",
  /** Delete a flow run and everything it owns. */
  "runs:delete": "delete flow runs",
  /** Admins only: delete every finished run older than a cut-off at once (run retention). */
  "runs:prune": "delete finished flow runs older than a cut-off, in bulk",
  "deployments:read": "list and read deployments",
  /** Create, change and delete deployments (their definitions). */
  "deployments:write": "create, change and delete deployments",
  /** Start a deployment's run; pause and resume a deployment or one of its schedules. */
  "deployments:operate": "run, pause and resume deployments",
  "pools:read": "list and read work pools, their queues and workers",
  "pools:write": "create and delete work pools and queues",
  /** What a worker does: register, heartbeat, claim the due runs of a pool. */
  "work:claim": "register as a worker and claim runs",
  "limits:read": "list and read concurrency limits",
  "limits:write": "create, reset and delete concurrency limits",
  /** Take, renew and give back slots of concurrency limits (tasks with a limit do). */
  "limits:use": "acquire and release concurrency slots",
  "variables:read": "list and read variables",
  "variables:write": "set variables",
  "variables:delete": "delete variables",
  /** Secret names and times, never values. */
  "secrets:read": "list secret names",
  /** Secret values (a worker: only those its runs' job variables reference). */
  "secrets:values": "read secret values",
  "secrets:write": "set and delete secrets",
  "events:read": "read and follow the event log",
  "events:write": "emit events",
  "automations:read": "list and read automations and their firings",
  "automations:write": "create, change, pause and delete automations",
  "channels:read": "list and read notification channels",
  "channels:write": "create, change, test and delete notification channels",
  /** Webhooks, read or written: a webhook's slug is the secret that lets anyone post to it. */
  "webhooks:manage": "list, read, create and delete webhooks",
  /** API keys and accounts. */
  "access:admin": "create, list and revoke API keys and accounts",
  /** Prometheus' scrape of `GET /metrics`: counts by flow, pool and state, no run's data. */
  "metrics:read": "scrape the server's Prometheus metrics",
  /** Admins only: who did what is itself sensitive (and not a `:read`, which viewers hold). */
  "audit:inspect": "read the audit log, verify its chain, and download runs' compliance reports",
} as const;

export type Permission = keyof typeof PERMISSIONS;

export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];

/** The roles a key or an account carries. */
export const ROLES = {
  /** Everything, including keys, accounts and secret values. */
  admin: "everything, including API keys, accounts and secret values",
  /** Definitions and runs: flows, deployments, runs, variables, automations; secret names but not values. */
  developer: "flows, deployments, runs, variables and automations; secret names but not values",
  /** Acts on runs and deployments (run, cancel, retry, pause, resume); changes no definition. */
  operator: "run, cancel, retry, pause and resume runs and deployments; no definition changes",
  /** Reads everything but secret values and results; changes nothing. */
  viewer: "read only: no secret values, no results",
  /** Claims and reports the runs of its pools; reads the secrets those runs reference. */
  worker: "claim and report runs, read the secrets those runs reference",
} as const;

export type Role = keyof typeof ROLES;

export const ROLE_NAMES = Object.keys(ROLES) as Role[];

const READS: readonly Permission[] = ALL_PERMISSIONS.filter((p) => p.endsWith(":read"));
const without = (list: readonly Permission[], ...left: Permission[]) => list.filter((p) => !left.includes(p));

/** The one role → permissions table. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set(ALL_PERMISSIONS),
  developer: new Set(without(ALL_PERMISSIONS, "access:admin", "audit:inspect", "runs:prune", "secrets:values", "secrets:write", "work:claim")),
  operator: new Set([...READS, "runs:operate", "deployments:operate"]),
  viewer: new Set(without(READS, "results:read")),
  worker: new Set<Permission>([
    "flows:read",
    "runs:read",
    "results:read",
    "runs:write",
    "deployments:read",
    "pools:read",
    "work:claim",
    "limits:read",
    "limits:use",
    "variables:read",
    "variables:write",
    "secrets:values",
  ]),
};

/** Whether `role` holds `permission`. */
export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/**
 * Whether a key or account with `role` and `grants` holds `permission`. A grant adds one
 * permission to one key or account without a new role: a viewer that may read results
 * (`--grant results:read`), an operator that may also set variables.
 */
export function holds(role: Role, grants: readonly Permission[] | null | undefined, permission: Permission): boolean {
  return can(role, permission) || (grants?.includes(permission) ?? false);
}

/** Everything a key or account with `role` and `grants` holds, in the order of PERMISSIONS. */
export function permissionsOf(role: Role, grants: readonly Permission[] | null | undefined): Permission[] {
  return ALL_PERMISSIONS.filter((p) => holds(role, grants, p));
}

/** The permissions of `grants` that `role` lacks (what a grant really adds). */
export function extraGrants(role: Role, grants: readonly Permission[]): Permission[] {
  return [...new Set(grants)].filter((p) => !can(role, p));
}

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value);
}

/** The roles that hold `permission`, in the order of ROLES. */
export function rolesWith(permission: Permission): Role[] {
  return ROLE_NAMES.filter((role) => can(role, permission));
}

export function isRole(value: string): value is Role {
  return Object.hasOwn(ROLES, value);
}
