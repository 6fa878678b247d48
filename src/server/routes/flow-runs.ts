/** Flow runs: create, list (filters, cursor pages), get, history, set state, cancel, retry, delete, heartbeat. */
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { splitEntrypoint, TASK_JOB_TAG } from "../../core/entrypoint.ts";
import { newId } from "../../core/ids.ts";
import { randomRunName } from "../../core/run-names.ts";
import { makeState, STATE_NAME_TYPE, STATE_NAMES, STATE_TYPES, type StateName, type StateType } from "../../core/states.ts";
import type { FlowRunFilter, OrchestrationStore, Store } from "../../store/types.ts";
import { JOB_VARIABLES_NEED_ADMIN } from "./orchestration.ts";
import { runInBody, runInParams } from "../access.ts";
import { ApiError, notFound } from "../errors.ts";
import { excerpt } from "../../core/excerpt.ts";
import { classifyDatabaseError } from "../../store/db-errors.ts";
import { cancelFlowRun } from "../../services/cancel-flow-run.ts";
import { retryFlowRun } from "../../services/retry-flow-run.ts";
import { deleteFlowRun } from "../../services/delete-flow-run.ts";
import { setFlowRunState } from "../../services/set-flow-run-state.ts";
import { deploymentRunParameters, deploymentRunTags } from "../../services/deployment-runs.ts";
import { checkJobVariablesEnv } from "../../services/job-variables.ts";
import { checkConfigRefs, jobVariablesRefCheck, type RefStores } from "../../services/config-refs.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { IdParamsSchema, type IdParams } from "../../schemas/fields.ts";
import { StateHistorySchema, type StateRecord } from "../../schemas/state.ts";
import {
  CrashStaleAnswerSchema,
  CrashStaleSchema,
  FlowRunCreateSchema,
  FlowRunPageSchema,
  FlowRunQuerySchema,
  FlowRunSchema,
  HeartbeatAnswerSchema,
  HeartbeatSchema,
  SetFlowRunStateSchema,
  type CrashStale,
  type CrashStaleAnswer,
  type FlowRun,
  type FlowRunCreate,
  type FlowRunPage,
  type FlowRunQuery,
  type Heartbeat,
  type HeartbeatAnswer,
  type SetFlowRunState,
} from "../../schemas/flow-run.ts";

const idParams = jsonSchema(IdParamsSchema);
const flowRun = jsonSchema(FlowRunSchema);

/** 404 naming the field when a body refers to something that does not exist. */
function missing(field: string, what: string, id: string): ApiError {
  return new ApiError(404, "NOT_FOUND", `body.${field}: ${what} ${id} was not found`);
}

/**
 * What the batch checker remembers (app.ts passes it): flow runs created and deleted here, and
 * the results its batches stored, so a flow's first batch and its final state need no lookup.
 */
export interface RunMemory {
  flowRunCreated(id: string): void;
  forgetFlowRun(id: string): void;
  knowsResult(id: string): boolean;
}

const NO_MEMORY: RunMemory = { flowRunCreated: () => undefined, forgetFlowRun: () => undefined, knowsResult: () => false };

