/**
 * `baton account create|ls|delete`: accounts that sign in to the dashboard with a user name and
 * password. The password comes from a hidden prompt (typed twice) or standard input
 * (--password-stdin), never from the command line; the server keeps only its scrypt hash.
 */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { isRole, ROLE_NAMES } from "../../core/permissions.ts";
import { openCredentials } from "../cli-store.ts";
import { grantList, roleText } from "./api-key.ts";
import { printJson, table, time } from "../format.ts";
import { promptHidden, readPiped } from "./secret.ts";

async function readPassword(name: string, fromStdin: boolean): Promise<string> {
  if (fromStdin) return readPiped();
  if (!process.stdin.isTTY) throw new BatonError("no terminal to prompt for the password: pipe it in with --password-stdin");
  const password = await promptHidden(`Password for ${name} (hidden): `);
  if ((await promptHidden("Again: ")) !== password) throw new BatonError("the two passwords differ; nothing was created");
  return password;
}

export function registerAccount(program: Command): void {
  const cmd = program.command("account").description("dashboard accounts (user name and password) created by an admin");
  cmd
    .command("create <name>")
    .description("create an account; the password is prompted for, or read from standard input with --password-stdin")
    .requiredOption("--role <role>", `one of ${ROLE_NAMES.join(", ")}`)
    .option("--password-stdin", "read the password from standard input")
    .option("--grant <permissions>", "permissions on top of the role, comma-separated (e.g. results:read for a viewer)")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { role: string; passwordStdin?: boolean; grant?: string; json?: boolean }) => {
      if (!isRole(opts.role)) throw new BatonError(`--role must be one of ${ROLE_NAMES.join(", ")}, got "${opts.role}"`);
      const grants = grantList(opts.grant);
      const password = await readPassword(name, opts.passwordStdin === true);
      if (password.length < 12) throw new BatonError("the password must be at least 12 characters long");
      const { credentials, close } = await openCredentials();
      try {
        const account = await credentials.createAccount({ name, role: opts.role, password, ...(grants ? { grants } : {}) });
        if (opts.json) return printJson(account);
        console.log(`Account ${account.name} (${roleText(account)}) created: it signs in to the dashboard with its user name and password`);
      } finally {
        await close();
      }
    });
  cmd
    .command("ls")
    .description("list accounts (never passwords)")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const { credentials, close } = await openCredentials();
      try {
        const accounts = await credentials.listAccounts();
        if (opts.json) return printJson(accounts);
        if (!accounts.length) return console.log("No accounts yet. Create one with: baton account create NAME --role ROLE");
        console.log(table(["name", "role", "last sign-in", "created"], accounts.map((a) => [a.name, roleText(a), time(a.lastSignInAt), time(a.createdAt)])));
      } finally {
        await close();
      }
    });
  cmd
    .command("delete <name>")
    .description("delete an account (its dashboard sessions end)")
    .action(async (name: string) => {
      const { credentials, close } = await openCredentials();
      try {
        await credentials.deleteAccount(name);
        console.log(`Account ${name} deleted`);
      } finally {
        await close();
      }
    });
}
