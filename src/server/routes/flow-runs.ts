/** Flow runs: create, list (filters, cursor pages), get, history, set state, cancel, retry, delete, heartbeat. */
import type { FastifyInstance } from "fastify";
import { newId } from "../../core/ids.ts";
import { randomRunName } from "../../core/run-names.ts";
import { makeState, STATE_NAMES, STATE_TYPES, type StateName, type StateType } from "../../core/states.ts";
import type { FlowRunFilter, OrchestrationStore, Store } from "../../store/types.ts";
import { JOB_VARIABLES_NEED_ADMIN, jobVariablesSchema } from "./orchestration.ts";
import { ADMIN_AND_WORKER, runInBody, runInParams } from "../access.ts";
import type { JobVariables } from "../../core/job-variables.ts";
import { ApiError, notFound } from "../errors.ts";
import { excerpt } from "../../core/excerpt.ts";
import { classifyDatabaseError } from "../../store/db-errors.ts";
import { cancelFlowRun } from "../../services/cancel-flow-run.ts";
import { retryFlowRun } from "../../services/retry-flow-run.ts";
import { deleteFlowRun } from "../../services/delete-flow-run.ts";
import { setFlowRunState } from "../../services/set-flow-run-state.ts";
import { deploymentRunParameters, deploymentRunTags } from "../../services/deployment-runs.ts";
import { checkJobVariablesEnv } from "../../services/job-variables.ts";
import { errorResponses, int32, ms, proposedStateSchema, uuid } from "../schemas.ts";

const idParams = { type: "object", properties: { id: uuid }, required: ["id"] } as const;
const csv = { type: "string", maxLength: 2000 } as const;

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

