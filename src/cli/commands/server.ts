/** `baton server start`: the API server (and, later, the UI) over the configured database. */
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { loadSettings } from "../../config/settings.ts";
import { openStore } from "../../store/open.ts";
import { buildServer } from "../../server/app.ts";
import { prettyLogStream } from "../../server/log-format.ts";

/** How long a stopping server waits for requests in flight. */
const STOP_GRACE_MS = 10_000;

export function registerServer(program: Command): void {
  program
    .command("server")
    .description("the Baton API server")
    .command("start")
    .description("start the API server over the configured database")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port (0 picks a free one)", "4200")
    .option("--body-limit <bytes>", "largest request body accepted (default BATON_SERVER_BODY_LIMIT_BYTES, 16 MiB)")
    .option("--log-format <format>", "json (one JSON object per line) or pretty (one readable line); default pretty on a terminal, else json")
    .action(async (opts: { host: string; port: string; bodyLimit?: string; logFormat?: string }) => {
      const logFormat = opts.logFormat ?? (process.stdout.isTTY ? "pretty" : "json");
      if (logFormat !== "json" && logFormat !== "pretty") throw new BatonError(`--log-format must be json or pretty, got "${opts.logFormat}"`);
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BatonError(`--port must be an integer from 0 to 65535, got "${opts.port}"`);
      const bodyLimit = opts.bodyLimit === undefined ? undefined : Number(opts.bodyLimit);
      if (bodyLimit !== undefined && (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1)) throw new BatonError(`--body-limit must be a positive number of bytes, got "${opts.bodyLimit}"`);
      const settings = loadSettings();
      const store = await openStore(settings.databaseUrl.value, { retryMs: settings.databaseRetryMs.value });
      const server = await buildServer({
        store,
        apiKeys: settings.serverApiKeys.value,
        bodyLimit: bodyLimit ?? settings.serverBodyLimitBytes.value,
        logger: { level: settings.serverLogLevel.value, ...(logFormat === "pretty" ? { stream: prettyLogStream() } : {}) },
        publicUrl: settings.publicUrl.value ?? undefined,
      });
      const address = await server.app.listen({ host: opts.host, port });
      const url = address.replace("[::1]", "localhost");
      // One line on stdout that scripts (and the end-to-end tests) can wait for.
      process.stdout.write(`Baton server listening on ${url} (API ${url}/api, OpenAPI ${url}/api/openapi.json, database ${store.location})\n`);
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
        process.exit(0);
      };
      process.on("SIGINT", () => void stop("SIGINT"));
      process.on("SIGTERM", () => void stop("SIGTERM"));
      await new Promise(() => undefined); // serve until a signal
    });
}
