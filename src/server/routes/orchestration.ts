/**
 * Deployments, work pools, queues, workers and concurrency limits. A run created from a
 * deployment has its parameters checked against the deployment's JSON Schema here, so a bad
 * parameter is a 400 naming the field, not a run that fails later.
 */
import type { FastifyInstance } from "fastify";
import { Ajv, type ErrorObject } from "ajv";
import { newId } from "../../core/ids.ts";
import { randomRunName } from "../../core/run-names.ts";
import { makeState } from "../../core/states.ts";
import { compileSchedule, describeSchedule, nextSlots, type ScheduleSpec } from "../../core/schedule.ts";
import { ALLOW_ENV_ENTRY, ENV_NAME, refusedEnvMessage, refusedEnvName, type JobVariables } from "../../core/job-variables.ts";
import type { Deployment, DeploymentInput, OrchestrationStore, ScheduleRecord, Store, WorkPoolInput } from "../../store/types.ts";
import { ApiError, describeIssues, notFound } from "../errors.ts";
import { excerpt } from "../../core/excerpt.ts";
import { ClaimWaits } from "../claim-waits.ts";
import { errorResponses, flowRunSchema } from "../schemas.ts";
import { ADMIN_AND_WORKER } from "../access.ts";
import { withJobVariablesFor } from "../job-variable-masking.ts";
import { checkConfigRefs, deploymentRefChecks, type RefCheck, type RefStores } from "../config-refs.ts";
import { TemplateRefError } from "../../core/template-refs.ts";

const name = { type: "string", minLength: 1, maxLength: 200, pattern: "^[A-Za-z0-9_.:@/-]+$" } as const;
const nameParams = { type: "object", properties: { name: { type: "string", minLength: 1, maxLength: 200 } }, required: ["name"] } as const;
const positiveIntOrNull = { anyOf: [{ type: "integer", minimum: 1 }, { type: "null" }] } as const;
const ok = { 200: { type: "object", additionalProperties: true }, ...errorResponses(400, 404, 409) };
/** A claimed run: a FlowRun with the job variables to start it with. */
const claimedRun = { type: "object", properties: { ...flowRunSchema.properties, jobVariables: { type: "object", additionalProperties: true } } } as const;
/** Why only admins set job variables (the roles that may change deployments and pools): they run code. */
export const JOB_VARIABLES_NEED_ADMIN = "job variables set the environment and working directory of the run's process on a worker's host (NODE_OPTIONS alone runs any code there)";

/** Job variables (see core/job-variables.ts): env of the run's process and its working directory. */
export const jobVariablesSchema = {
  type: "object",
  properties: {
    env: { type: "object", propertyNames: { pattern: ENV_NAME.source }, additionalProperties: { type: "string", maxLength: 100_000 }, maxProperties: 500 },
    cwd: { type: "string", minLength: 1, maxLength: 4000 },
  },
  additionalProperties: false,
} as const;

const deploymentBody = {
  type: "object",
  properties: {
    name,
    flowName: { type: "string", minLength: 1, maxLength: 200 },
    entrypoint: { type: "string", minLength: 3, maxLength: 2000 },
    description: { anyOf: [{ type: "string", maxLength: 10_000 }, { type: "null" }] },
    version: { anyOf: [{ type: "string", maxLength: 100 }, { type: "null" }] },
    tags: { type: "array", items: { type: "string", maxLength: 100 }, maxItems: 50 },
    parameters: { type: "object" },
    parameterSchema: { anyOf: [{ type: "object" }, { type: "null" }] },
    workPool: { anyOf: [name, { type: "null" }] },
    workQueue: name,
    paused: { type: "boolean" },
    concurrencyLimit: positiveIntOrNull,
    collisionStrategy: { type: "string", enum: ["enqueue", "cancel-new"] },
    retries: { type: "integer", minimum: 0, maximum: 100 },
    retryDelayMs: { type: "integer", minimum: 0 },
    jobVariables: jobVariablesSchema,
    schedules: {
      type: "array",
      maxItems: 20,
      items: { type: "object", properties: { spec: { type: "object" }, active: { type: "boolean" } }, required: ["spec"], additionalProperties: false },
    },
  },
  required: ["name", "flowName", "entrypoint"],
  additionalProperties: false,
} as const;

