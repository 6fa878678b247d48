/**
 * Access control, in one place. Every request to a route is checked against its line of the
 * route table (route-permissions.ts) and the role table (core/permissions.ts):
 *   1. onRequest: who the caller is — a bearer key (static or stored) or a session cookie — and
 *      whether the role holds the route's permission (401 without a credential, 403 without the
 *      permission); before the body is read, so a refused request costs no parsing;
 *   2. preValidation: body fields only an admin may set (`config.access.adminFields`);
 *   3. preHandler, on the validated request: a worker key writes only to the runs workers claimed
 *      (`config.access.workerRuns`, worker-runs.ts), and a scoped key reaches only what is in its
 *      scope (scopes.ts);
 *   4. preSerialization: a scoped key's lists are filtered to its scope.
 * Paths outside /api (the dashboard's files and page fallback) are public, but for those the
 * route table lists (GET /metrics). With authentication off (no BATON_AUTH=on and no static keys) every caller is an admin and nothing is checked.
 * A route missing from the table is refused to all but admins (and fails the route-matrix test).
 * Wrong bearer keys are rate limited per client address, as failed sign-ins are.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CallerRole } from "./api-keys.ts";
import { holds, rolesWith, type Permission, type Role } from "../core/permissions.ts";
import { ApiError, sendError } from "./errors.ts";
import { sessionToken, type Sessions } from "./sessions.ts";
import type { NamedRun, WorkerRuns } from "./worker-runs.ts";
import { ANONYMOUS, OPEN_SERVER_ADMIN, type Principal } from "./principal.ts";
import { ruleOf, type RouteRule } from "./route-permissions.ts";
import type { Authenticator } from "./authenticator.ts";
import { isScoped, type ScopeGuard } from "./scopes.ts";
import type { SignInLimiter } from "./sign-in-limiter.ts";

export interface RouteAccess {
  /**
   * Body fields only an admin may set, each with why (the 403 says it). A field is set when it
   * holds anything but null or false. `workerMay` names bodies a worker key may set it in too.
   */
  adminFields?: Readonly<Record<string, string | { why: string; workerMay(body: Record<string, unknown>): boolean }>>;
  /** The flow runs a call writes to, read from the validated request (a worker key's must be workers' runs; a scoped key's in its scope). */
  workerRuns?: (request: FastifyRequest) => readonly NamedRun[];
}

declare module "fastify" {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The principal's role (`anonymous` on public routes). */
    apiKeyRole: CallerRole;
    /** Who made the request (principal.ts). */
    principal: Principal;
  }
}

/** The flow run named by the path parameter `name`. */
export function runInParams(name: string): (request: FastifyRequest) => NamedRun[] {
  return (request) => [{ field: `params.${name}`, id: (request.params as Record<string, string>)[name] ?? null }];
}

/** The flow run named by the body field `name` (`null` when the body has none). */
export function runInBody(name: string): (request: FastifyRequest) => NamedRun[] {
  return (request) => [{ field: `body.${name}`, id: ((request.body ?? {}) as Record<string, string | null | undefined>)[name] ?? null }];
}

/** Whether the path is the API's rather than the dashboard's. */
export function isApiPath(path: string): boolean {
  return path === "/api" || path.startsWith("/api/") || path.startsWith("/api?");
}

/** One line of the access table: what `buildServer` registered and its rule (undefined: missing from the table). */
export interface RouteRoles {
  method: string;
  url: string;
  rule: RouteRule | undefined;
}

export interface AccessOptions {
  /** false: no credential needed, everyone is an admin. */
  authRequired: boolean;
  authenticator: Authenticator;
  sessions: Sessions;
  workerRuns: WorkerRuns;
  scopes: ScopeGuard;
  /** Wrong bearer keys per client address. */
  badKeys: SignInLimiter;
}

const PUBLIC: RouteRule = { public: "outside the API" };

/** The rule of a request: its route's line, public outside /api; null for an unknown path under /api (a 404 once authenticated). */
function requestRule(request: FastifyRequest): RouteRule | undefined | null {
  const url = request.routeOptions.url;
  if (url === undefined) return isApiPath(request.url) ? null : PUBLIC;
  // Outside /api, only what the table lists is checked (GET /metrics).
  if (!isApiPath(url)) return ruleOf(request.method, url) ?? PUBLIC;
  return ruleOf(request.method, url);
}

function needs(roles: readonly Role[]): string {
  return `${roles.length > 1 ? `an ${roles.slice(0, -1).join(", ")} or ${roles.at(-1)}` : `an ${roles[0]}`} API key`;
}

function credential(principal: Principal): string {
  return principal.kind === "account" ? `account is a ${principal.role} account` : `key is a ${principal.role} key`;
}

/** Why `principal` may not call the request's route, or null when it may. */
function refusal(request: FastifyRequest, rule: RouteRule | undefined | null, principal: Principal): string | null {
  if (rule === null || (rule && "public" in rule)) return null;
  const route = `${request.method} ${request.routeOptions.url}`;
  if (rule === undefined)
    return principal.role === "admin" ? null : `${route} has no line in the route permission table (src/server/route-permissions.ts), so only admins may call it; this request's ${credential(principal)}`;
  if (rule.permission === "signed-in" || principal.role === "anonymous") return null;
  const permission: Permission = rule.permission;
  if (holds(principal.role, principal.grants, permission)) return null;
  return `${route} needs ${needs(rolesWith(permission))}; this request's ${credential(principal)} (the route needs the permission ${permission})`;
}