export function flowRunRoutes(app: FastifyInstance, store: Store, orchestration: OrchestrationStore, memory: RunMemory = NO_MEMORY): void {
  // Heartbeats sent while this server was down never arrived: missed beats count from its start.
  const startedAt = Date.now();
  app.post<{
    Body: {
      flowName: string;
      id?: string;
      name?: string;
      parameters?: Record<string, unknown>;
      tags?: string[];
      state?: "Scheduled" | "Pending";
      message?: string | null;
      scheduledAt?: number;
      parentFlowRunId?: string | null;
      parentTaskRunId?: string | null;
      version?: string | null;
      entrypoint?: string | null;
      deploymentId?: string | null;
      workPool?: string | null;
      workQueue?: string | null;
      jobVariables?: JobVariables | null;
    };
  }>(
    "/api/flow-runs",
    {
      config: {
        // A worker key creates the child flow runs of its runs, nothing else.
        access: {
          roles: ADMIN_AND_WORKER,
          adminFields: {
            jobVariables: JOB_VARIABLES_NEED_ADMIN,
            deploymentId: "runs of a deployment are started by admins",
            workPool: "a run in a work pool is claimed and started by workers on their hosts",
            workQueue: "a run in a work pool is claimed and started by workers on their hosts",
          },
          workerRuns: runInBody("parentFlowRunId"),
        },
      },
      schema: {
        tags: ["flow runs"],
        summary: "Create a flow run (Scheduled or Pending)",
        body: {
          type: "object",
          properties: {
            flowName: { type: "string", minLength: 1, maxLength: 200 },
            id: uuid,
            name: { type: "string", minLength: 1, maxLength: 200 },
            parameters: { type: "object" },
            tags: { type: "array", items: { type: "string", maxLength: 100 }, maxItems: 50 },
            state: { type: "string", enum: ["Scheduled", "Pending"] },
            message: { anyOf: [{ type: "string", maxLength: 10_000 }, { type: "null" }], description: "the first state's message: who made the run, or why" },
            scheduledAt: ms,
            parentFlowRunId: { anyOf: [uuid, { type: "null" }] },
            parentTaskRunId: { anyOf: [uuid, { type: "null" }] },
            version: { anyOf: [{ type: "string", maxLength: 100 }, { type: "null" }] },
            entrypoint: { anyOf: [{ type: "string", maxLength: 2000 }, { type: "null" }] },
            deploymentId: { anyOf: [uuid, { type: "null" }] },
            workPool: { anyOf: [{ type: "string", maxLength: 200 }, { type: "null" }] },
            workQueue: { anyOf: [{ type: "string", maxLength: 200 }, { type: "null" }] },
            jobVariables: { anyOf: [jobVariablesSchema, { type: "null" }] },
          },
          required: ["flowName"],
          additionalProperties: false,
        },
        response: { 201: { $ref: "FlowRun#" }, ...errorResponses(400, 404, 409) },
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
      await checkJobVariablesEnv(orchestration, body.workPool, body.jobVariables, "body.jobVariables");
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

  app.get<{
    Querystring: { flow?: string; state?: string; stateType?: string; tag?: string; since?: number; until?: number; parent?: string; deployment?: string; limit?: number; cursor?: string };
  }>(
    "/api/flow-runs",
    {
      schema: {
        tags: ["flow runs"],
        summary: "List flow runs, newest first",
        querystring: {
          type: "object",
          properties: {
            flow: { type: "string", maxLength: 200 },
            state: { ...csv, description: "state names, comma-separated" },
            stateType: { ...csv, description: "state types, comma-separated" },
            tag: { ...csv, description: "tags the runs must all carry, comma-separated" },
            since: { ...ms, description: "created at or after (epoch ms)" },
            until: { ...ms, description: "created before (epoch ms)" },
            parent: uuid,
            deployment: { ...uuid, description: "deployment id" },
            limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
            cursor: { type: "string", maxLength: 200 },
          },
          additionalProperties: false,
        },
        response: {
          200: { type: "object", properties: { items: { type: "array", items: { $ref: "FlowRun#" } }, nextCursor: { anyOf: [{ type: "string" }, { type: "null" }] } } },
          ...errorResponses(400),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const filter: FlowRunFilter = { limit: q.limit ?? 50, cursor: q.cursor, flowName: q.flow, parentFlowRunId: q.parent, deploymentId: q.deployment, createdAfter: q.since, createdBefore: q.until };
      if (q.state) filter.stateNames = list(q.state, STATE_NAMES, "state") as StateName[];
      if (q.stateType) filter.stateTypes = list(q.stateType.toUpperCase(), STATE_TYPES, "stateType") as StateType[];
      if (q.tag) filter.tags = q.tag.split(",").filter(Boolean);
      return store.pageFlowRuns(filter);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/flow-runs/:id",
    { schema: { tags: ["flow runs"], summary: "Get a flow run", params: idParams, response: { 200: { $ref: "FlowRun#" }, ...errorResponses(404) } } },
    async (request) => {
      const run = await store.getFlowRun(request.params.id);
      if (!run) throw notFound("flow run", request.params.id);
      return run;
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/flow-runs/:id/states",
    {
      schema: {
        tags: ["flow runs"],
        summary: "A flow run's state history, oldest first",
        params: idParams,
        response: { 200: { type: "array", items: { $ref: "StateRecord#" } }, ...errorResponses(404) },
      },
    },
    async (request) => {
      if (!(await store.getFlowRun(request.params.id))) throw notFound("flow run", request.params.id);
      return store.stateHistory(request.params.id);
    },
  );

  app.post<{
    Params: { id: string };
    Body: {
      state: { name: StateName; message?: string | null; scheduledAt?: number | null; timestamp?: number };
      force?: boolean;
      resultId?: string | null;
      error?: { name: string; message: string; stack?: string } | null;
      runCount?: number;
      heartbeatMs?: number;
      expect?: { workerId?: string; stateTimestamp?: number };
    };
  }>(
    "/api/flow-runs/:id/set-state",
    {
      config: { access: { roles: ADMIN_AND_WORKER, adminFields: { force: "forcing a transition skips the orchestration rules" }, workerRuns: runInParams("id") } },
      schema: {
        tags: ["flow runs"],
        summary: "Propose a state; refused transitions answer 409 with the rule",
        params: idParams,
        body: {
          type: "object",
          properties: {
            state: proposedStateSchema,
            force: { type: "boolean" },
            resultId: { anyOf: [uuid, { type: "null" }] },
            error: { anyOf: [{ $ref: "ErrorInfo#" }, { type: "null" }] },
            runCount: int32,
            heartbeatMs: { ...int32, minimum: 1 },
            expect: {
              type: "object",
              description: "compare-and-set: refused (409, rule RunChangedSinceRead) unless the run is still held by this worker / in the state of this timestamp",
              properties: { workerId: uuid, stateTimestamp: ms },
              additionalProperties: false,
            },
          },
          required: ["state"],
          additionalProperties: false,
        },
        response: { 200: { $ref: "FlowRun#" }, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) => {
      const { state, ...options } = request.body;
      if (options.resultId && !memory.knowsResult(options.resultId) && !(await store.getResult(options.resultId))) throw missing("resultId", "result", options.resultId);
      return setFlowRunState(store, request.params.id, state, options);
    },
  );

  app.post<{ Params: { id: string } }>(
    "/api/flow-runs/:id/cancel",
    {
      schema: {
        tags: ["flow runs"],
        summary: "Cancel a run: Cancelled if it has not started, else Cancelling until its process stops",
        params: idParams,
        response: { 200: { $ref: "FlowRun#" }, ...errorResponses(404, 409) },
      },
    },
    // A refusal is an InvalidTransitionError (409), a missing run a RunNotFoundError (404).
    async (request) => cancelFlowRun(store, request.params.id, "cancelled through the API"),
  );

  app.post<{ Params: { id: string } }>(
    "/api/flow-runs/:id/retry",
    {
      schema: {
        tags: ["flow runs"],
        summary:
          "Schedule a Failed, Crashed or Cancelled run of a work pool to be resumed by a worker (AwaitingRetry); finished tasks are reused. " +
          "A run without a work pool is a 409: resume it with `baton flow-run retry <id>` where the flow's code is.",
        params: idParams,
        response: { 200: { $ref: "FlowRun#" }, ...errorResponses(404, 409) },
      },
    },
    // A missing run is a 404, one no worker could pick up a 409 NO_WORKER_CAN_RUN_IT (left as it is).
    async (request) => retryFlowRun(store, request.params.id, "retry requested through the API"),
  );

  app.delete<{ Params: { id: string } }>(
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

  app.post<{ Params: { id: string }; Body: { at?: number } }>(
    "/api/flow-runs/:id/heartbeat",
    {
      config: { access: { roles: ADMIN_AND_WORKER, workerRuns: runInParams("id") } },
      schema: {
        tags: ["flow runs"],
        summary: "Record that the process running this flow run is alive",
        params: idParams,
        body: { type: "object", properties: { at: { ...ms, description: "ignored: the server records its own clock" } }, additionalProperties: false },
        response: { 200: { type: "object", properties: { stateType: { type: "string" } } }, ...errorResponses(404) },
      },
    },
    async (request) => {
      // The server's clock, not the client's `at`: the crash detector compares with the server's.
      const stateType = await store.heartbeatFlowRun(request.params.id, Date.now());
      if (!stateType) throw notFound("flow run", request.params.id);
      return { stateType };
    },
  );

  app.post<{ Body: { onlyId?: string } }>(
    "/api/flow-runs/crash-stale",
    {
      config: { access: { roles: ADMIN_AND_WORKER } },
      schema: {
        tags: ["flow runs"],
        summary: "Mark Crashed the running flow runs that missed three heartbeats",
        body: { type: "object", properties: { onlyId: uuid }, additionalProperties: false },
        response: { 200: { type: "object", properties: { crashed: { type: "array", items: { type: "string" } } } } },
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