const paramsAjv = new Ajv({ allErrors: true, strict: false, useDefaults: true, coerceTypes: false });
const validators = new Map<string, ReturnType<Ajv["compile"]>>();

/** Validates run parameters against a deployment's JSON Schema; the message names each field. */
export function checkParameters(schema: Record<string, unknown> | null, parameters: Record<string, unknown>): void {
  if (!schema) return;
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    validate = paramsAjv.compile(schema);
    validators.set(key, validate);
  }
  if (!validate(parameters)) {
    const { message, details } = describeIssues((validate.errors ?? []) as ErrorObject[], "parameters");
    throw new ApiError(400, "INVALID_PARAMETERS", message, details);
  }
}

/** The parameters of a new run of a deployment: its defaults under the given ones, checked against its JSON Schema (a 400 naming the field). */
function runParameters(deployment: Deployment, parameters: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...deployment.parameters, ...parameters };
  checkParameters(deployment.parameterSchema, merged);
  return merged;
}

/** `runParameters` of the deployment with this id, or a 404 for a deployment that does not exist. */
export async function checkDeploymentRun(orchestration: OrchestrationStore, deploymentId: string, parameters: Record<string, unknown>): Promise<Record<string, unknown>> {
  const deployment = await orchestration.getDeployment(deploymentId);
  if (!deployment) throw new ApiError(404, "NOT_FOUND", `body.deploymentId: deployment ${deploymentId} was not found`);
  return runParameters(deployment, parameters);
}

/**
 * A 400 for job variables (at `field`) that set an environment variable changing how the run's
 * process loads code, which the work pool `poolName` does not allow (a run without a pool
 * allows none). `allowEnv`: the pool's list, when the caller has it already.
 */
export async function checkJobVariablesEnv(
  orchestration: OrchestrationStore,
  poolName: string | null | undefined,
  jobVariables: JobVariables | null | undefined,
  field: string,
  allowEnv?: readonly string[],
): Promise<void> {
  // Most job variables set nothing of the kind: no pool lookup for them.
  if (refusedEnvName(jobVariables?.env, []) === null) return;
  const allowed = allowEnv ?? (poolName ? ((await orchestration.getWorkPool(poolName))?.allowEnv ?? []) : []);
  const refused = refusedEnvName(jobVariables?.env, allowed);
  if (refused) throw new ApiError(400, "VALIDATION_ERROR", refusedEnvMessage(field, refused, poolName ?? null), { field: `${field}.env.${refused}`, allowEnv: allowed });
}

/** A 400 naming the field for a reference to a variable or secret that does not exist or may not be used there. */
async function checkRefs(refs: RefStores, checks: readonly RefCheck[]): Promise<void> {
  try {
    await checkConfigRefs(refs, checks);
  } catch (error) {
    if (error instanceof TemplateRefError) throw new ApiError(400, "VALIDATION_ERROR", error.message, { field: error.field });
    throw error;
  }
}

/** A store that can tell when a pool may have runs to hand out (the database stores can). */
function canSubscribe(store: Store): store is Store & { subscribeRunsDue(listener: (pool: string) => void): Promise<() => Promise<void>> } {
  return typeof (store as { subscribeRunsDue?: unknown }).subscribeRunsDue === "function";
}