export function flowRunRoutes(app: FastifyInstance, store: Store, orchestration: OrchestrationStore, refs: RefStores, memory: RunMemory = NO_MEMORY): void {
  // Heartbeats sent while this server was down never arrived: missed beats count from its start.
  const startedAt = Date.now();
  app.post<{ Body: FlowRunCreate; Reply: FlowRun }>(
    "/api/flow-runs",
    {
      config: {
        // A worker key creates the child flow runs of its runs, nothing else.
        access: {
          adminFields: {
            jobVariables: JOB_VARIABLES_NEED_ADMIN,
            deploymentId: "runs of a deployment are started by admins",
            // ...and the task jobs of its runs' tasks with `workPool` (checked in the handler).
            workPool: { why: "a run in a work pool is claimed and started by workers on their hosts; a worker key may only place task jobs of its runs", workerMay: isTaskJobBody },
            workQueue: { why: "a run in a work pool is claimed and started by workers on their hosts; a worker key may only place task jobs of its runs", workerMay: isTaskJobBody },
          },
          workerRuns: runInBody("parentFlowRunId"),
        },
      },
      schema: {
        tags: ["flow runs"],
        summary: "Create a flow run (Scheduled or Pending)",
        body: jsonSchema(FlowRunCreateSchema),
        response: { 201: flowRun, ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      // parentTaskRunId is not checked: a child flow is created while its parent task's
      // records may still be on their way in the parent's next batch.
      if (body.parentFlowRunId && !(await store.getFlowRun(body.parentFlowRunId))) throw missing("parentFlowRunId", "flow run", body.parentFlowRunId);
      const stateName = body.state ?? (body.scheduledAt ? "Scheduled" : "Pending");
      // A deployment's run (the API client's way to make one): the deployment must exist (404),
      // and its parameters and tags are merged and checked as every deployment run's are.
      if (body.deploymentId) {
        const deployment = await orchestration.getDeployment(body.deploymentId);
        if (!deployment) throw missing("deploymentId", "deployment", body.deploymentId);
        body.parameters = deploymentRunParameters(deployment, body.parameters);
        body.tags = deploymentRunTags(deployment, body.tags);
      }
      if (body.workPool && request.apiKeyRole === "worker") await checkWorkerTaskJob(store, body);
      await checkJobVariablesEnv(orchestration, body.workPool, body.jobVariables, "body.jobVariables");
      await checkConfigRefs(refs, jobVariablesRefCheck(body.jobVariables, "body.jobVariables"));
      const id = body.id ?? newId();
      // A duplicate id fails the store's one transaction on the primary key: no check-then-insert race.
      const run = await store.createFlowRun({
        id,
        flowName: body.flowName,
        name: body.name ?? randomRunName(),
        parentFlowRunId: body.parentFlowRunId ?? null,
        parentTaskRunId: body.parentTaskRunId ?? null,
        parameters: body.parameters ?? {},
        tags: body.tags ?? [],
        version: body.version ?? null,
        entrypoint: body.entrypoint ?? null,
        deploymentId: body.deploymentId ?? null,
        workPool: body.workPool ?? null,
        workQueue: body.workQueue ?? (body.workPool ? "default" : null),
        jobVariables: body.jobVariables ?? null,
        state: makeState(stateName, { scheduledAt: stateName === "Scheduled" ? (body.scheduledAt ?? Date.now()) : null, message: body.message ?? null }),
      }).catch((error: unknown) => {
        if (classifyDatabaseError(error)?.kind === "duplicate") throw new ApiError(409, "CONFLICT", `flow run ${id} already exists`);
        throw error;
      });
      memory.flowRunCreated(run.id);
      return reply.status(201).send(run);
    },
  );

  app.get<{ Querystring: FlowRunQuery; Reply: FlowRunPage }>(
    "/api/flow-runs",
    {
      schema: {
        tags: ["flow runs"],
        summary: "List flow runs, newest first",
        querystring: jsonSchema(FlowRunQuerySchema),
        response: { 200: jsonSchema(FlowRunPageSchema), ...errorResponses(400) },
      },
    },
    async (request) => {
      const q = request.query;
      const filter: FlowRunFilter = { limit: q.limit ?? 50, cursor: q.cursor, flowName: q.flow, flowNamePrefix: q.flowPrefix, idPrefix: q.idPrefix, name: q.name, parentFlowRunId: q.parent, deploymentId: q.deployment, workerId: q.worker, createdAfter: q.since, createdBefore: q.until };
      if (q.state) filter.stateNames = list(q.state, STATE_NAMES, "state") as StateName[];
      if (q.stateType) filter.stateTypes = list(q.stateType.toUpperCase(), STATE_TYPES, "stateType") as StateType[];
      if (q.tag) filter.tags = q.tag.split(",").filter(Boolean);
      return store.pageFlowRuns(filter);
    },
  );

  app.get<{ Params: IdParams; Reply: FlowRun }>(
    "/api/flow-runs/:id",
    { schema: { tags: ["flow runs"], summary: "Get a flow run", params: idParams, response: { 200: flowRun, ...errorResponses(404) } } },
    async (request) => {
      const run = await store.getFlowRun(request.params.id);
      if (!run) throw notFound("flow run", request.params.id);
      return run;
    },
  );

  app.get<{ Params: IdParams; Reply: StateRecord[] }>(
    "/api/flow-runs/:id/states",
    {
      schema: {
        tags: ["flow runs"],
        summary: "A flow run's state history, oldest first",
        params: idParams,
        response: { 200: jsonSchema(StateHistorySchema), ...errorResponses(404) },
      },
    },
    async (request) => {
      if (!(await store.getFlowRun(request.params.id))) throw notFound("flow run", request.params.id);
      return store.stateHistory(request.params.id);
    },
  );

  app.post<{ Params: IdParams; Body: SetFlowRunState; Reply: FlowRun }>(
    "/api/flow-runs/:id/set-state",
    {
      config: { access: { adminFields: { force: "forcing a transition skips the orchestration rules" }, workerRuns: runInParams("id") } },
      schema: {
        tags: ["flow runs"],
        summary: "Propose a state; refused transitions answer 409 with the rule",
        params: idParams,
        body: jsonSchema(SetFlowRunStateSchema),
        response: { 200: flowRun, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) => {
      const { state: { type, ...state }, ...options } = request.body;
      // A state as reads answer it may be sent back: its type, when given, must be its name's.
      if (type !== undefined && type !== STATE_NAME_TYPE[state.name])
        throw new ApiError(400, "VALIDATION_ERROR", `body.state.type: a ${state.name} state is of type ${STATE_NAME_TYPE[state.name]}, not ${type}; leave the type out or send the name's`, { field: "body.state.type" });
      if (options.resultId && !memory.knowsResult(options.resultId) && !(await store.getResult(options.resultId))) throw missing("resultId", "result", options.resultId);
      return setFlowRunState(store, request.params.id, state, options);
    },
  );

  app.post<{ Params: IdParams; Reply: FlowRun }>(
    "/api/flow-runs/:id/cancel",
    {
      schema: {
        tags: ["flow runs"],
        summary: "Cancel a run: Cancelled if it has not started, else Cancelling until its process stops",
        params: idParams,
        response: { 200: flowRun, ...errorResponses(404, 409) },
      },
    },
    // A refusal is an InvalidTransitionError (409), a missing run a RunNotFoundError (404).
    async (request) => cancelFlowRun(store, request.params.id, "cancelled through the API"),
  );

  app.post<{ Params: IdParams; Reply: FlowRun }>(
    "/api/flow-runs/:id/retry",
    {
      schema: {
        tags: ["flow runs"],
        summary:
          "Schedule a Failed, Crashed or Cancelled run of a work pool to be resumed by a worker (AwaitingRetry); finished tasks are reused. " +
          "A run without a work pool is a 409: resume it with `baton flow-run retry <id>` where the flow's code is.",
        params: idParams,
        response: { 200: flowRun, ...errorResponses(404, 409) },
      },
    },
    // A missing run is a 404, one no worker could pick up a 409 NO_WORKER_CAN_RUN_IT (left as it is).
    async (request) => retryFlowRun(store, request.params.id, "retry requested through the API"),
  );

  app.delete<{ Params: IdParams }>(
    "/api/flow-runs/:id",
    {
      schema: {
        tags: ["flow runs"],
        summary: "Delete a flow run with its task runs, states, logs and artifacts; its child flow runs lose their parent link",
        params: idParams,
        response: { 204: { type: "null" }, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      await deleteFlowRun(store, request.params.id);
      memory.forgetFlowRun(request.params.id);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: IdParams; Body: Heartbeat; Reply: HeartbeatAnswer }>(
    "/api/flow-runs/:id/heartbeat",
    {
      config: { access: { workerRuns: runInParams("id") } },
      schema: {
        tags: ["flow runs"],
        summary: "Record that the process running this flow run is alive",
        params: idParams,
        body: jsonSchema(HeartbeatSchema),
        response: { 200: jsonSchema(HeartbeatAnswerSchema), ...errorResponses(404) },
      },
    },
    async (request) => {
      // The server's clock, not the client's `at`: the crash detector compares with the server's.
      const stateType = await store.heartbeatFlowRun(request.params.id, Date.now());
      if (!stateType) throw notFound("flow run", request.params.id);
      return { stateType };
    },
  );

  app.post<{ Body: CrashStale; Reply: CrashStaleAnswer }>(
    "/api/flow-runs/crash-stale",
    {
      schema: {
        tags: ["flow runs"],
        summary: "Mark Crashed the running flow runs that missed three heartbeats",
        body: jsonSchema(CrashStaleSchema),
        response: { 200: jsonSchema(CrashStaleAnswerSchema) },
      },
    },
    async (request) => ({ crashed: await store.crashStaleFlowRuns(Date.now(), { onlyId: request.body?.onlyId, aliveSince: startedAt }) }),
  );
}

function list(value: string, allowed: readonly string[], field: string): string[] {
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items)
    if (!allowed.includes(item)) throw new ApiError(400, "VALIDATION_ERROR", `querystring.${field} has an unknown value "${excerpt(item)}"; expected ${allowed.join(", ")}`);
  return items;
}

/** A task job (engine/task-jobs.ts): a child of a task run, tagged as one. */
function isTaskJobBody(body: Record<string, unknown>): boolean {
  return typeof body.parentFlowRunId === "string" && typeof body.parentTaskRunId === "string" && Array.isArray(body.tags) && body.tags.includes(TASK_JOB_TAG);
}

/**
 * A worker key places a task job in a pool only to run code its run already runs: the task's
 * module must lie in the folder of the entrypoint of the run's nearest ancestor that has one (a
 * deployment's, which an admin made), so a worker host cannot make other pools' workers import
 * modules of its choosing. The parent is a worker's run (the workerRuns check, before this).
 */
async function checkWorkerTaskJob(store: Store, body: FlowRunCreate): Promise<void> {
  const refuse = (why: string) => new ApiError(403, "FORBIDDEN", `body.entrypoint: ${why}; a worker key may only place task jobs of modules in its run's entrypoint folder (this needs an admin API key)`);
  if (!body.entrypoint) throw refuse("a task job in a work pool needs the entrypoint of its task");
  let ancestor = await store.getFlowRun(body.parentFlowRunId!);
  for (let depth = 0; ancestor && !ancestor.entrypoint && ancestor.parentFlowRunId && depth < 100; depth++) ancestor = await store.getFlowRun(ancestor.parentFlowRunId);
  if (!ancestor?.entrypoint) throw refuse("its parent run has no entrypoint to compare it with");
  const folder = path.posix.dirname(path.posix.normalize(splitEntrypoint(ancestor.entrypoint).file.split(path.sep).join("/")));
  let file: string;
  try {
    file = path.posix.normalize(splitEntrypoint(body.entrypoint).file.split(path.sep).join("/"));
  } catch (error) {
    throw new ApiError(400, "BAD_REQUEST", `body.entrypoint: ${(error as Error).message}`);
  }
  if (path.posix.isAbsolute(file) !== path.posix.isAbsolute(folder) && folder !== ".") throw refuse(`${file} and ${ancestor.entrypoint} must both be absolute or both relative`);
  const inside = folder === "." ? !file.startsWith("../") && !path.posix.isAbsolute(file) : file.startsWith(`${folder}/`);
  if (!inside) throw refuse(`${file} is not in ${folder}, the folder of ${ancestor.entrypoint}`);
}
