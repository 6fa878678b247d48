/**
 * Deployments, work pools, queues, workers and concurrency limits. Runs of a deployment and
 * claims are use cases of services/ (deployment-runs.ts, claims.ts); these routes parse the
 * request, call them and answer.
 */
import type { FastifyInstance } from "fastify";
import { compileSchedule, nextSlots, type ScheduleSpec } from "../../core/schedule.ts";
import { refusedEnvName } from "../../core/job-variables.ts";
import type { Deployment, OrchestrationStore, RunStore, ScheduleRecord } from "../../store/types.ts";
import { ApiError, notFound } from "../errors.ts";
import { checkParameters, parameterSchemaProblem } from "../../services/parameters.ts";
import { checkJobVariablesEnv } from "../../services/job-variables.ts";
import { createDeploymentRun } from "../../services/deployment-runs.ts";
import { claimForWorker, type ClaimRequest } from "../../services/claims.ts";
import { ClaimWaits } from "../claim-waits.ts";
import { errorResponses, jsonSchema } from "../schemas.ts";
import { withJobVariablesFor } from "../job-variable-masking.ts";
import { IdParamsSchema, NameParamsSchema, type IdParams, type NameParams } from "../../schemas/fields.ts";
import { FlowRunSchema, type FlowRun } from "../../schemas/flow-run.ts";
import {
  DeploymentInputSchema,
  DeploymentListSchema,
  DeploymentPatchSchema,
  DeploymentRunSchema,
  DeploymentSchema,
  ScheduleInputSchema,
  ScheduleListSchema,
  ScheduleParamsSchema,
  SchedulePreviewInputSchema,
  SchedulePreviewSchema,
  ScheduleSchema,
  type DeploymentInputBody,
  type DeploymentList,
  type DeploymentPatch,
  type DeploymentRun,
  type ScheduleInput,
  type ScheduleList,
  type ScheduleParams,
  type SchedulePreview,
  type SchedulePreviewInput,
} from "../../schemas/deployment.ts";
import {
  NextDueSchema,
  QueueParamsSchema,
  WorkPoolInputSchema,
  WorkPoolListSchema,
  WorkPoolSchema,
  WorkPoolWithWorkersSchema,
  WorkQueueInputSchema,
  WorkQueueSchema,
  type NextDue,
  type QueueParams,
  type WorkPool,
  type WorkPoolInputBody,
  type WorkPoolList,
  type WorkPoolWithWorkers,
  type WorkQueue,
  type WorkQueueInput,
} from "../../schemas/work-pool.ts";
import {
  ClaimAnswerSchema,
  ClaimSchema,
  WorkerRegistrationSchema,
  WorkerSchema,
  type Claim,
  type ClaimAnswer,
  type WorkerRecord,
  type WorkerRegistrationInput,
} from "../../schemas/worker.ts";
import {
  AcquireAnswerSchema,
  AcquireSchema,
  ConcurrencyLimitInputSchema,
  ConcurrencyLimitListSchema,
  ConcurrencyLimitSchema,
  ReleaseSchema,
  RenewAnswerSchema,
  RenewSchema,
  type Acquire,
  type AcquireAnswer,
  type ConcurrencyLimit,
  type ConcurrencyLimitInput,
  type ConcurrencyLimitList,
  type Release,
  type Renew,
  type RenewAnswer,
} from "../../schemas/concurrency-limit.ts";
import { checkConfigRefs, deploymentRefChecks, type RefStores } from "../../services/config-refs.ts";
import { deleteWorkQueue, upsertWorkPool } from "../../services/work-pools.ts";
import { addSchedule, deleteSchedule, listSchedules, previewSchedule, scheduleText, updateSchedule } from "../../services/deployment-schedules.ts";

const nameParams = jsonSchema(NameParamsSchema);
const errors = errorResponses(400, 404, 409);
const deploymentAnswer = { 200: jsonSchema(DeploymentSchema), ...errors };
/** A create-or-update answers 201 when it created, 200 when it updated. */
const createdOrUpdated = <T>(answer: T) => ({ 200: answer, 201: answer, ...errors });
const poolAnswer = { 200: jsonSchema(WorkPoolWithWorkersSchema), ...errors };
const limitAnswer = { 200: jsonSchema(ConcurrencyLimitSchema), ...errors };
/** Why only admins set job variables (the roles that may change deployments and pools): they run code. */
export const JOB_VARIABLES_NEED_ADMIN = "job variables set the environment and working directory of the run's process on a worker's host (NODE_OPTIONS alone runs any code there)";

