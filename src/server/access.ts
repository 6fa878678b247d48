/**
 * Who may call what. Each route declares it in its config (`config: { access: {...} }`); a route
 * that declares nothing gets the default:
 *   - paths outside /api (the dashboard's files and its page fallback): public, no key;
 *   - GET and HEAD: every key role (admin and worker);
 *   - every other method: admin keys only.
 * A route open to worker keys may further name the flow runs the call writes to
 * (`workerRuns`): with a worker key each must be a run a worker claimed or a descendant of one
 * (worker-runs.ts), else 403; and body fields only an admin may set (`adminFields`), else 403
 * naming the field. With no keys configured every caller is an admin.
 *
 * Keys arrive as `Authorization: Bearer <key>` or, from the dashboard, as a session cookie
 * (sessions.ts). The key and the role are checked before the body is read (an unauthenticated
 * request costs no parsing), the fields once it is parsed, the runs once it is validated.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ApiKeyRole, CallerRole } from "./api-keys.ts";
import { ApiError, sendError } from "./errors.ts";
import { sessionToken, type Sessions } from "./sessions.ts";
import type { NamedRun, WorkerRuns } from "./worker-runs.ts";
import { createHash } from "node:crypto";
import { ANONYMOUS, OPEN_SERVER_ADMIN, type Principal } from "./principal.ts";

export interface RouteAccess {
  /** The key roles that may call the route, or "public" (no key needed). */
  roles?: readonly ApiKeyRole[] | "public";
  /** Body fields only an admin key may set, each with why (the 403 says it). A field is set when it holds anything but null or false. */
  adminFields?: Readonly<Record<string, string>>;
  /** The flow runs a call with a worker key writes to, read from the validated request. */
  workerRuns?: (request: FastifyRequest) => readonly NamedRun[];
}

declare module "fastify" {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    apiKeyRole: CallerRole;
    /** Who made the request (principal.ts); its role is `apiKeyRole`. */
    principal: Principal;
  }
}

/** Routes open to worker keys as well as admins. */
export const ADMIN_AND_WORKER: readonly ApiKeyRole[] = ["admin", "worker"];

/** The flow run named by the path parameter `name`. */
export function runInParams(name: string): (request: FastifyRequest) => NamedRun[] {
  return (request) => [{ field: `params.${name}`, id: (request.params as Record<string, string>)[name] ?? null }];
}

/** The flow run named by the body field `name` (`null` when the body has none). */
export function runInBody(name: string): (request: FastifyRequest) => NamedRun[] {
  return (request) => [{ field: `body.${name}`, id: ((request.body ?? {}) as Record<string, string | null | undefined>)[name] ?? null }];
}

/** Whether the path is the API's rather than the dashboard's. */
function isApiPath(path: string): boolean {
  return path === "/api" || path.startsWith("/api/") || path.startsWith("/api?");
}

/** The roles that may call `method url`: its declared access, else the default. */
export function rolesOf(method: string, url: string, access: RouteAccess | undefined): readonly ApiKeyRole[] | "public" {
  if (access?.roles) return access.roles;
  if (!isApiPath(url)) return "public";
  return method === "GET" || method === "HEAD" ? ADMIN_AND_WORKER : ["admin"];
}

/** One line of the access table: what `buildServer` registered and who may call it. */
export interface RouteRoles {
  method: string;
  url: string;
  roles: readonly ApiKeyRole[] | "public";
}

function needs(roles: readonly ApiKeyRole[]): string {
  return `${roles.length > 1 ? `an ${roles.slice(0, -1).join(", ")} or ${roles.at(-1)}` : `an ${roles[0]}`} API key`;
}

/**
 * Installs the checks and returns the access table, filled as routes are registered (call this
 * before registering any). `keys` maps each secret to its role; empty: no authentication.
 */
export function installAccessControl(app: FastifyInstance, keys: ReadonlyMap<string, ApiKeyRole>, sessions: Sessions, workerRuns: WorkerRuns): RouteRoles[] {
  const table: RouteRoles[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) table.push({ method, url: route.url, roles: rolesOf(method, route.url, route.config?.access) });
  });
  // Without keys every caller is an admin, and there is nothing to check on any request.
  app.decorateRequest("apiKeyRole", keys.size === 0 ? "admin" : "anonymous");
  app.decorateRequest("principal", null as unknown as Principal);
  if (keys.size === 0) {
    app.addHook("onRequest", (request, _reply, done) => {
      request.principal = OPEN_SERVER_ADMIN;
      done();
    });
    return table;
  }
  // A static key is named by a short hash of it: the audit can tell keys apart without holding them.
  const keyIds = new Map([...keys.keys()].map((key) => [key, createHash("sha256").update(key).digest("hex").slice(0, 12)]));

  /** The caller's role from its bearer key or session cookie; null when it has neither, or a wrong one. */
  const authenticate = (request: FastifyRequest): ApiKeyRole | null => {
    const header = request.headers.authorization;
    // A wrong header is not rescued by a cookie: the caller meant the key it sent.
    if (header !== undefined) return header.startsWith("Bearer ") ? (keys.get(header.slice(7)) ?? null) : null;
    const token = sessionToken(request.headers.cookie);
    return token ? sessions.roleOf(token) : null;
  };

  app.addHook("onRequest", (request: FastifyRequest, reply: FastifyReply, done) => {
    const url = request.routeOptions.url;
    // No route: the dashboard's page fallback outside /api (public), a 404 inside it (after the key).
    const roles = url === undefined ? (isApiPath(request.url) ? null : "public") : rolesOf(request.method, url, request.routeOptions.config.access);
    request.principal = ANONYMOUS;
    if (roles === "public") return done();
    const role = authenticate(request);
    if (!role) {
      sendError(reply, 401, "UNAUTHORIZED", "this server requires an API key: send Authorization: Bearer <key>, or sign in to the dashboard");
      return;
    }
    request.apiKeyRole = role;
    const header = request.headers.authorization;
    const keyId = header === undefined ? undefined : keyIds.get(header.slice(7));
    request.principal = keyId ? { kind: "static-key", id: keyId, name: `${role} key ${keyId}`, role } : { kind: "static-key", id: null, name: `${role} session`, role };
    if (roles && !roles.includes(role)) {
      sendError(reply, 403, "FORBIDDEN", `${request.method} ${url} needs ${needs(roles)}; this request's key is a ${role} key`, { role, allowed: roles });
      return;
    }
    done();
  });

  // Before validation: a field the key may not set is refused whatever its value.
  app.addHook("preValidation", (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    const role = request.apiKeyRole;
    const fields = request.routeOptions.config.access?.adminFields;
    if (role === "admin" || role === "anonymous" || !fields) return done();
    const body = (typeof request.body === "object" && request.body !== null ? request.body : {}) as Record<string, unknown>;
    for (const [field, why] of Object.entries(fields))
      if (body[field] !== undefined && body[field] !== null && body[field] !== false)
        return done(new ApiError(403, "FORBIDDEN", `body.${field}: only an admin API key may set it (${why}); this request's key is a ${role} key`));
    done();
  });
  // After validation: the runs' ids are well-formed.
  app.addHook("preHandler", (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    const named = request.routeOptions.config.access?.workerRuns;
    if (request.apiKeyRole !== "worker" || !named) return done();
    workerRuns.require(named(request)).then(() => done(), done);
  });
  return table;
}
