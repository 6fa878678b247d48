/** `baton server start`: the API server (and, later, the UI) over the configured database. */
import { databaseResultStorage } from "../../config/result-storage.ts";
import fs from "node:fs";
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { loadSettings } from "../../config/settings.ts";
import { openStore } from "../../store/open.ts";
import { buildServer } from "../../server/app.ts";
import { KyselyCredentialStore } from "../../store/credential-store.ts";
import { createApiKey, firstAdminKey } from "../../services/credentials.ts";
import { prettyLogStream } from "../../server/log-format.ts";
import { flushTracing } from "../../telemetry/tracing.ts";
import { ApiClient } from "../../client/api-client.ts";
import { HealthSchema } from "../../schemas/health.ts";

/** How long a stopping server waits for requests in flight. */
const STOP_GRACE_MS = 10_000;

/** The certificate and key files of --tls-cert and --tls-key, read; undefined without them. */
function readTls(certFile: string | undefined, keyFile: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new BatonError(`--tls-cert and --tls-key go together: give ${certFile === undefined ? "--tls-cert" : "--tls-key"} too`);
  const read = (file: string, flag: string, marker: RegExp, block: string) => {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (error) {
      throw new BatonError(`${flag}: cannot read ${file}: ${(error as Error).message}`);
    }
    if (!marker.test(bytes.toString("latin1"))) throw new BatonError(`${flag}: ${file} is not a PEM file (no ${block} block)`);
    return bytes;
  };
  return { cert: read(certFile, "--tls-cert", /-----BEGIN CERTIFICATE-----/, "BEGIN CERTIFICATE"), key: read(keyFile, "--tls-key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "BEGIN PRIVATE KEY") };
}

export function registerServer(program: Command): void {
  const server = program.command("server").description("the Baton API server");
  server
    .command("init-admin")
    .description("create an admin API key on the configured database and print it once (the first key of a server with BATON_AUTH=on)")
    .option("--name <name>", "the key's name", "admin")
    .action(async (opts: { name: string }) => {
      const settings = loadSettings();
      const store = await openStore(settings.databaseUrl.value, { retryMs: settings.databaseRetryMs.value });
      try {
        const created = await createApiKey(new KyselyCredentialStore(store), { name: opts.name, role: "admin" }, null);
        console.log(created.key);
        process.stderr.write(`Admin API key "${created.apiKey.name}" created: the line above is its secret, shown this once (revoke it with baton api-key revoke ${created.apiKey.prefix})\n`);
      } finally {
        await store.close();
      }
    });
  server
    .command("status")
    .description("ask the server at BATON_API_URL (or --url) how it is, and which replica leads (runs the scheduler, sweeps, retention and automations)")
    .option("--url <url>", "the server to ask (default BATON_API_URL, else http://127.0.0.1:4200)")
    .option("--json", "print the health answer as JSON")
    .action(async (opts: { url?: string; json?: boolean }) => {
      const settings = loadSettings();
      const api = new ApiClient({ baseUrl: opts.url ?? settings.apiUrl.value ?? "http://127.0.0.1:4200", apiKey: settings.apiKey.value, maxRetryMs: 2_000, caFile: settings.caFile.value, allowInsecure: settings.allowInsecure.value });
      try {
        const health = await api.request("GET", "/api/health", undefined, HealthSchema);
        if (opts.json) return void console.log(JSON.stringify(health, null, 2));
        const { leadership: l } = health;
        console.log(`server ${api.baseUrl}: ${health.status}, version ${health.version}, ${health.database.dialect} at ${health.database.location} (${health.database.latencyMs} ms)`);
        console.log(`replica ${l.replica}: ${l.isLeader ? `the leader since ${new Date(l.since ?? 0).toISOString()}` : "not the leader"}`);
        console.log(`leader: ${l.holder ?? "none (an election is under way)"}`);
      } finally {
        api.close();
      }
    });
  server
    .command("start")
    .description("start the API server over the configured database")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port (0 picks a free one)", "4200")
    .option("--body-limit <bytes>", "largest request body accepted (default BATON_SERVER_BODY_LIMIT_BYTES, 16 MiB)")
    .option("--tls-cert <file>", "serve HTTPS (and HTTP/2) with this certificate chain (PEM); needs --tls-key")
    .option("--tls-key <file>", "the certificate's private key (PEM)")
    .option("--log-format <format>", "json (one JSON object per line) or pretty (one readable line); default pretty on a terminal, else json")
    .action(async (opts: { host: string; port: string; bodyLimit?: string; tlsCert?: string; tlsKey?: string; logFormat?: string }) => {
      const logFormat = opts.logFormat ?? (process.stdout.isTTY ? "pretty" : "json");
      if (logFormat !== "json" && logFormat !== "pretty") throw new BatonError(`--log-format must be json or pretty, got "${opts.logFormat}"`);
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BatonError(`--port must be an integer from 0 to 65535, got "${opts.port}"`);
      const bodyLimit = opts.bodyLimit === undefined ? undefined : Number(opts.bodyLimit);
      if (bodyLimit !== undefined && (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1)) throw new BatonError(`--body-limit must be a positive number of bytes, got "${opts.bodyLimit}"`);
      const tls = readTls(opts.tlsCert, opts.tlsKey);
      const settings = loadSettings();
      const store = await openStore(settings.databaseUrl.value, { retryMs: settings.databaseRetryMs.value });
      const server = await buildServer({
        store,
        apiKeys: settings.serverApiKeys.value,
        auth: settings.auth.value,
        bodyLimit: bodyLimit ?? settings.serverBodyLimitBytes.value,
        logger: { level: settings.serverLogLevel.value, ...(logFormat === "pretty" ? { stream: prettyLogStream() } : {}) },
        publicUrl: settings.publicUrl.value ?? undefined,
        resultsDir: settings.resultsDir.value,
        resultStorage: databaseResultStorage(settings, store, settings.resultsDir.value),
        tls,
      });
      const address = await server.app.listen({ host: opts.host, port });
      const url = address.replace("[::1]", "localhost");
      // One line on stdout that scripts (and the end-to-end tests) can wait for.
      process.stdout.write(`Baton server listening on ${url} (API ${url}/api, OpenAPI ${url}/api/openapi.json, database ${store.location})\n`);
      // Authentication on and nothing to authenticate with: the first admin key, printed this once.
      if (settings.auth.value && settings.serverApiKeys.value.length === 0) {
        const first = await firstAdminKey(new KyselyCredentialStore(store));
        if (first) process.stdout.write(`BATON_AUTH is on and there was no API key: created admin key "${first.apiKey.name}" (shown this once; revoke it once you have your own with baton api-key revoke ${first.apiKey.prefix}):\n${first.key}\n`);
      }
      // SIGTERM/SIGINT: stop taking requests, end the event streams, let requests in flight
      // finish, close the database. Whatever still hangs after STOP_GRACE_MS (or at a second
      // signal) is cut: an operator's stop must not wait on a client.
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) {
          process.stderr.write(`${signal} again: exiting now\n`);
          process.exit(1);
        }
        stopping = true;
        setTimeout(() => {
          process.stderr.write(`the server did not stop within ${STOP_GRACE_MS / 1000} s; exiting\n`);
          process.exit(1);
        }, STOP_GRACE_MS).unref();
        await server.close();
        await store.close();
        await flushTracing();
        process.exit(0);
      };
      process.on("SIGINT", () => void stop("SIGINT"));
      process.on("SIGTERM", () => void stop("SIGTERM"));
      await new Promise(() => undefined); // serve until a signal
    });
}
