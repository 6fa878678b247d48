/**
 * `baton api-key create|ls|revoke`: stored API keys (on the database, or through the server with
 * an admin key). `create` prints the key once; the server keeps only its hash.
 */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { parseExpiry } from "../../core/credentials.ts";
import { ALL_PERMISSIONS, isPermission, isRole, PERMISSIONS, ROLE_NAMES, rolesWith, type Permission } from "../../core/permissions.ts";
import type { ApiKeyRecord } from "../../schemas/credential.ts";
import { openCredentials } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";

/** `a,b` → ["a", "b"] (empty items dropped). */
function names(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(",").map((s) => s.trim()).filter(Boolean);
  return list.length ? list : undefined;
}

/** `--deployments tag:x,tag:y` → ["x", "y"]; every item must say `tag:`. */
function deploymentTags(text: string | undefined): string[] | undefined {
  const items = names(text);
  if (!items) return undefined;
  return items.map((item) => {
    if (!item.startsWith("tag:") || item.length === 4) throw new BatonError(`--deployments takes tag:NAME items (the key sees deployments with one of these tags), got "${item}"`);
    return item.slice(4);
  });
}

/** `--grant results:read,variables:write` → the permissions, each checked. */
export function grantList(text: string | undefined): Permission[] | undefined {
  const items = names(text);
  if (!items) return undefined;
  return items.map((item) => {
    if (!isPermission(item)) throw new BatonError(`--grant takes permissions (baton api-key permissions lists them), got "${item}"`);
    return item;
  });
}

/** A key's or account's role with what is granted on top: `viewer + results:read`. */
export function roleText(record: { role: string; grants: readonly string[] }): string {
  return record.grants.length ? `${record.role} + ${record.grants.join(", ")}` : record.role;
}

export function scopeText(key: Pick<ApiKeyRecord, "scope">): string {
  const parts = [];
  if (key.scope.pools) parts.push(`pools ${key.scope.pools.join(",")}`);
  if (key.scope.deploymentTags) parts.push(key.scope.deploymentTags.map((t) => `tag:${t}`).join(","));
  return parts.join(" ") || "all";
}

function status(key: ApiKeyRecord, now = Date.now()): string {
  if (key.revokedAt !== null) return `revoked ${time(key.revokedAt)}`;
  if (key.expiresAt !== null && key.expiresAt <= now) return `expired ${time(key.expiresAt)}`;
  return key.expiresAt === null ? "active" : `active until ${time(key.expiresAt)}`;
}

export function registerApiKey(program: Command): void {
  const cmd = program.command("api-key").description("API keys stored by the server (roles: admin, developer, operator, viewer, worker)");
  cmd
    .command("create")
    .description("create an API key and print it once (the server keeps only a hash of it)")
    .requiredOption("--name <name>", "what the key is for (shown in lists and the audit)")
    .requiredOption("--role <role>", `one of ${ROLE_NAMES.join(", ")}`)
    .option("--expires <duration>", "expire after this long: 90d, 12h, 2w (default: never)")
    .option("--pools <a,b>", "scope the key to these work pools")
    .option("--deployments <tag:x,...>", "scope the key to deployments with one of these tags")
    .option("--grant <permissions>", "permissions on top of the role, comma-separated (e.g. results:read for a viewer)")
    .option("--json", "print JSON (the key and its record)")
    .action(async (opts: { name: string; role: string; expires?: string; pools?: string; deployments?: string; grant?: string; json?: boolean }) => {
      if (!isRole(opts.role)) throw new BatonError(`--role must be one of ${ROLE_NAMES.join(", ")}, got "${opts.role}"`);
      let expiresInDays: number | undefined;
      try {
        expiresInDays = opts.expires === undefined ? undefined : parseExpiry(opts.expires);
      } catch (error) {
        throw new BatonError((error as Error).message);
      }
      const pools = names(opts.pools);
      const tags = deploymentTags(opts.deployments);
      const grants = grantList(opts.grant);
      const { credentials, close } = await openCredentials();
      try {
        const created = await credentials.createKey({ name: opts.name, role: opts.role, ...(expiresInDays === undefined ? {} : { expiresInDays }), ...(pools ? { pools } : {}), ...(tags ? { deploymentTags: tags } : {}), ...(grants ? { grants } : {}) });
        if (opts.json) return printJson(created);
        console.log(created.key);
        process.stderr.write(
          `API key "${created.apiKey.name}" (${roleText(created.apiKey)}, scope: ${scopeText(created.apiKey)}, ${status(created.apiKey)}) created: the line above is its secret, shown this once.\n` +
            `Use it as BATON_API_KEY (workers, the CLI, the SDK) or sign in to the dashboard with it. Revoke it with: baton api-key revoke ${created.apiKey.prefix}\n`,
        );
      } finally {
        await close();
      }
    });
  cmd
    .command("ls")
    .description("list API keys: name, prefix, role, scope, status and when each was last used (never secrets)")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const { credentials, close } = await openCredentials();
      try {
        const keys = await credentials.listKeys();
        if (opts.json) return printJson(keys);
        if (!keys.length) return console.log("No API keys yet. Create one with: baton api-key create --name NAME --role ROLE");
        console.log(table(["prefix", "name", "role", "scope", "status", "last used", "created"], keys.map((k) => [k.prefix, k.name, roleText(k), scopeText(k), status(k), time(k.lastUsedAt), time(k.createdAt)])));
      } finally {
        await close();
      }
    });
  cmd
    .command("revoke <key>")
    .description("revoke an API key, named by its prefix, id or name: it stops working at once (within a minute on other servers)")
    .action(async (key: string) => {
      const { credentials, close } = await openCredentials();
      try {
        const revoked = await credentials.revokeKey(key);
        console.log(`API key "${revoked.name}" (${revoked.prefix}) revoked`);
      } finally {
        await close();
      }
    });
  cmd
    .command("permissions")
    .description("list the permissions (what --grant takes) and the roles that hold each")
    .option("--json", "print JSON")
    .action((opts: { json?: boolean }) => {
      const rows = ALL_PERMISSIONS.map((p) => ({ permission: p, description: PERMISSIONS[p], roles: rolesWith(p) }));
      if (opts.json) return printJson(rows);
      console.log(table(["permission", "what it opens", "roles"], rows.map((r) => [r.permission, r.description, r.roles.join(", ")])));
    });
}
