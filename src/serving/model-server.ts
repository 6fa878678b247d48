/**
 * An HTTP endpoint serving one model alias: `POST /predict` answers with the version the alias
 * points at, and the server follows the alias as it moves — a new version is loaded beside the
 * one in use, then swapped in with one assignment, so a request is answered by the old model or
 * the new one, never by none (no restart, no failed request during the switch).
 *
 * Where versions come from is a `ModelSource` (the registry, on the database or through the
 * API); what a prediction is, the user's `Predictor` module (`predict(model, inputs)`, and
 * optionally `load(value)` to turn the stored value into a model once per version).
 *
 *   POST /predict  { "inputs": [ ... ] }  →  { "predictions": [ ... ], "model": { name, version } }
 *   GET  /health   →  { status, model, alias, version, loadedAt }
 *   GET  /metrics  →  Prometheus text: requests by outcome and version, latency histogram, reloads
 */
import Fastify, { type FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { BatonError } from "../core/errors.ts";

/** A version of the served model, as the registry stores it. */
export interface ModelVersionValue {
  name: string;
  version: number;
  value: unknown;
}

/** Where the served alias's versions come from. */
export interface ModelSource {
  /** The version the alias points at now (throws when the model or alias does not exist). */
  current(): Promise<number>;
  /** That version's stored value. */
  load(version: number): Promise<ModelVersionValue>;
}

/** The user's module: how to make predictions with a stored model. */
export interface Predictor<M = unknown> {
  /** Turns a version's stored value into a model, once per version (default: the value itself). */
  load?(value: unknown, version: { name: string; version: number }): M | Promise<M>;
  /** One prediction per input, in order. */
  predict(model: M, inputs: unknown[]): unknown[] | Promise<unknown[]>;
}

export class PredictorModuleError extends BatonError {
  override name = "PredictorModuleError";
}

export interface ModelServerOptions {
  name: string;
  alias: string;
  source: ModelSource;
  predictor: Predictor;
  port?: number;
  host?: string;
  /** How often the alias is checked for a move (ms, default 1000). */
  pollMs?: number;
  /** Inputs per request, at most (default 10,000). */
  maxInputs?: number;
  /** Called on reloads and failed reloads (the CLI prints them). */
  onReload?: (event: { from: number | null; to: number; error?: unknown }) => void;
}

export interface ModelServer {
  url: string;
  /** The version answering requests now. */
  version(): number;
  /** Checks the alias now (the poller does it every `pollMs`); resolves when any move is served. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

interface Loaded {
  version: number;
  model: unknown;
  loadedAt: number;
}

/** Checks a module's exports: `predict` is required, `load` optional (a default export may hold them). */
export function predictorFrom(module: Record<string, unknown>, where: string): Predictor {
  const candidate = (typeof module.predict === "function" ? module : (module.default as Record<string, unknown> | undefined)) ?? {};
  if (typeof candidate.predict !== "function")
    throw new PredictorModuleError(`${where} must export a function predict(model, inputs) returning one prediction per input (and optionally load(value))`);
  if (candidate.load !== undefined && typeof candidate.load !== "function") throw new PredictorModuleError(`${where}: load must be a function load(value) returning the model`);
  return candidate as unknown as Predictor;
}

export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const { name, alias, source, predictor } = options;
  const maxInputs = options.maxInputs ?? 10_000;
  const registry = new Registry();
  const requests = new Counter({ name: "baton_model_requests_total", help: "Prediction requests, by outcome and model version", labelNames: ["outcome", "version"], registers: [registry] });
  const latency = new Histogram({
    name: "baton_model_request_duration_seconds",
    help: "Time to answer POST /predict",
    labelNames: ["version"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const reloads = new Counter({ name: "baton_model_reloads_total", help: "Alias moves followed, by outcome", labelNames: ["outcome"], registers: [registry] });
  const served = new Gauge({ name: "baton_model_version", help: "The model version answering requests", registers: [registry] });

  const prepare = async (version: number): Promise<Loaded> => {
    const stored = await source.load(version);
    const model = predictor.load ? await predictor.load(stored.value, { name, version }) : stored.value;
    return { version, model, loadedAt: Date.now() };
  };

  let loaded = await prepare(await source.current());
  served.set(loaded.version);
  let checking: Promise<void> | null = null;

  const check = async (): Promise<void> => {
    const version = await source.current();
    if (version === loaded.version) return;
    const from = loaded.version;
    try {
      const next = await prepare(version);
      // The swap: requests that started keep the model they took; new ones take this one.
      loaded = next;
      served.set(version);
      reloads.inc({ outcome: "loaded" });
      options.onReload?.({ from, to: version });
    } catch (error) {
      // Keep serving the version in use; the next check tries again.
      reloads.inc({ outcome: "failed" });
      options.onReload?.({ from, to: version, error });
    }
  };
  const refresh = (): Promise<void> => {
    checking ??= check().finally(() => (checking = null));
    return checking;
  };

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 32 * 1024 * 1024 });
  app.post<{ Body: { inputs?: unknown } }>("/predict", async (request, reply) => {
    const started = performance.now();
    const current = loaded;
    const version = String(current.version);
    const inputs = request.body?.inputs;
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > maxInputs) {
      requests.inc({ outcome: "invalid", version });
      return reply.code(400).send({ error: "INVALID_INPUT", field: "body.inputs", message: `body.inputs must be a non-empty array of at most ${maxInputs.toLocaleString("en")} inputs` });
    }
    try {
      const predictions = await predictor.predict(current.model, inputs);
      if (!Array.isArray(predictions) || predictions.length !== inputs.length)
        throw new PredictorModuleError(`predict returned ${Array.isArray(predictions) ? `${predictions.length} predictions` : typeof predictions} for ${inputs.length} inputs; it must return one per input`);
      requests.inc({ outcome: "ok", version });
      latency.observe({ version }, (performance.now() - started) / 1000);
      return { predictions, model: { name, alias, version: current.version } };
    } catch (error) {
      requests.inc({ outcome: "error", version });
      return reply.code(422).send({ error: "PREDICTION_FAILED", message: error instanceof Error ? error.message : String(error), model: { name, alias, version: current.version } });
    }
  });
  app.get("/health", async () => ({ status: "ok", model: name, alias, version: loaded.version, loadedAt: new Date(loaded.loadedAt).toISOString() }));
  app.get("/metrics", async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  const timer = setInterval(() => void refresh().catch(() => reloads.inc({ outcome: "failed" })), options.pollMs ?? 1000);
  timer.unref();
  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1" });
  return {
    url: address,
    version: () => loaded.version,
    refresh,
    close: async () => {
      clearInterval(timer);
      await checking?.catch(() => undefined);
      await app.close();
    },
  };
}
