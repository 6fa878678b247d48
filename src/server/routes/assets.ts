/**
 * Assets: runs record what they read and materialise (a worker key for the runs it holds);
 * people read the assets, an asset's versions, its lineage graph, and what a flow run read and
 * wrote. An asset's key travels URL-encoded in the path (`/api/assets/dataset%3A%2F%2Ffeatures`).
 */
import type { FastifyInstance } from "fastify";
import { assetKeyProblem } from "../../core/assets.ts";
import type { AssetViews, LineageDirection } from "../../store/asset-store.ts";
import type { RunStore } from "../../store/types.ts";
import { ApiError, notFound } from "../errors.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import {
  AssetDetailSchema,
  AssetListSchema,
  AssetParamsSchema,
  AssetQuerySchema,
  AssetReadsInputSchema,
  AssetReadsSchema,
  LineageGraphSchema,
  LineageQuerySchema,
  MaterializationInputSchema,
  MaterializeOutcomeSchema,
  RunAssetsSchema,
  type AssetReadsInput,
  type MaterializationInput,
} from "../../schemas/asset.ts";
import { checkTaskRun } from "./runs-data.ts";

const TAGS = ["assets"];

function checkKey(key: string, field: string): void {
  const problem = assetKeyProblem(key);
  if (problem) throw new ApiError(400, "BAD_REQUEST", `${field}: asset key ${JSON.stringify(key).slice(0, 120)} ${problem}`);
}

function checkJson(text: string | null, field: string, object: boolean): void {
  if (text === null) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, "BAD_REQUEST", `${field} must be JSON text`);
  }
  if (object && (value === null || typeof value !== "object" || Array.isArray(value))) throw new ApiError(400, "BAD_REQUEST", `${field} must be the JSON text of an object`);
}

export function assetRoutes(app: FastifyInstance, store: RunStore, assets: AssetViews): void {
  /** The flow run exists, and the task run (if any) is one of its. */
  const checkRun = async (flowRunId: string, taskRunId: string | null): Promise<void> => {
    if (!(await store.getFlowRun(flowRunId))) throw notFound("flow run", flowRunId);
    if (taskRunId) checkTaskRun(await store.getTaskRun(taskRunId), taskRunId, flowRunId, "body.taskRunId");
  };

  app.post<{ Body: AssetReadsInput }>(
    "/api/asset-reads",
    {
      config: { access: { workerRuns: (request) => [{ field: "body.flowRunId", id: (request.body as AssetReadsInput | undefined)?.flowRunId ?? "" }] } },
      schema: {
        operationId: "recordAssetReads",
        tags: TAGS,
        summary: "Resolve a run's declared asset reads (the latest version, or the pinned one by name or hash) and record them as read by it",
        body: jsonSchema(AssetReadsInputSchema),
        response: { 200: jsonSchema(AssetReadsSchema), ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => {
      const body = request.body;
      body.reads.forEach((r, i) => checkKey(r.key, `body.reads.${i}.key`));
      await checkRun(body.flowRunId, body.taskRunId);
      return { items: await store.recordAssetReads(body) };
    },
  );

  app.post<{ Body: MaterializationInput }>(
    "/api/asset-materializations",
    {
      // A worker key writes for the runs it holds only: no run names none it holds.
      config: { access: { workerRuns: (request) => [{ field: "body.flowRunId", id: (request.body as MaterializationInput | undefined)?.flowRunId ?? "" }] } },
      schema: {
        operationId: "recordAssetMaterialization",
        tags: TAGS,
        summary: "Record a materialisation: a new version when its content is new (emits baton.asset.materialized), else a confirmation of the existing one",
        body: jsonSchema(MaterializationInputSchema),
        response: { 200: jsonSchema(MaterializeOutcomeSchema), ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => {
      const body = request.body;
      checkKey(body.key, "body.key");
      checkJson(body.schema, "body.schema", false);
      checkJson(body.metadata, "body.metadata", true);
      if (body.flowRunId) await checkRun(body.flowRunId, body.taskRunId);
      else if (body.taskRunId) throw new ApiError(400, "BAD_REQUEST", "body.taskRunId needs body.flowRunId, the flow run of that task run");
      return store.materializeAsset(body);
    },
  );

  app.get(
    "/api/assets",
    { schema: { tags: TAGS, summary: "The assets, most recently materialised first, with their latest version and how many versions each has", response: { 200: jsonSchema(AssetListSchema) } } },
    async () => ({ items: await assets.listAssets() }),
  );

  app.get<{ Params: { key: string }; Querystring: { limit: number } }>(
    "/api/assets/:key",
    {
      schema: {
        tags: TAGS,
        summary: "An asset's versions, newest (last materialised) first",
        params: jsonSchema(AssetParamsSchema),
        querystring: jsonSchema(AssetQuerySchema),
        response: { 200: jsonSchema(AssetDetailSchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      checkKey(request.params.key, "params.key");
      const detail = await assets.getAsset(request.params.key, { limit: request.query.limit });
      if (!detail) throw new ApiError(404, "NOT_FOUND", `asset ${request.params.key} has no versions (or does not exist)`);
      return detail;
    },
  );

  app.get<{ Params: { key: string }; Querystring: { direction: LineageDirection; depth: number; version?: string } }>(
    "/api/assets/:key/lineage",
    {
      schema: {
        tags: TAGS,
        summary: "An asset version's lineage as a graph: upstream, the runs and versions it was made from; downstream, the runs that read it and what was made from it",
        params: jsonSchema(AssetParamsSchema),
        querystring: jsonSchema(LineageQuerySchema),
        response: { 200: jsonSchema(LineageGraphSchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { key } = request.params;
      checkKey(key, "params.key");
      const { direction, depth, version } = request.query;
      const graph = await assets.lineage(key, version === undefined ? { direction, depth } : { direction, depth, version });
      if (!graph) throw new ApiError(404, "NOT_FOUND", version === undefined ? `asset ${key} has no versions (or does not exist)` : `asset ${key} has no version "${version}" (by name or hash)`);
      return graph;
    },
  );

  app.get<{ Params: IdParams }>(
    "/api/flow-runs/:id/assets",
    {
      schema: {
        tags: TAGS,
        summary: "The asset versions a flow run and its task runs read and wrote, oldest first",
        params: jsonSchema(IdParamsSchema),
        response: { 200: jsonSchema(RunAssetsSchema), ...errorResponses(404) },
      },
    },
    async (request) => {
      const found = await assets.flowRunAssets(request.params.id);
      if (!found) throw notFound("flow run", request.params.id);
      return found;
    },
  );
}