/**
 * Installs the checks and returns the access table, filled as routes are registered (call this
 * before registering any).
 */
export function installAccessControl(app: FastifyInstance, options: AccessOptions): RouteRoles[] {
  const { authRequired, authenticator, sessions, workerRuns, scopes, badKeys } = options;
  const table: RouteRoles[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) table.push({ method, url: route.url, rule: isApiPath(route.url) ? ruleOf(method, route.url) : (ruleOf(method, route.url) ?? PUBLIC) });
  });
  app.decorateRequest("apiKeyRole", authRequired ? "anonymous" : "admin");
  app.decorateRequest("principal", null as unknown as Principal);
  if (!authRequired) {
    app.addHook("onRequest", (request, _reply, done) => {
      request.principal = OPEN_SERVER_ADMIN;
      done();
    });
    return table;
  }

  const admit = (request: FastifyRequest, reply: FastifyReply, rule: RouteRule | undefined | null, principal: Principal, done: () => void) => {
    request.principal = principal;
    request.apiKeyRole = principal.role;
    const refused = refusal(request, rule, principal);
    if (refused === null) return done();
    const permission = rule && "permission" in rule ? rule.permission : null;
    sendError(reply, 403, "FORBIDDEN", refused, { role: principal.role, permission, allowed: permission && permission !== "signed-in" ? rolesWith(permission) : ["admin"] });
  };
  const unauthorized = (reply: FastifyReply, message = "this server requires an API key: send Authorization: Bearer <key>, or sign in to the dashboard (with a key or an account)") =>
    sendError(reply, 401, "UNAUTHORIZED", message);

  app.addHook("onRequest", (request: FastifyRequest, reply: FastifyReply, done) => {
    const rule = requestRule(request);
    request.principal = ANONYMOUS;
    request.apiKeyRole = "anonymous";
    if (rule && "public" in rule) return done();
    const header = request.headers.authorization;
    // A wrong header is not rescued by a cookie: the caller meant the key it sent.
    if (header === undefined) {
      const token = sessionToken(request.headers.cookie);
      const principal = token ? sessions.principalOf(token) : null;
      if (!principal) return void unauthorized(reply);
      return admit(request, reply, rule, principal, done);
    }
    const waitMs = badKeys.waitMs(request.ip);
    if (waitMs > 0) {
      reply.header("retry-after", String(Math.ceil(waitMs / 1000)));
      return void sendError(reply, 429, "TOO_MANY_BAD_KEYS", `too many wrong API keys from ${request.ip}; try again in ${Math.ceil(waitMs / 1000)} s`);
    }
    const key = header.startsWith("Bearer ") ? header.slice(7) : null;
    const fixed = key === null ? undefined : authenticator.staticKey(key);
    if (fixed) return admit(request, reply, rule, fixed, done);
    const refuse = () => {
      badKeys.failed(request.ip);
      unauthorized(reply, key === null ? "the Authorization header must be Bearer <API key>" : "this API key is not valid on this server (unknown, revoked or expired)");
    };
    if (key === null || !authenticator.looksStored(key)) return refuse();
    authenticator.storedKey(key).then(
      (principal) => (principal ? admit(request, reply, rule, principal, done) : refuse()),
      (error: Error) => reply.send(error),
    );
  });

  // Before validation: a field the caller may not set is refused whatever its value.
  app.addHook("preValidation", (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    const role = request.apiKeyRole;
    const fields = request.routeOptions.config.access?.adminFields;
    if (role === "admin" || role === "anonymous" || !fields) return done();
    const body = (typeof request.body === "object" && request.body !== null ? request.body : {}) as Record<string, unknown>;
    for (const [field, rule] of Object.entries(fields)) {
      if (body[field] === undefined || body[field] === null || body[field] === false) continue;
      if (typeof rule === "string") return done(new ApiError(403, "FORBIDDEN", `body.${field}: only an admin API key may set it (${rule}); this request's ${credential(request.principal)}`));
      if (role !== "worker" || !rule.workerMay(body)) return done(new ApiError(403, "FORBIDDEN", `body.${field}: only an admin API key may set it (${rule.why}); this request's ${credential(request.principal)}`));
    }
    done();
  });
  // After validation: the runs' ids are well-formed.
  app.addHook("preHandler", (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    const named = request.routeOptions.config.access?.workerRuns;
    const scoped = isScoped(request.principal.scope) ? request.principal.scope : null;
    if (!scoped && (request.apiKeyRole !== "worker" || !named)) return done();
    const check = async () => {
      if (request.apiKeyRole === "worker" && named) await workerRuns.require(named(request));
      const rule = requestRule(request);
      // null: no such route, which answers its own 404.
      if (scoped && rule !== null) await scopes.require(scoped, rule && "permission" in rule ? rule.scope : undefined, request, () => (named ? named(request) : null));
    };
    check().then(() => done(), done);
  });
  // A scoped key's lists hold only what is in its scope.
  app.addHook("preSerialization", (request: FastifyRequest, _reply: FastifyReply, payload: unknown, done: (error: Error | null, payload?: unknown) => void) => {
    const scope = request.principal?.scope;
    const rule = isScoped(scope) ? requestRule(request) : undefined;
    if (!isScoped(scope) || !rule || !("permission" in rule) || typeof rule.scope !== "string" || !rule.scope.startsWith("list:")) return done(null, payload);
    done(null, scopes.filter(rule.scope, payload, scope));
  });
  return table;
}