/** A store that can tell when a pool may have runs to hand out (the database stores can). */
function canSubscribe(store: RunStore): store is RunStore & { subscribeRunsDue(listener: (pool: string) => void): Promise<() => Promise<void>> } {
  return typeof (store as { subscribeRunsDue?: unknown }).subscribeRunsDue === "function";
}

export function orchestrationRoutes(app: FastifyInstance, store: RunStore, orchestration: OrchestrationStore, refs: RefStores): void {
  const deployment = async (idOrName: string) => {
    const found = await orchestration.getDeployment(idOrName);
    if (!found) throw notFound("deployment", idOrName);
    return found;
  };

  app.post<{ Body: DeploymentInputBody; Reply: Deployment }>(
    "/api/deployments",
    { schema: { tags: ["deployments"], summary: "Create or update a deployment (by name): 201 when it is new, 200 when it was updated", body: jsonSchema(DeploymentInputSchema), response: createdOrUpdated(jsonSchema(DeploymentSchema)) } },
    async (request, reply) => {
      const input = request.body;
      const schedules = (input.schedules ?? []).map((s, i) => {
        try {
          return { spec: compileSchedule(s.spec) as unknown as ScheduleRecord["spec"], active: s.active };
        } catch (error) {
          throw new ApiError(400, "VALIDATION_ERROR", `body.schedules[${i}]: ${(error as Error).message}`);
        }
      });
      if (input.parameterSchema) {
        const problem = parameterSchemaProblem(input.parameterSchema);
        if (problem) throw new ApiError(400, "VALIDATION_ERROR", `body.parameterSchema is not a valid JSON Schema: ${problem}`);
        checkParameters(input.parameterSchema, { ...(input.parameters ?? {}) });
      }
      const pool = input.workPool ? await orchestration.getWorkPool(input.workPool) : null;
      if (input.workPool && !pool) throw new ApiError(400, "VALIDATION_ERROR", `body.workPool: work pool "${input.workPool}" does not exist; create it first`);
      await checkJobVariablesEnv(orchestration, input.workPool, input.jobVariables, "body.jobVariables", pool?.allowEnv ?? []);
      await checkConfigRefs(refs, deploymentRefChecks(input, { parameters: "body.parameters", jobVariables: "body.jobVariables" }));
      const existed = await orchestration.getDeployment(input.name);
      return reply.status(existed ? 200 : 201).send(await orchestration.upsertDeployment({ ...input, schedules: input.schedules ? schedules : undefined }));
    },
  );

  app.get<{ Reply: DeploymentList }>("/api/deployments", { schema: { tags: ["deployments"], summary: "List deployments, each with its next three scheduled times (job variables' env values masked for non-admin keys)", response: { 200: jsonSchema(DeploymentListSchema), ...errors } } }, async (request) => {
    const now = Date.now();
    return {
      items: (await orchestration.listDeployments()).map((d) => ({
        ...withJobVariablesFor(request.apiKeyRole, d),
        nextRuns: d.paused
          ? []
          : d.schedules
              .filter((s) => s.active)
              .flatMap((s) => nextSlots(s.spec as unknown as ScheduleSpec, now, { until: now + 366 * 86_400_000, limit: 3 }))
              .sort((a, b) => a - b)
              .slice(0, 3),
        scheduleText: d.schedules.map(scheduleText),
      })),
    };
  });

  app.get<{ Params: NameParams; Reply: Deployment }>(
    "/api/deployments/:name",
    { schema: { tags: ["deployments"], summary: "Get a deployment by id or name (job variables' env values masked for non-admin keys)", params: nameParams, response: deploymentAnswer } },
    async (request) => withJobVariablesFor(request.apiKeyRole, await deployment(request.params.name)),
  );

  app.patch<{ Params: NameParams; Body: DeploymentPatch; Reply: Deployment }>(
    "/api/deployments/:name",
    {
      schema: {
        tags: ["deployments"],
        summary: "Change some of a deployment's own fields (description, tags, default parameters, concurrency, retries); the rest stays",
        params: nameParams,
        body: jsonSchema(DeploymentPatchSchema),
        response: { 200: jsonSchema(DeploymentSchema), ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const current = await deployment(request.params.name);
      const patch = request.body;
      if (Object.keys(patch).length === 0) throw new ApiError(400, "VALIDATION_ERROR", "body: name at least one field to change (description, tags, parameters, concurrencyLimit, collisionStrategy, retries, retryDelayMs)");
      if (patch.parameters && current.parameterSchema) checkParameters(current.parameterSchema, { ...patch.parameters });
      if (patch.parameters) await checkConfigRefs(refs, deploymentRefChecks({ parameters: patch.parameters }, { parameters: "body.parameters", jobVariables: "body.jobVariables" }));
      const { id: _id, createdAt: _c, updatedAt: _u, paused: _p, schedules: _s, ...fields } = current;
      const updated = await orchestration.upsertDeployment({ ...fields, ...patch });
      return withJobVariablesFor(request.apiKeyRole, updated);
    },
  );

  app.delete<{ Params: NameParams }>(
    "/api/deployments/:name",
    { schema: { tags: ["deployments"], summary: "Delete a deployment (and its future scheduled runs)", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await orchestration.deleteDeployment(request.params.name))) throw notFound("deployment", request.params.name);
      return reply.status(204).send();
    },
  );

  for (const [action, paused] of [["pause", true], ["resume", false]] as const)
    app.post<{ Params: NameParams; Reply: Deployment }>(
      `/api/deployments/:name/${action}`,
      { schema: { tags: ["deployments"], summary: `${action === "pause" ? "Pause" : "Resume"} a deployment's schedules and runs`, params: nameParams, response: deploymentAnswer } },
      async (request) => {
        const updated = await orchestration.setDeploymentPaused(request.params.name, paused);
        if (!updated) throw notFound("deployment", request.params.name);
        return updated;
      },
    );

  for (const [action, active] of [["pause", false], ["resume", true]] as const)
    app.post<{ Params: ScheduleParams; Reply: Deployment }>(
      `/api/deployments/:name/schedules/:id/${action}`,
      {
        schema: {
          tags: ["deployments"],
          summary: `${action === "pause" ? "Pause" : "Resume"} one schedule of a deployment`,
          params: jsonSchema(ScheduleParamsSchema),
          response: deploymentAnswer,
        },
      },
      async (request) => {
        const updated = await orchestration.setScheduleActive(request.params.name, request.params.id, active);
        if (!updated) throw notFound("schedule", `${request.params.id} of deployment ${request.params.name}`);
        return updated;
      },
    );

  app.post<{ Params: NameParams; Body: ScheduleInput; Reply: ScheduleRecord }>(
    "/api/deployments/:name/schedules",
    {
      schema: {
        tags: ["deployments"],
        summary: "Add a schedule to a deployment (the scheduler makes its runs on its next pass)",
        params: nameParams,
        body: jsonSchema(ScheduleInputSchema),
        response: { 201: jsonSchema(ScheduleSchema), ...errors },
      },
    },
    async (request, reply) => reply.status(201).send(await addSchedule(orchestration, request.params.name, request.body, { specField: "body.spec" })),
  );
  app.get<{ Params: NameParams; Reply: ScheduleList }>(
    "/api/deployments/:name/schedules",
    {
      schema: {
        tags: ["deployments"],
        summary: "A deployment's schedules, each described, with its next five slot times",
        params: nameParams,
        response: { 200: jsonSchema(ScheduleListSchema), ...errorResponses(404) },
      },
    },
    async (request) => listSchedules(orchestration, request.params.name, { count: 5, after: Date.now() }),
  );
  app.put<{ Params: ScheduleParams; Body: ScheduleInput; Reply: ScheduleRecord }>(
    "/api/deployments/:name/schedules/:id",
    {
      schema: {
        tags: ["deployments"],
        summary: "Change a schedule of a deployment (its future runs are made again from the new spec)",
        params: jsonSchema(ScheduleParamsSchema),
        body: jsonSchema(ScheduleInputSchema),
        response: { 200: jsonSchema(ScheduleSchema), ...errors },
      },
    },
    async (request) => updateSchedule(orchestration, request.params.name, request.params.id, request.body, { specField: "body.spec" }),
  );
  app.delete<{ Params: ScheduleParams }>(
    "/api/deployments/:name/schedules/:id",
    {
      schema: {
        tags: ["deployments"],
        summary: "Delete a schedule of a deployment, with the future runs it made",
        params: jsonSchema(ScheduleParamsSchema),
        response: { 204: { type: "null" }, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      await deleteSchedule(orchestration, request.params.name, request.params.id);
      return reply.status(204).send();
    },
  );
  app.post<{ Body: SchedulePreviewInput; Reply: SchedulePreview }>(
    "/api/schedules/preview",
    {
      schema: {
        tags: ["deployments"],
        summary: "Check a schedule spec and answer its next slot times (nothing is stored)",
        body: jsonSchema(SchedulePreviewInputSchema),
        response: { 200: jsonSchema(SchedulePreviewSchema), ...errorResponses(400) },
      },
    },
    async (request) => previewSchedule(request.body.spec, { count: request.body.count ?? 5, after: request.body.after ?? Date.now(), field: "body.spec" }),
  );

  app.post<{ Params: NameParams; Body: DeploymentRun; Reply: FlowRun }>(
    "/api/deployments/:name/runs",
    {
      config: { access: { adminFields: { jobVariables: JOB_VARIABLES_NEED_ADMIN } } },
      schema: {
        tags: ["deployments"],
        summary: "Create a run of a deployment; parameters are validated against its schema",
        params: nameParams,
        body: jsonSchema(DeploymentRunSchema),
        response: { 201: jsonSchema(FlowRunSchema), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { run } = await createDeploymentRun({ runs: store, deployments: orchestration, refs }, request.params.name, request.body ?? {}, { parametersField: "body.parameters", jobVariablesField: "body.jobVariables", workQueueField: "body.workQueue" });
      return reply.status(201).send(run);
    },
  );

  // --- work pools, queues, workers ---
  app.post<{ Body: WorkPoolInputBody; Reply: WorkPool }>(
    "/api/work-pools",
    {
      schema: {
        tags: ["work pools"],
        summary: "Create or update a work pool: 201 when it is new, 200 when it was updated",
        body: jsonSchema(WorkPoolInputSchema),
        response: createdOrUpdated(jsonSchema(WorkPoolSchema)),
      },
    },
    async (request, reply) => {
      const { name: poolName, jobVariables, allowEnv } = request.body;
      const existing = await orchestration.getWorkPool(poolName);
      const allowed = allowEnv ?? existing?.allowEnv ?? [];
      if (jobVariables) await checkJobVariablesEnv(orchestration, poolName, jobVariables, "body.jobVariables", allowed);
      else if (existing && refusedEnvName(existing.jobVariables.env, allowed) !== null)
        throw new ApiError(
          400,
          "VALIDATION_ERROR",
          `body.allowEnv leaves out ${refusedEnvName(existing.jobVariables.env, allowed)}, which work pool "${poolName}" sets in its own job variables: send jobVariables without it too`,
        );
      return reply.status(existing ? 200 : 201).send(await upsertWorkPool({ pools: orchestration, refs }, request.body, { jobVariablesField: "body.jobVariables" }));
    },
  );
  app.get<{ Reply: WorkPoolList }>("/api/work-pools", { schema: { tags: ["work pools"], summary: "List work pools with queues and workers (job variables' env values masked for non-admin keys)", response: { 200: jsonSchema(WorkPoolListSchema), ...errors } } }, async (request) => {
    const [pools, workers] = await Promise.all([orchestration.listWorkPools(), orchestration.listWorkers()]);
    return { items: pools.map((p) => ({ ...withJobVariablesFor(request.apiKeyRole, p), workers: workers.filter((w) => w.poolName === p.name) })) };
  });
  app.get<{ Params: NameParams; Reply: WorkPoolWithWorkers }>(
    "/api/work-pools/:name",
    { schema: { tags: ["work pools"], summary: "Get a work pool (job variables' env values masked for non-admin keys)", params: nameParams, response: poolAnswer } },
    async (request) => {
      const pool = await orchestration.getWorkPool(request.params.name);
      if (!pool) throw notFound("work pool", request.params.name);
      return { ...withJobVariablesFor(request.apiKeyRole, pool), workers: await orchestration.listWorkers(pool.name) };
    },
  );
  app.delete<{ Params: NameParams }>(
    "/api/work-pools/:name",
    { schema: { tags: ["work pools"], summary: "Delete a work pool", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await orchestration.deleteWorkPool(request.params.name))) throw notFound("work pool", request.params.name);
      return reply.status(204).send();
    },
  );
  app.post<{ Params: NameParams; Body: WorkQueueInput; Reply: WorkQueue }>(
    "/api/work-pools/:name/queues",
    {
      schema: {
        tags: ["work pools"],
        summary: "Create or update a queue of a work pool: 201 when it is new, 200 when it was updated",
        params: nameParams,
        body: jsonSchema(WorkQueueInputSchema),
        response: createdOrUpdated(jsonSchema(WorkQueueSchema)),
      },
    },
    async (request, reply) => {
      const pool = await orchestration.getWorkPool(request.params.name);
      if (!pool) throw notFound("work pool", request.params.name);
      const existed = pool.queues.some((q) => q.name === request.body.name);
      return reply.status(existed ? 200 : 201).send(await orchestration.upsertWorkQueue({ poolName: request.params.name, ...request.body }));
    },
  );
  app.delete<{ Params: QueueParams }>(
    "/api/work-pools/:name/queues/:queue",
    {
      schema: {
        tags: ["work pools"],
        summary: "Delete a queue of a work pool (not its default queue, nor one that deployments use)",
        params: jsonSchema(QueueParamsSchema),
        response: { 204: { type: "null" }, ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      await deleteWorkQueue(orchestration, request.params.name, request.params.queue);
      return reply.status(204).send();
    },
  );
  app.post<{ Params: NameParams; Body: WorkerRegistrationInput; Reply: WorkerRecord }>(
    "/api/work-pools/:name/workers",
    {
      schema: {
        tags: ["work pools"],
        summary: "Register a worker (its runs are Crashed once it misses three heartbeatMs beats): 201 when it is new, 200 when it registers again",
        params: nameParams,
        body: jsonSchema(WorkerRegistrationSchema),
        response: createdOrUpdated(jsonSchema(WorkerSchema)),
      },
    },
    async (request, reply) => {
      if (!(await orchestration.getWorkPool(request.params.name))) throw notFound("work pool", request.params.name);
      const existed = (await orchestration.listWorkers()).some((w) => w.id === request.body.id);
      return reply.status(existed ? 200 : 201).send(await orchestration.registerWorker({ ...request.body, poolName: request.params.name, runLimit: request.body.runLimit ?? null }));
    },
  );
  app.post<{ Params: IdParams }>(
    "/api/workers/:id/heartbeat",
    {
      schema: { tags: ["work pools"], summary: "A worker's heartbeat", params: jsonSchema(IdParamsSchema), response: { 204: { type: "null" } } },
    },
    async (request, reply) => {
      await orchestration.heartbeatWorker(request.params.id, Date.now());
      return reply.status(204).send();
    },
  );
  // Long-polled claims, woken by the store's hints (runs scheduled or ended; on PostgreSQL by
  // any process) and released when the server closes.
  const waits = new ClaimWaits(orchestration);
  let unsubscribe: (() => Promise<void>) | null = null;
  if (canSubscribe(store)) app.addHook("onReady", async () => void (unsubscribe = await store.subscribeRunsDue((pool) => waits.wake(pool))));
  app.addHook("preClose", async () => {
    waits.close();
    await unsubscribe?.();
  });
  app.post<{ Params: NameParams; Body: Claim; Reply: ClaimAnswer }>(
    "/api/work-pools/:name/claim",
    {
      schema: {
        tags: ["work pools"],
        summary: "Claim due flow runs for a worker (atomic: no run is handed out twice); with waitMs, wait up to that long for one (long-poll)",
        params: nameParams,
        body: jsonSchema(ClaimSchema),
        response: { 200: jsonSchema(ClaimAnswerSchema), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const { workerId, max, waitMs = 0 } = request.body;
      let left = false;
      const onClose = () => {
        left = true;
        waits.interrupt(workerId);
      };
      reply.raw.once("close", onClose);
      try {
        const claim = (r: ClaimRequest, gone: () => boolean) => waits.claim(r.pool, r.workerId, r.max, r.waitMs, gone);
        return { items: await claimForWorker(claim, store, { pool: request.params.name, workerId, max, waitMs }, () => left) };
      } finally {
        reply.raw.off("close", onClose);
      }
    },
  );
  app.post<{ Params: IdParams }>(
    "/api/workers/:id/interrupt-claim",
    {
      schema: {
        tags: ["work pools"],
        summary: "End a worker's long-polled claim now (the worker is stopping)",
        params: jsonSchema(IdParamsSchema),
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      waits.interrupt(request.params.id);
      return reply.status(204).send();
    },
  );
  app.get<{ Params: NameParams; Reply: NextDue }>(
    "/api/work-pools/:name/next-due",
    { schema: { tags: ["work pools"], summary: "When the pool's next scheduled run is due", params: nameParams, response: { 200: jsonSchema(NextDueSchema), ...errors } } },
    async (request) => ({ dueAt: await orchestration.nextDueAt(request.params.name) }),
  );

  // --- concurrency limits ---
  app.post<{ Body: ConcurrencyLimitInput; Reply: ConcurrencyLimit }>(
    "/api/concurrency-limits",
    {
      schema: {
        tags: ["concurrency"],
        summary: "Create or update a concurrency limit (or a rate limit, with slotDecayPerSecond): 201 when it is new, 200 when it was updated",
        body: jsonSchema(ConcurrencyLimitInputSchema),
        response: createdOrUpdated(jsonSchema(ConcurrencyLimitSchema)),
      },
    },
    async (request, reply) => {
      const existed = await orchestration.getConcurrencyLimit(request.body.name);
      return reply.status(existed ? 200 : 201).send(await orchestration.upsertConcurrencyLimit(request.body));
    },
  );
  app.get<{ Reply: ConcurrencyLimitList }>("/api/concurrency-limits", { schema: { tags: ["concurrency"], summary: "List limits with their holders", response: { 200: jsonSchema(ConcurrencyLimitListSchema), ...errors } } }, async () => ({
    items: await orchestration.listConcurrencyLimits(),
  }));
  app.get<{ Params: NameParams; Reply: ConcurrencyLimit }>(
    "/api/concurrency-limits/:name",
    { schema: { tags: ["concurrency"], summary: "Get a limit with its holders", params: nameParams, response: limitAnswer } },
    async (request) => {
      const limit = await orchestration.getConcurrencyLimit(request.params.name);
      if (!limit) throw notFound("concurrency limit", request.params.name);
      return limit;
    },
  );
  app.delete<{ Params: NameParams }>(
    "/api/concurrency-limits/:name",
    { schema: { tags: ["concurrency"], summary: "Delete a limit", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await orchestration.deleteConcurrencyLimit(request.params.name))) throw notFound("concurrency limit", request.params.name);
      return reply.status(204).send();
    },
  );
  app.post<{ Params: NameParams; Reply: ConcurrencyLimit }>(
    "/api/concurrency-limits/:name/reset",
    { schema: { tags: ["concurrency"], summary: "Free every slot of a limit", params: nameParams, response: limitAnswer } },
    async (request) => {
      if (!(await orchestration.getConcurrencyLimit(request.params.name))) throw notFound("concurrency limit", request.params.name);
      await orchestration.resetConcurrencyLimit(request.params.name);
      return (await orchestration.getConcurrencyLimit(request.params.name))!;
    },
  );
  app.post<{ Body: Acquire; Reply: AcquireAnswer }>(
    "/api/concurrency-limits/acquire",
    {
      schema: {
        tags: ["concurrency"],
        summary: "Take slots of limits, all or nothing; leases expire unless renewed",
        body: jsonSchema(AcquireSchema),
        response: { 200: jsonSchema(AcquireAnswerSchema), ...errors },
      },
    },
    async (request) => {
      const { names, holder, slots, ttlMs } = request.body;
      try {
        const leases = await orchestration.acquireSlots(names, holder, slots, ttlMs, Date.now());
        return { acquired: leases !== null, leases: leases ?? [] };
      } catch (error) {
        if (error instanceof RangeError) throw new ApiError(400, "VALIDATION_ERROR", error.message);
        throw error;
      }
    },
  );
  app.post<{ Body: Renew; Reply: RenewAnswer }>(
    "/api/concurrency-leases/renew",
    {
      schema: {
        tags: ["concurrency"],
        summary: "Extend leases (holders heartbeat this); answers the ids extended — a missing one was lost",
        body: jsonSchema(RenewSchema),
        response: { 200: jsonSchema(RenewAnswerSchema) },
      },
    },
    async (request) => ({ renewed: await orchestration.renewLeases(request.body.ids, request.body.ttlMs, Date.now()) }),
  );
  app.post<{ Body: Release }>(
    "/api/concurrency-leases/release",
    {
      schema: {
        tags: ["concurrency"],
        summary: "Give slots back",
        body: jsonSchema(ReleaseSchema),
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      await orchestration.releaseLeases(request.body.ids);
      return reply.status(204).send();
    },
  );
}