export function orchestrationRoutes(app: FastifyInstance, store: Store, orchestration: OrchestrationStore, refs: RefStores): void {
  const deployment = async (idOrName: string) => {
    const found = await orchestration.getDeployment(idOrName);
    if (!found) throw notFound("deployment", idOrName);
    return found;
  };

  app.post<{ Body: DeploymentInput }>(
    "/api/deployments",
    { schema: { tags: ["deployments"], summary: "Create or update a deployment (by name)", body: deploymentBody, response: ok } },
    async (request) => {
      const input = request.body;
      const schedules = (input.schedules ?? []).map((s, i) => {
        try {
          return { spec: compileSchedule(s.spec) as unknown as ScheduleRecord["spec"], active: s.active };
        } catch (error) {
          throw new ApiError(400, "VALIDATION_ERROR", `body.schedules[${i}]: ${(error as Error).message}`);
        }
      });
      if (input.parameterSchema) {
        try {
          paramsAjv.compile(input.parameterSchema);
        } catch (error) {
          throw new ApiError(400, "VALIDATION_ERROR", `body.parameterSchema is not a valid JSON Schema: ${excerpt((error as Error).message)}`);
        }
        checkParameters(input.parameterSchema, { ...(input.parameters ?? {}) });
      }
      const pool = input.workPool ? await orchestration.getWorkPool(input.workPool) : null;
      if (input.workPool && !pool) throw new ApiError(400, "VALIDATION_ERROR", `body.workPool: work pool "${input.workPool}" does not exist; create it first`);
      await checkJobVariablesEnv(orchestration, input.workPool, input.jobVariables, "body.jobVariables", pool?.allowEnv ?? []);
      await checkRefs(refs, deploymentRefChecks(input, { parameters: "body.parameters", jobVariables: "body.jobVariables" }));
      return orchestration.upsertDeployment({ ...input, schedules: input.schedules ? schedules : undefined });
    },
  );

  app.get("/api/deployments", { schema: { tags: ["deployments"], summary: "List deployments, each with its next three scheduled times (job variables' env values masked for non-admin keys)", response: ok } }, async (request) => {
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
        scheduleText: d.schedules.map((s) => `${describeSchedule(s.spec as unknown as ScheduleSpec)}${s.active ? "" : " (paused)"}`),
      })),
    };
  });

  app.get<{ Params: { name: string } }>(
    "/api/deployments/:name",
    { schema: { tags: ["deployments"], summary: "Get a deployment by id or name (job variables' env values masked for non-admin keys)", params: nameParams, response: ok } },
    async (request) => withJobVariablesFor(request.apiKeyRole, await deployment(request.params.name)),
  );

  app.delete<{ Params: { name: string } }>(
    "/api/deployments/:name",
    { schema: { tags: ["deployments"], summary: "Delete a deployment (and its future scheduled runs)", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await orchestration.deleteDeployment(request.params.name))) throw notFound("deployment", request.params.name);
      return reply.status(204).send();
    },
  );

  for (const [action, paused] of [["pause", true], ["resume", false]] as const)
    app.post<{ Params: { name: string } }>(
      `/api/deployments/:name/${action}`,
      { schema: { tags: ["deployments"], summary: `${action === "pause" ? "Pause" : "Resume"} a deployment's schedules and runs`, params: nameParams, response: ok } },
      async (request) => {
        const updated = await orchestration.setDeploymentPaused(request.params.name, paused);
        if (!updated) throw notFound("deployment", request.params.name);
        return updated;
      },
    );

  for (const [action, active] of [["pause", false], ["resume", true]] as const)
    app.post<{ Params: { name: string; id: string } }>(
      `/api/deployments/:name/schedules/:id/${action}`,
      {
        schema: {
          tags: ["deployments"],
          summary: `${action === "pause" ? "Pause" : "Resume"} one schedule of a deployment`,
          params: { type: "object", properties: { name: { type: "string", maxLength: 200 }, id: { type: "string", maxLength: 64 } }, required: ["name", "id"] },
          response: ok,
        },
      },
      async (request) => {
        const updated = await orchestration.setScheduleActive(request.params.name, request.params.id, active);
        if (!updated) throw notFound("schedule", `${request.params.id} of deployment ${request.params.name}`);
        return updated;
      },
    );

  app.post<{ Params: { name: string }; Body: { parameters?: Record<string, unknown>; scheduledAt?: number; tags?: string[]; jobVariables?: JobVariables } }>(
    "/api/deployments/:name/runs",
    {
      config: { access: { roles: ["admin"], adminFields: { jobVariables: JOB_VARIABLES_NEED_ADMIN } } },
      schema: {
        tags: ["deployments"],
        summary: "Create a run of a deployment; parameters are validated against its schema",
        params: nameParams,
        body: {
          type: "object",
          properties: { parameters: { type: "object" }, scheduledAt: { type: "number" }, tags: { type: "array", items: { type: "string", maxLength: 100 } }, jobVariables: jobVariablesSchema },
          additionalProperties: false,
        },
        response: { 201: { $ref: "FlowRun#" }, ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const dep = await deployment(request.params.name);
      const parameters = runParameters(dep, request.body?.parameters ?? {});
      await checkJobVariablesEnv(orchestration, dep.workPool, request.body?.jobVariables, "body.jobVariables");
      await checkRefs(refs, deploymentRefChecks({ parameters: request.body?.parameters, jobVariables: request.body?.jobVariables }, { parameters: "body.parameters", jobVariables: "body.jobVariables" }));
      const scheduledAt = request.body?.scheduledAt ?? Date.now();
      const run = await store.createFlowRun({
        id: newId(),
        flowName: dep.flowName,
        name: randomRunName(),
        parentFlowRunId: null,
        parentTaskRunId: null,
        parameters,
        tags: [...dep.tags, ...(request.body?.tags ?? [])],
        version: dep.version,
        entrypoint: dep.entrypoint,
        deploymentId: dep.id,
        workPool: dep.workPool,
        workQueue: dep.workQueue,
        jobVariables: request.body?.jobVariables ?? null,
        state: makeState("Scheduled", { scheduledAt, message: "created from the deployment" }),
      });
      return reply.status(201).send(run);
    },
  );

  // --- work pools, queues, workers ---
  app.post<{ Body: WorkPoolInput }>(
    "/api/work-pools",
    {
      schema: {
        tags: ["work pools"],
        summary: "Create or update a work pool",
        body: {
          type: "object",
          properties: {
            name,
            type: { type: "string", enum: ["process"] },
            paused: { type: "boolean" },
            concurrencyLimit: positiveIntOrNull,
            jobVariables: jobVariablesSchema,
            allowEnv: {
              type: "array",
              items: { type: "string", pattern: ALLOW_ENV_ENTRY.source, maxLength: 200 },
              maxItems: 100,
              description: "environment variables that change how a run's process loads code (NODE_OPTIONS, LD_PRELOAD, BATON_*…) its runs may set anyway: names or PREFIX_* patterns",
            },
          },
          required: ["name"],
          additionalProperties: false,
        },
        response: ok,
      },
    },
    async (request) => {
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
      await checkRefs(refs, [{ value: jobVariables ?? null, field: "body.jobVariables", secrets: true }]);
      return orchestration.upsertWorkPool(request.body);
    },
  );
  app.get("/api/work-pools", { schema: { tags: ["work pools"], summary: "List work pools with queues and workers (job variables' env values masked for non-admin keys)", response: ok } }, async (request) => {
    const [pools, workers] = await Promise.all([orchestration.listWorkPools(), orchestration.listWorkers()]);
    return { items: pools.map((p) => ({ ...withJobVariablesFor(request.apiKeyRole, p), workers: workers.filter((w) => w.poolName === p.name) })) };
  });
  app.get<{ Params: { name: string } }>(
    "/api/work-pools/:name",
    { schema: { tags: ["work pools"], summary: "Get a work pool (job variables' env values masked for non-admin keys)", params: nameParams, response: ok } },
    async (request) => {
      const pool = await orchestration.getWorkPool(request.params.name);
      if (!pool) throw notFound("work pool", request.params.name);
      return { ...withJobVariablesFor(request.apiKeyRole, pool), workers: await orchestration.listWorkers(pool.name) };
    },
  );
  app.delete<{ Params: { name: string } }>(
    "/api/work-pools/:name",
    { schema: { tags: ["work pools"], summary: "Delete a work pool", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await orchestration.deleteWorkPool(request.params.name))) throw notFound("work pool", request.params.name);
      return reply.status(204).send();
    },
  );
  app.post<{ Params: { name: string }; Body: { name: string; priority?: number; concurrencyLimit?: number | null; paused?: boolean } }>(
    "/api/work-pools/:name/queues",
    {
      schema: {
        tags: ["work pools"],
        summary: "Create or update a queue of a work pool",
        params: nameParams,
        body: {
          type: "object",
          properties: { name, priority: { type: "integer", minimum: 1 }, concurrencyLimit: positiveIntOrNull, paused: { type: "boolean" } },
          required: ["name"],
          additionalProperties: false,
        },
        response: ok,
      },
    },
    async (request) => {
      if (!(await orchestration.getWorkPool(request.params.name))) throw notFound("work pool", request.params.name);
      return orchestration.upsertWorkQueue({ poolName: request.params.name, ...request.body });
    },
  );
  app.post<{ Params: { name: string }; Body: { id: string; name: string; runLimit?: number | null; heartbeatMs?: number | null } }>(
    "/api/work-pools/:name/workers",
    {
      config: { access: { roles: ADMIN_AND_WORKER } },
      schema: {
        tags: ["work pools"],
        summary: "Register a worker (its runs are Crashed once it misses three heartbeatMs beats)",
        params: nameParams,
        body: {
          type: "object",
          properties: { id: { type: "string", minLength: 1, maxLength: 64 }, name: { type: "string", minLength: 1, maxLength: 200 }, runLimit: positiveIntOrNull, heartbeatMs: positiveIntOrNull },
          required: ["id", "name"],
          additionalProperties: false,
        },
        response: ok,
      },
    },
    async (request) => {
      if (!(await orchestration.getWorkPool(request.params.name))) throw notFound("work pool", request.params.name);
      return orchestration.registerWorker({ ...request.body, poolName: request.params.name, runLimit: request.body.runLimit ?? null });
    },
  );
  app.post<{ Params: { id: string } }>(
    "/api/workers/:id/heartbeat",
    {
      config: { access: { roles: ADMIN_AND_WORKER } },
      schema: { tags: ["work pools"], summary: "A worker's heartbeat", params: { type: "object", properties: { id: { type: "string" } }, required: ["id"] }, response: { 204: { type: "null" } } },
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
  app.post<{ Params: { name: string }; Body: { workerId: string; max: number; waitMs?: number } }>(
    "/api/work-pools/:name/claim",
    {
      config: { access: { roles: ADMIN_AND_WORKER } },
      schema: {
        tags: ["work pools"],
        summary: "Claim due flow runs for a worker (atomic: no run is handed out twice); with waitMs, wait up to that long for one (long-poll)",
        params: nameParams,
        body: {
          type: "object",
          properties: { workerId: { type: "string", minLength: 1, maxLength: 64 }, max: { type: "integer", minimum: 1, maximum: 100 }, waitMs: { type: "integer", minimum: 0, maximum: 25_000 } },
          required: ["workerId", "max"],
          additionalProperties: false,
        },
        response: { 200: { type: "object", properties: { items: { type: "array", items: claimedRun } } }, ...errorResponses(400) },
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
        const items = await waits.claim(request.params.name, workerId, max, waitMs, () => left);
        if (items.length && left) {
          // The worker went away while its claim was being made (it died, its request timed
          // out): the runs go back to the pool instead of waiting for a worker that never got them.
          for (const run of items) await store.setFlowRunState(run.id, makeState("Scheduled", { scheduledAt: Date.now(), message: "its worker went away before receiving it" }));
          return { items: [] };
        }
        return { items };
      } finally {
        reply.raw.off("close", onClose);
      }
    },
  );
  app.post<{ Params: { id: string } }>(
    "/api/workers/:id/interrupt-claim",
    {
      config: { access: { roles: ADMIN_AND_WORKER } },
      schema: {
        tags: ["work pools"],
        summary: "End a worker's long-polled claim now (the worker is stopping)",
        params: { type: "object", properties: { id: { type: "string", minLength: 1, maxLength: 64 } }, required: ["id"] },
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      waits.interrupt(request.params.id);
      return reply.status(204).send();
    },
  );
  app.get<{ Params: { name: string } }>(
    "/api/work-pools/:name/next-due",
    { schema: { tags: ["work pools"], summary: "When the pool's next scheduled run is due", params: nameParams, response: ok } },
    async (request) => ({ dueAt: await orchestration.nextDueAt(request.params.name) }),
  );

  // --- concurrency limits ---
  app.post<{ Body: { name: string; limit: number; slotDecayPerSecond?: number | null } }>(
    "/api/concurrency-limits",
    {
      schema: {
        tags: ["concurrency"],
        summary: "Create or update a concurrency limit (or a rate limit, with slotDecayPerSecond)",
        body: {
          type: "object",
          properties: { name, limit: { type: "integer", minimum: 1 }, slotDecayPerSecond: { anyOf: [{ type: "number", exclusiveMinimum: 0 }, { type: "null" }] } },
          required: ["name", "limit"],
          additionalProperties: false,
        },
        response: ok,
      },
    },
    async (request) => orchestration.upsertConcurrencyLimit(request.body),
  );
  app.get("/api/concurrency-limits", { schema: { tags: ["concurrency"], summary: "List limits with their holders", response: ok } }, async () => ({
    items: await orchestration.listConcurrencyLimits(),
  }));
  app.get<{ Params: { name: string } }>(
    "/api/concurrency-limits/:name",
    { schema: { tags: ["concurrency"], summary: "Get a limit with its holders", params: nameParams, response: ok } },
    async (request) => {
      const limit = await orchestration.getConcurrencyLimit(request.params.name);
      if (!limit) throw notFound("concurrency limit", request.params.name);
      return limit;
    },
  );
  app.delete<{ Params: { name: string } }>(
    "/api/concurrency-limits/:name",
    { schema: { tags: ["concurrency"], summary: "Delete a limit", params: nameParams, response: { 204: { type: "null" }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await orchestration.deleteConcurrencyLimit(request.params.name))) throw notFound("concurrency limit", request.params.name);
      return reply.status(204).send();
    },
  );
  app.post<{ Params: { name: string } }>(
    "/api/concurrency-limits/:name/reset",
    { schema: { tags: ["concurrency"], summary: "Free every slot of a limit", params: nameParams, response: ok } },
    async (request) => {
      if (!(await orchestration.getConcurrencyLimit(request.params.name))) throw notFound("concurrency limit", request.params.name);
      await orchestration.resetConcurrencyLimit(request.params.name);
      return (await orchestration.getConcurrencyLimit(request.params.name))!;
    },
  );
  app.post<{ Body: { names: string[]; holder: string; slots: number; ttlMs: number } }>(
    "/api/concurrency-limits/acquire",
    {
      config: { access: { roles: ADMIN_AND_WORKER } },
      schema: {
        tags: ["concurrency"],
        summary: "Take slots of limits, all or nothing; leases expire unless renewed",
        body: {
          type: "object",
          properties: {
            names: { type: "array", items: { type: "string", minLength: 1, maxLength: 200 }, minItems: 1, maxItems: 50 },
            holder: { type: "string", minLength: 1, maxLength: 200 },
            slots: { type: "integer", minimum: 1 },
            ttlMs: { type: "integer", minimum: 100 },
          },
          required: ["names", "holder", "slots", "ttlMs"],
          additionalProperties: false,
        },
        response: ok,
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
  app.post<{ Body: { ids: string[]; ttlMs: number } }>(
    "/api/concurrency-leases/renew",
    {
      config: { access: { roles: ADMIN_AND_WORKER } },
      schema: {
        tags: ["concurrency"],
        summary: "Extend leases (holders heartbeat this); answers the ids extended — a missing one was lost",
        body: {
          type: "object",
          properties: { ids: { type: "array", items: { type: "string", maxLength: 64 }, maxItems: 1000 }, ttlMs: { type: "integer", minimum: 100 } },
          required: ["ids", "ttlMs"],
          additionalProperties: false,
        },
        response: { 200: { type: "object", properties: { renewed: { type: "array", items: { type: "string" } } } } },
      },
    },
    async (request) => ({ renewed: await orchestration.renewLeases(request.body.ids, request.body.ttlMs, Date.now()) }),
  );
  app.post<{ Body: { ids: string[] } }>(
    "/api/concurrency-leases/release",
    {
      config: { access: { roles: ADMIN_AND_WORKER } },
      schema: {
        tags: ["concurrency"],
        summary: "Give slots back",
        body: { type: "object", properties: { ids: { type: "array", items: { type: "string", maxLength: 64 }, maxItems: 1000 } }, required: ["ids"], additionalProperties: false },
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      await orchestration.releaseLeases(request.body.ids);
      return reply.status(204).send();
    },
  );
}
