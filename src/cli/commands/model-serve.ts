/**
 * `baton model serve NAME --handler FILE`: serves the version an alias points at over HTTP
 * (src/serving/model-server.ts) and follows the alias as it moves. The handler module says how
 * to predict: `export function predict(model, inputs)` and optionally `export function
 * load(value)`, run once per version. Versions come from the registry on the database, or
 * through the server with BATON_API_URL. The server's modules (Fastify, prom-client, the runtime)
 * are imported when the command runs, so that the other `baton model` commands start without them.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import { BatonError } from "../../core/errors.ts";
import { aliasProblem, DEFAULT_ALIAS, modelNameProblem } from "../../core/models.ts";
import { ModelNotFoundError } from "../../services/models.ts";
import type { ModelServer, ModelSource, Predictor } from "../../serving/model-server.ts";
import type { ModelStore } from "../../store/model-store.ts";
import { ensureFlowLoader } from "../flow-loader.ts";

interface ServeOptions {
  handler: string;
  alias: string;
  port: string;
  host: string;
  poll: string;
}

function checked(problem: string | null): void {
  if (problem) throw new BatonError(problem);
}

/** The registry's versions of `name` under `alias`; a missing model or alias says how to make one. */
async function registrySource(name: string, alias: string): Promise<ModelSource> {
  const [{ loadModel, modelStoreOf }, { getRuntime }] = await Promise.all([import("../../sdk/models.ts"), import("../../sdk/runtime.ts")]);
  const models: ModelStore = modelStoreOf(await getRuntime());
  return {
    current: async () => {
      const version = await models.aliasVersion(name, alias);
      if (version !== undefined) return version;
      if (!(await models.getModel(name))) throw new ModelNotFoundError(name);
      throw new BatonError(`model "${name}" has no alias "${alias}": promote a version to it first (baton model promote ${name} VERSION --to ${alias} --force, or with thresholds)`);
    },
    load: async (version) => {
      const loaded = await loadModel(name, { version });
      return { name, version, value: loaded.value };
    },
  };
}

/** Loads the user's handler module (TypeScript or JavaScript) and checks what it exports. */
async function handlerOf(file: string): Promise<Predictor> {
  const resolved = path.resolve(file);
  await ensureFlowLoader();
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && (error as Error).message.includes(resolved))
      throw new BatonError(`--handler ${file}: no such file (${resolved})`, { cause: error });
    throw error;
  }
  const { predictorFrom } = await import("../../serving/model-server.ts");
  return predictorFrom(module, `--handler ${file}`);
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve());
  });
}

export function addModelServe(cmd: Command): void {
  cmd
    .command("serve <name>")
    .description("serve a model alias over HTTP (POST /predict, /health, /metrics), following the alias when it moves")
    .requiredOption("--handler <file>", "a module exporting predict(model, inputs) and optionally load(value)")
    .option("--alias <alias>", "the alias to serve", DEFAULT_ALIAS)
    .option("--port <port>", "the port (0: any free one)", "8080")
    .option("--host <host>", "the address to listen on", "127.0.0.1")
    .option("--poll <ms>", "how often the alias is checked for a move (ms)", "1000")
    .action(async (name: string, options: ServeOptions) => {
      checked(modelNameProblem(name, "NAME"));
      checked(aliasProblem(options.alias, "--alias"));
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BatonError(`--port must be an integer from 0 to 65535, got "${options.port}"`);
      const pollMs = Number(options.poll);
      if (!Number.isInteger(pollMs) || pollMs < 50) throw new BatonError(`--poll must be a whole number of ms, at least 50, got "${options.poll}"`);
      // The handler first: a module that cannot predict fails before any connection is opened.
      const predictor = await handlerOf(options.handler);
      const [{ startModelServer }, { shutdown }] = await Promise.all([import("../../serving/model-server.ts"), import("../../sdk/runtime.ts")]);
      let server: ModelServer | undefined;
      try {
        const source = await registrySource(name, options.alias);
        const stopped = untilStopped();
        server = await startModelServer({
          name,
          alias: options.alias,
          predictor,
          source,
          port,
          host: options.host,
          pollMs,
          onReload: ({ from, to, error }) =>
            console.log(
              error
                ? `${name}@${options.alias}: could not load v${to}, still serving v${from}: ${error instanceof Error ? error.message : String(error)}`
                : `${name}@${options.alias}: reloaded, now serving v${to} (was v${from})`,
            ),
        });
        console.log(`serving ${name}@${options.alias} v${server.version()} at ${server.url}/predict (metrics at ${server.url}/metrics)`);
        await stopped;
      } finally {
        await server?.close();
        await shutdown();
      }
    });
}
