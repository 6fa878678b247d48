/** Dashboard sign-in and sign-out: an API key exchanged for a session cookie (see sessions.ts). */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ApiKeyRole } from "../api-keys.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { SessionSchema, SignInSchema, type SessionInfo, type SignIn } from "../../schemas/session.ts";
import { sessionCookie, sessionToken, type Sessions } from "../sessions.ts";
import type { SignInLimiter } from "../sign-in-limiter.ts";
import { staticKeyId } from "../principal.ts";

const sessionAnswer = jsonSchema(SessionSchema);

/**
 * Whether the dashboard was reached over HTTPS, here or at a proxy that says so: its cookie is
 * then Secure. A forged header can only make a client's own cookie Secure, which its browser
 * then drops over plain HTTP.
 */
function viaHttps(request: FastifyRequest): boolean {
  return request.protocol === "https" || String(request.headers["x-forwarded-proto"] ?? "").split(",")[0]!.trim() === "https";
}

export function sessionRoutes(app: FastifyInstance, keys: ReadonlyMap<string, ApiKeyRole>, sessions: Sessions, limiter: SignInLimiter): void {
  app.post<{ Body: SignIn; Reply: SessionInfo }>(
    "/api/session",
    {
      config: { access: { roles: "public" } },
      schema: {
        tags: ["server"],
        summary: "Sign in (the dashboard): exchange an API key for a session cookie (HttpOnly, SameSite=Strict) that carries the key's role",
        body: jsonSchema(SignInSchema),
        response: { 200: sessionAnswer, ...errorResponses(400, 401, 429) },
      },
    },
    async (request, reply) => {
      if (keys.size === 0) return { role: "admin", keysRequired: false };
      const waitMs = limiter.waitMs(request.ip);
      if (waitMs > 0) {
        reply.header("retry-after", String(Math.ceil(waitMs / 1000)));
        throw new ApiError(429, "TOO_MANY_SIGN_INS", `too many failed sign-ins from ${request.ip}; try again in ${Math.ceil(waitMs / 1000)} s`);
      }
      const role = keys.get(request.body.apiKey);
      if (!role) {
        limiter.failed(request.ip);
        throw new ApiError(401, "UNAUTHORIZED", "body.apiKey: this API key is not valid on this server");
      }
      request.apiKeyRole = role;
      // The audit's sign-in entry names the key that signed in (the route itself is public).
      const keyId = staticKeyId(request.body.apiKey);
      request.principal = { kind: "static-key", id: keyId, name: `${role} key ${keyId}`, role };
      reply.header("set-cookie", sessionCookie(sessions.open(role), { secure: viaHttps(request), maxAgeSeconds: sessions.lifetimeSeconds }));
      return { role, keysRequired: true };
    },
  );

  app.get(
    "/api/session",
    { schema: { tags: ["server"], summary: "The caller's role (401 when it has neither a key nor a session)", response: { 200: sessionAnswer, ...errorResponses(401) } } },
    async (request) => ({ role: request.apiKeyRole, keysRequired: keys.size > 0 }),
  );

  app.delete(
    "/api/session",
    {
      // Public: signing out must work with a session that already expired.
      config: { access: { roles: "public" } },
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
