/**
 * The model registry: people and the dashboard read models, versions, aliases and alias moves;
 * runs (a worker key, for the runs it holds) register versions and record the alias moves their
 * own gates decided; people promote through declared thresholds (or forced) and roll back.
 * Every alias move and refusal is also written to the audit log by the store, with the caller
 * as its actor, beside the request's own entry.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { createHash } from "node:crypto";
import { serialize } from "../../core/serializer.ts";
import type { ModelActor } from "../../core/models.ts";
import type { ResultStore } from "../../engine/result-store.ts";
import { modelAssetKey, type ModelStore, type MoveContext } from "../../store/model-store.ts";
import type { AssetViews } from "../../store/asset-store.ts";
import type { RunStore } from "../../store/types.ts";
import { ModelAliasNotFoundError, ModelNotFoundError, ModelVersionNotFoundError, promoteModelVersion, requireVersion, rollbackModelAliasOf } from "../../services/models.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import {
  ModelAliasParamsSchema,
  ModelAliasSchema,
  ModelDetailSchema,
  ModelListSchema,
  ModelMoveInputSchema,
  ModelMoveOutcomeSchema,
  ModelParamsSchema,
  ModelValueSchema,
  ModelVersionInputSchema,
  ModelVersionParamsSchema,
  ModelLineageQuerySchema,
  ModelLineageSchema,
  type ModelLineage,
  ModelVersionSchema,
  PromoteInputSchema,
  PromotionOutcomeSchema,
  RollbackInputSchema,
  RollbackOutcomeSchema,
  type ModelMoveInput,
  type ModelVersionInput,
  type ModelVersionParams,
  type PromoteInput,
} from "../../schemas/model.ts";
import { checkTaskRun } from "./runs-data.ts";

const TAGS = ["models"];
type NameParams = { name: string };

const actorOf = (request: FastifyRequest): ModelActor => ({ kind: request.principal.kind, id: request.principal.id, name: request.principal.name });

export function modelRoutes(app: FastifyInstance, deps: { store: RunStore; models: ModelStore; results: ResultStore; assets: AssetViews | null }): void {
  const { store, models, results, assets } = deps;

  /** The run named in a body exists (and holds the task run): lineage must point at something real. */
  async function checkRun(request: FastifyRequest, flowRunId: string | null, taskRunId: string | null): Promise<void> {
    // A worker key acts only for the runs it holds (access.ts checks the one named): never on its own.
    if (request.apiKeyRole === "worker" && !flowRunId) throw new ApiError(403, "FORBIDDEN", "body.flowRunId: a worker key registers models and moves aliases only for a run it holds; name the run");
    if (taskRunId && !flowRunId) throw new ApiError(400, "BAD_REQUEST", "body.taskRunId needs body.flowRunId, the flow run it belongs to");
    if (flowRunId && !(await store.getFlowRun(flowRunId))) throw notFound("flow run", flowRunId);
    if (flowRunId && taskRunId) checkTaskRun(await store.getTaskRun(taskRunId), taskRunId, flowRunId, "body.taskRunId");
  }

  app.get("/api/models", { schema: { tags: TAGS, summary: "The models, most recently changed first, with their latest version and aliases", response: { 200: jsonSchema(ModelListSchema) } } }, async () => ({
    items: await models.listModels(),
  }));

  app.get<{ Params: NameParams }>(
    "/api/models/:name",
    {
      schema: {
        tags: TAGS,
        summary: "A model: its versions (metrics, parameters, lineage), aliases, and the history of alias moves and refused promotions",
        params: jsonSchema(ModelParamsSchema),
        response: { 200: jsonSchema(ModelDetailSchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const model = await models.getModel(request.params.name);
      if (!model) throw new ModelNotFoundError(request.params.name);
      return model;
    },
  );

  app.get<{ Params: { name: string; alias: string } }>(
    "/api/models/:name/aliases/:alias",
    {
      schema: {
        tags: TAGS,
        summary: "The version an alias of a model points to (one indexed read: what serving polls)",
        params: jsonSchema(ModelAliasParamsSchema),
        response: { 200: jsonSchema(ModelAliasSchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { name, alias } = request.params;
      const version = await models.aliasVersion(name, alias);
      if (version === undefined) throw new ModelAliasNotFoundError(name, alias);
      return { name, alias, version };
    },
  );

  app.get<{ Params: ModelVersionParams }>(
    "/api/models/:name/versions/:version",
    {
      schema: { tags: TAGS, summary: "A version of a model", params: jsonSchema(ModelVersionParamsSchema), response: { 200: jsonSchema(ModelVersionSchema), ...errorResponses(400, 404) } },
    },
    async (request) => requireVersion(models, request.params.name, request.params.version),
  );

  app.get<{ Params: ModelVersionParams; Querystring: { depth?: number } }>(
    "/api/models/:name/versions/:version/lineage",
    {
      schema: {
        tags: TAGS,
        summary: "A version's lineage: the run that trained it, the data set versions upstream of it (through the asset graph) and the raw sources",
        params: jsonSchema(ModelVersionParamsSchema),
        querystring: jsonSchema(ModelLineageQuerySchema),
        response: { 200: jsonSchema(ModelLineageSchema), ...errorResponses(400, 404, 501) },
      },
    },
    async (request): Promise<ModelLineage> => {
      const { name, version } = request.params;
      const info = await requireVersion(models, name, version);
      if (!assets) throw new ApiError(501, "NOT_IMPLEMENTED", "lineage needs the server's own database");
      const key = modelAssetKey(name);
      const graph = await assets.lineage(key, { direction: "upstream", depth: request.query.depth ?? 10, version: `v${version}` });
      if (!graph) throw new ApiError(404, "NOT_FOUND", `model "${name}" version ${version} has no lineage record (registered before lineage was kept)`);
      const versions = graph.nodes.flatMap((n) => (n.version && n.id !== graph.root ? [n.version] : []));
      // A source: no data flows into it, neither directly (derived) nor into the run that produced it (read).
      const fedFromData = new Set(graph.edges.filter((e) => e.kind !== "produced").map((e) => e.to));
      const producerOf = new Map(graph.edges.filter((e) => e.kind === "produced").map((e) => [e.to, e.from]));
      const sources = versions.filter((v) => {
        const node = `version:${v.id}`;
        const producer = producerOf.get(node);
        return !fedFromData.has(node) && (producer === undefined || !fedFromData.has(producer));
      });
      const run = info.flowRunId ? await store.getFlowRun(info.flowRunId) : undefined;
      return {
        name,
        version,
        asset: { key, version: `v${version}` },
        trainingRun: info.flowRunId
          ? { flowRunId: info.flowRunId, taskRunId: info.taskRunId, name: run?.name ?? null, flowName: run?.flowName ?? null, stateName: run?.state.name ?? null, deleted: !run }
          : null,
        datasets: versions,
        sources,
        graph,
      };
    },
  );

  app.get<{ Params: ModelVersionParams }>(
    "/api/models/:name/versions/:version/value",
    {
      schema: {
        tags: TAGS,
        summary: "A version's stored value, in Baton's serialiser (what loadModel reads in remote mode)",
        params: jsonSchema(ModelVersionParamsSchema),
        response: { 200: jsonSchema(ModelValueSchema), ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => {
      const { name, version } = request.params;
      const stored = await models.modelValue(name, version);
      if (!stored) throw new ModelVersionNotFoundError(name, version, (await models.getModel(name))?.latestVersion ?? null);
      if (stored.value !== null) return { serializer: stored.serializer, value: stored.value, sha256: stored.sha256 };
      // A large version: readable here if this server has the result storage that holds it.
      if (results.blobs === null)
        throw new ApiError(409, "STORED_IN_A_FILE", `model "${name}" version ${version} is stored in a file (${stored.path}) and this server has no result storage; start it with BATON_RESULTS_URL (or BATON_RESULTS_DIR) set as the registering process's`);
      const value = await results.decode({ id: `model:${name}:${version}`, serializer: stored.serializer, value: null, path: stored.path, size: stored.size, createdAt: 0 });
      return { serializer: stored.serializer, value: serialize(value), sha256: stored.sha256 };
    },
  );

  app.post<{ Params: NameParams; Body: ModelVersionInput }>(
    "/api/models/:name/versions",
    {
      config: { access: { workerRuns: (request) => runsOf(request.body as ModelVersionInput | undefined) } },
      schema: {
        operationId: "createModelVersion",
        tags: TAGS,
        summary: "Register a new version of a model (numbered N+1), its value inline and serialised",
        params: jsonSchema(ModelParamsSchema),
        body: jsonSchema(ModelVersionInputSchema),
        response: { 201: jsonSchema(ModelVersionSchema), ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const bad = Object.entries(body.metrics).find(([, v]) => !Number.isFinite(v));
      if (bad) throw new ApiError(400, "BAD_REQUEST", `body.metrics.${bad[0]} must be a finite number`);
      await checkRun(request, body.flowRunId, body.taskRunId);
      const bytes = Buffer.from(body.value);
      const created = await models.registerModelVersion({
        name: request.params.name,
        source: body.source,
        sourcePath: body.sourcePath,
        stored: { serializer: body.serializer, value: body.value, path: null, size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") },
        metrics: body.metrics,
        params: body.params,
        signature: body.signature ?? null,
        description: body.description,
        flowRunId: body.flowRunId,
        taskRunId: body.taskRunId,
        experiment: body.experiment,
        actor: actorOf(request),
      });
      return reply.status(201).send(created);
    },
  );

  app.post<{ Params: NameParams; Body: PromoteInput }>(
    "/api/models/:name/promote",
    {
      schema: {
        operationId: "promoteModel",
        tags: TAGS,
        summary: "Move an alias (default production) to a version if the declared thresholds pass, or unconditionally with force; a refusal is recorded and answered, not an error",
        params: jsonSchema(ModelParamsSchema),
        body: jsonSchema(PromoteInputSchema),
        response: { 200: jsonSchema(PromotionOutcomeSchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { version, to, gate, force } = request.body;
      if (!force && !gate?.length) throw new ApiError(400, "BAD_REQUEST", "body.gate: give declared thresholds ([{ metric, min?, max?, betterThanCurrent? }]) or body.force: true");
      if (force && gate?.length) throw new ApiError(400, "BAD_REQUEST", "body.force: a forced promotion takes no gate; leave out body.gate or body.force");
      for (const [i, g] of (gate ?? []).entries())
        if (g.min === undefined && g.max === undefined && !g.betterThanCurrent) throw new ApiError(400, "BAD_REQUEST", `body.gate.${i} checks nothing: give min, max or betterThanCurrent: true`);
      return promoteModelVersion(models, request.params.name, version, { to, gate: force ? undefined : gate, context: { actor: actorOf(request), flowRunId: null } });
    },
  );

  app.post<{ Params: NameParams; Body: { alias: string } }>(
    "/api/models/:name/rollback",
    {
      schema: {
        operationId: "rollbackModel",
        tags: TAGS,
        summary: "Move an alias (default production) back to the version it pointed to before its last promotion",
        params: jsonSchema(ModelParamsSchema),
        body: jsonSchema(RollbackInputSchema),
        response: { 200: jsonSchema(RollbackOutcomeSchema), ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => rollbackModelAliasOf(models, request.params.name, request.body.alias, { actor: actorOf(request), flowRunId: null }),
  );

  app.post<{ Params: NameParams; Body: ModelMoveInput }>(
    "/api/models/:name/moves",
    {
      config: { access: { workerRuns: (request) => runsOf(request.body as ModelMoveInput | undefined) } },
      schema: {
        operationId: "recordModelMove",
        tags: TAGS,
        summary: "Record an alias move a run decided with its own gate: a promotion, a refusal with its reason, or a rollback",
        params: jsonSchema(ModelParamsSchema),
        body: jsonSchema(ModelMoveInputSchema),
        response: { 200: jsonSchema(ModelMoveOutcomeSchema), ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { kind, alias, version, reason, flowRunId } = request.body;
      await checkRun(request, flowRunId, null);
      const context: MoveContext = { actor: actorOf(request), flowRunId };
      if (kind === "rolled-back") return rollbackModelAliasOf(models, name, alias, context);
      if (version === undefined) throw new ApiError(400, "BAD_REQUEST", `body.version is required for a move of kind ${kind}`);
      if (kind === "refused") {
        if (!reason) throw new ApiError(400, "BAD_REQUEST", "body.reason is required for a refusal");
        await requireVersion(models, name, version);
        await models.refuseModelPromotion(name, alias, version, reason, context);
        return { from: (await models.aliasVersion(name, alias)) ?? null, to: version };
      }
      await requireVersion(models, name, version);
      const moved = await models.moveModelAlias(name, alias, version, { ...context, reason });
      if (!moved) throw new ModelVersionNotFoundError(name, version, null);
      return moved;
    },
  );
}

/** The flow run a body names, for a worker key's scope check. */
function runsOf(body: { flowRunId?: string | null } | undefined): { field: string; id: string }[] {
  return body?.flowRunId ? [{ field: "body.flowRunId", id: body.flowRunId }] : [];
}
