/** Dashboard sign-in and sign-out: an API key, or an account's name and password, exchanged for a session cookie (see sessions.ts). */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ALL_PERMISSIONS, permissionsOf } from "../../core/permissions.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { SessionSchema, SignInSchema, type SessionInfo, type SignIn } from "../../schemas/session.ts";
import { sessionCookie, sessionToken, type Sessions } from "../sessions.ts";
import type { SignInLimiter } from "../sign-in-limiter.ts";
import type { Authenticator } from "../authenticator.ts";
import type { Principal } from "../principal.ts";

const sessionAnswer = jsonSchema(SessionSchema);

/**
 * Whether the dashboard was reached over HTTPS, here or at a proxy that says so: its cookie is
 * then Secure. A forged header can only make a client's own cookie Secure, which its browser
 * then drops over plain HTTP.
 */
function viaHttps(request: FastifyRequest): boolean {
  return request.protocol === "https" || String(request.headers["x-forwarded-proto"] ?? "").split(",")[0]!.trim() === "https";
}

/** What the dashboard learns of who is signed in: the role, its permissions, a key's scope. */
function sessionInfo(principal: Principal, keysRequired: boolean): SessionInfo {
  if (!keysRequired || principal.role === "anonymous") return { role: "admin", keysRequired, permissions: [...ALL_PERMISSIONS] };
  return { role: principal.role, keysRequired, name: principal.name, permissions: permissionsOf(principal.role, principal.grants), scope: principal.scope ?? null };
}

export function sessionRoutes(app: FastifyInstance, authRequired: boolean, authenticator: Authenticator, sessions: Sessions, limiter: SignInLimiter): void {
  /** Who the body names, or null when its credential is wrong. */
  const signIn = async (body: SignIn): Promise<{ principal: Principal | null; field: string; wrong: string }> => {
    if (body.apiKey !== undefined) {
      if (body.username !== undefined || body.password !== undefined) throw new ApiError(400, "VALIDATION_ERROR", "body: send either apiKey, or username and password, not both");
      const principal = authenticator.staticKey(body.apiKey) ?? (await authenticator.storedKey(body.apiKey));
      return { principal, field: "body.apiKey", wrong: "this API key is not valid on this server" };
    }
    if (body.username === undefined) throw new ApiError(400, "VALIDATION_ERROR", "body.apiKey or body.username is required: sign in with an API key, or with an account's user name and password");
    if (body.password === undefined) throw new ApiError(400, "VALIDATION_ERROR", "body.password is required with body.username");
    return { principal: await authenticator.account(body.username, body.password), field: "body.password", wrong: "wrong user name or password" };
  };

  app.post<{ Body: SignIn; Reply: SessionInfo }>(
    "/api/session",
    {
      schema: {
        tags: ["server"],
        summary: "Sign in (the dashboard): exchange an API key, or an account's user name and password, for a session cookie (HttpOnly, SameSite=Strict)",
        body: jsonSchema(SignInSchema),
        response: { 200: sessionAnswer, ...errorResponses(400, 429), 401: { ...errorResponses(401)[401], description: "body.apiKey is not a key this server knows" } },
      },
    },
    async (request, reply) => {
      if (!authRequired) return sessionInfo(request.principal, false);
      const waitMs = limiter.waitMs(request.ip);
      if (waitMs > 0) {
        reply.header("retry-after", String(Math.ceil(waitMs / 1000)));
        throw new ApiError(429, "TOO_MANY_SIGN_INS", `too many failed sign-ins from ${request.ip}; try again in ${Math.ceil(waitMs / 1000)} s`);
      }
      const { principal, field, wrong } = await signIn(request.body);
      if (!principal) {
        limiter.failed(request.ip);
        throw new ApiError(401, "UNAUTHORIZED", `${field}: ${wrong}`);
      }
      // Who signed in, for the audit of this request.
      request.principal = principal;
      request.apiKeyRole = principal.role;
      reply.header("set-cookie", sessionCookie(sessions.open(principal), { secure: viaHttps(request), maxAgeSeconds: sessions.lifetimeSeconds }));
      return sessionInfo(principal, true);
    },
  );

  app.get(
    "/api/session",
    { schema: { tags: ["server"], summary: "Who the caller is: role, permissions, scope (401 when it has neither a key nor a session)", response: { 200: sessionAnswer, ...errorResponses(401) } } },
    async (request) => sessionInfo(request.principal, authRequired),
  );

  app.delete(
    "/api/session",
    {
      schema: { tags: ["server"], summary: "Sign out: ends the session and removes its cookie", response: { 204: { type: "null" } } },
    },
    async (request, reply) => {
      const token = sessionToken(request.headers.cookie);
      if (token) sessions.close(token);
      reply.header("set-cookie", sessionCookie(null, { secure: viaHttps(request), maxAgeSeconds: 0 }));
      return reply.status(204).send();
    },
  );
}
