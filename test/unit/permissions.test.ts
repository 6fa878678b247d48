/**
 * The role table, checked against the definitions of the roles (written out here, one
 * principle at a time, not read back from the module), the route table's permissions, and the
 * key format and hashing.
 */
import { describe, expect, it } from "vitest";
import { ALL_PERMISSIONS, can, extraGrants, holds, PERMISSIONS, permissionsOf, ROLE_NAMES, ROLE_PERMISSIONS, rolesWith, type Permission, type Role } from "../../src/core/permissions.ts";
import { hashSecret, newApiKey, parseApiKey, parseExpiry, verifySecret } from "../../src/core/credentials.ts";
import { ROUTE_PERMISSIONS, ruleOf } from "../../src/server/route-permissions.ts";

const [resource, action] = [(p: Permission) => p.split(":")[0]!, (p: Permission) => p.split(":")[1]!];

/** What the issue says each role may do, as a predicate over permissions. */
function expected(role: Role, p: Permission): boolean {
  const read = action(p) === "read";
  switch (role) {
    // Everything, including keys, accounts and secret values.
    case "admin":
      return true;
    // Flows, deployments, runs, variables, automations; secret names but not values. Not a worker,
    // nor an admin of access, nor a reader of the audit log (admin only, as the Audit page),
    // nor a bulk pruner of runs (admin only, as issue 14's run retention).
    case "developer":
      return !["access:admin", "audit:inspect", "runs:prune", "secrets:values", "secrets:write", "work:claim"].includes(p);
    // Run, cancel, retry, pause and resume runs and deployments; no definition changes (reads like a viewer, plus results).
    case "operator":
      return read || p === "runs:operate" || p === "deployments:operate";
    // Read only, no secret values, no results.
    case "viewer":
      return read && p !== "results:read";
    // Claim and report runs of its pools, read the secrets those runs reference (and what running them reads).
    case "worker":
      return (
        ["work:claim", "runs:write", "limits:use", "secrets:values", "variables:write"].includes(p) ||
        (read && ["flows", "runs", "results", "deployments", "pools", "limits", "variables"].includes(resource(p)))
      );
  }
}

describe("the role table", () => {
  it("gives every role exactly what the issue defines, for every permission", () => {
    for (const role of ROLE_NAMES) for (const p of ALL_PERMISSIONS) expect(can(role, p), `${role} ${p}`).toBe(expected(role, p));
  });

  it("never lets anyone but an admin read secret values (workers: those their runs reference, checked per run) nor manage access", () => {
    expect(rolesWith("secrets:values")).toEqual(["admin", "worker"]);
    expect(rolesWith("access:admin")).toEqual(["admin"]);
    // A webhook's slug is its secret: only those who may manage webhooks read them.
    expect(rolesWith("webhooks:manage")).toEqual(["admin", "developer"]);
    // Nothing is writable by a viewer.
    expect(ALL_PERMISSIONS.filter((p) => can("viewer", p) && action(p) !== "read")).toEqual([]);
  });

  it("describes every permission", () => {
    for (const p of ALL_PERMISSIONS) expect(PERMISSIONS[p].length).toBeGreaterThan(5);
  });
});

describe("grants on top of a role", () => {
  it("add what they name and nothing else; what the role holds is not a grant", () => {
    expect(holds("viewer", [], "results:read")).toBe(false);
    expect(holds("viewer", ["results:read"], "results:read")).toBe(true);
    expect(holds("viewer", ["results:read"], "runs:write")).toBe(false);
    expect(permissionsOf("viewer", ["results:read"])).toEqual([...ROLE_PERMISSIONS.viewer, "results:read" as Permission].sort((a, b) => ALL_PERMISSIONS.indexOf(a) - ALL_PERMISSIONS.indexOf(b)));
    expect(extraGrants("viewer", ["runs:read", "results:read", "results:read"])).toEqual(["results:read"]);
    expect(extraGrants("admin", ["results:read"])).toEqual([]);
  });
});

describe("the route table", () => {
  it("names only permissions that exist, and keeps public routes to sign-in, health, the API's description and webhooks", () => {
    const publicRoutes: string[] = [];
    for (const [route, rule] of Object.entries(ROUTE_PERMISSIONS)) {
      // The API, and Prometheus' scrape at its conventional path.
      expect(route).toMatch(/^(GET|POST|PUT|PATCH|DELETE) \/api\/|^GET \/metrics$/);
      if ("public" in rule) publicRoutes.push(route);
      else if (rule.permission !== "signed-in") expect(ALL_PERMISSIONS, route).toContain(rule.permission);
    }
    expect(publicRoutes.sort()).toEqual(["DELETE /api/session", "GET /api/health", "GET /api/openapi.json", "POST /api/session", "POST /api/webhooks/:slug"]);
  });

  it("answers HEAD with the GET route's rule, and nothing for a route it lacks", () => {
    expect(ruleOf("HEAD", "/api/flow-runs")).toEqual(ruleOf("GET", "/api/flow-runs"));
    expect(ruleOf("GET", "/api/no-such-route")).toBeUndefined();
  });

  it("keeps every mutating route away from viewers", () => {
    for (const [route, rule] of Object.entries(ROUTE_PERMISSIONS))
      // A POST that only computes (a schedule's preview) needs a read: not a mutation.
      if (!route.startsWith("GET ") && "permission" in rule && rule.permission !== "signed-in" && !rule.permission.endsWith(":read"))
        expect(can("viewer", rule.permission), route).toBe(false);
  });
});

describe("API keys and hashing", () => {
  it("makes keys baton_<12 base32>_<43 base64url> that parse back, each different", () => {
    const keys = Array.from({ length: 50 }, () => newApiKey());
    for (const k of keys) {
      expect(k.key).toMatch(/^baton_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
      expect(parseApiKey(k.key)).toEqual({ prefix: k.prefix, secret: k.secret });
    }
    expect(new Set(keys.map((k) => k.prefix)).size).toBe(50);
  });

  it("refuses text of another shape (a static key, a truncated or padded key, a bad prefix)", () => {
    const { key } = newApiKey();
    for (const text of ["admin-secret-1", key.slice(0, -1), `${key}x`, key.replace("baton_", "batan_"), `baton_ABCDEFGHIJKL_${key.slice(-43)}`, `${key.slice(0, 18)}-${key.slice(19)}`])
      expect(parseApiKey(text), text).toBeNull();
  });

  it("hashes with scrypt and a salt: the hash holds neither the secret nor repeats, and verifies only the secret", async () => {
    const secret = newApiKey().secret;
    const [a, b] = await Promise.all([hashSecret(secret), hashSecret(secret)]);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret);
    expect(await verifySecret(secret, a)).toBe(true);
    expect(await verifySecret(secret, b)).toBe(true);
    expect(await verifySecret(`${secret}x`, a)).toBe(false);
    expect(await verifySecret(secret, "plain$text")).toBe(false);
    expect(await verifySecret(secret, a.replace("$16384$", "$0$"))).toBe(false);
  });

  it("reads expiries as 30m, 12h, 90d, 2w and refuses anything else naming the option", () => {
    expect(parseExpiry("90d")).toBe(90);
    expect(parseExpiry("2w")).toBe(14);
    expect(parseExpiry("12h")).toBe(0.5);
    expect(parseExpiry("30m")).toBeCloseTo(30 / 1440);
    for (const bad of ["90", "d", "-1d", "0d", "1y", "999999d"]) expect(() => parseExpiry(bad), bad).toThrow(/^--expires must be/);
  });
});
