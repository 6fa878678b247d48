/**
 * Adding and removing one schedule of a deployment, for clients of the store interfaces (the
 * CLI, on the database or through the API): the deployment is written back whole with its
 * schedules changed, through the same upsert as `baton deploy` (which keeps the other
 * schedules' pause state, drops the future runs of the old set, and lets the scheduler make
 * the new ones). A schedule is named by its id, a unique id prefix, or its position (1 is the
 * first, as `baton deployment schedule ls` numbers them).
 */
import { BatonError } from "../core/errors.ts";
import { compileSchedule } from "../core/schedule.ts";
import type { Deployment, DeploymentInput, OrchestrationStore, ScheduleRecord } from "../store/types.ts";
import { DeploymentNotFoundError } from "./errors.ts";

/** What the API shows instead of an env value to callers who may not change it (server/job-variable-masking.ts). */
const MASKED_VALUE = "********";

/** The deployment as an upsert's input, every field as it is. */
export function deploymentInputOf(d: Deployment): DeploymentInput {
  return {
    name: d.name,
    flowName: d.flowName,
    entrypoint: d.entrypoint,
    description: d.description,
    version: d.version,
    tags: d.tags,
    parameters: d.parameters,
    parameterSchema: d.parameterSchema,
    workPool: d.workPool,
    workQueue: d.workQueue,
    paused: d.paused,
    concurrencyLimit: d.concurrencyLimit,
    collisionStrategy: d.collisionStrategy,
    retries: d.retries,
    retryDelayMs: d.retryDelayMs,
    jobVariables: d.jobVariables,
    schedules: d.schedules.map((s) => ({ spec: s.spec, active: s.active })),
  };
}

async function deploymentOf(store: Pick<OrchestrationStore, "getDeployment">, idOrName: string): Promise<Deployment> {
  const d = await store.getDeployment(idOrName);
  if (!d) throw new DeploymentNotFoundError(idOrName);
  // Written back with masked values, its processes' environment would be lost.
  if (Object.values(d.jobVariables.env ?? {}).includes(MASKED_VALUE))
    throw new BatonError(`deployment "${d.name}": its job variables' values are masked for this API key; changing its schedules needs a key that may change deployments`);
  return d;
}

/** The schedule of `d` that `ref` names: its id, a unique id prefix or its position (1-based). */
export function findSchedule(d: Deployment, ref: string): { schedule: ScheduleRecord; position: number } {
  const position = /^\d+$/.test(ref) ? Number(ref) : null;
  if (position !== null && position >= 1 && position <= d.schedules.length) return { schedule: d.schedules[position - 1]!, position };
  const matches = d.schedules.filter((s) => s.id.startsWith(ref.toLowerCase()));
  if (matches.length === 1) return { schedule: matches[0]!, position: d.schedules.indexOf(matches[0]!) + 1 };
  if (matches.length > 1) throw new BatonError(`"${ref}" names ${matches.length} schedules of deployment "${d.name}"; give more of the id, or its position (1 to ${d.schedules.length})`);
  throw new BatonError(`deployment "${d.name}" has no schedule "${ref}"; it has ${d.schedules.length ? `${d.schedules.length}: name one by position (1 to ${d.schedules.length}) or id, see baton deployment schedule ls ${d.name}` : "none"}`);
}

/** Adds a schedule (validated: a TypeError naming the field becomes a BatonError) at the end of the deployment's list. */
export async function addSchedule(store: Pick<OrchestrationStore, "getDeployment" | "upsertDeployment">, idOrName: string, spec: unknown, active = true): Promise<Deployment> {
  const d = await deploymentOf(store, idOrName);
  let compiled: ScheduleRecord["spec"];
  try {
    compiled = compileSchedule(spec) as unknown as ScheduleRecord["spec"];
  } catch (error) {
    throw new BatonError((error as Error).message);
  }
  if (d.schedules.some((s) => JSON.stringify(s.spec) === JSON.stringify(compiled))) throw new BatonError(`deployment "${d.name}" already has this schedule`);
  const input = deploymentInputOf(d);
  return store.upsertDeployment({ ...input, schedules: [...(input.schedules ?? []), { spec: compiled, active }] });
}

/** Removes the schedule `ref` names; its future Scheduled runs go with it. */
export async function deleteSchedule(store: Pick<OrchestrationStore, "getDeployment" | "upsertDeployment">, idOrName: string, ref: string): Promise<{ deployment: Deployment; removed: ScheduleRecord }> {
  const d = await deploymentOf(store, idOrName);
  const { schedule } = findSchedule(d, ref);
  const input = deploymentInputOf(d);
  const deployment = await store.upsertDeployment({ ...input, schedules: d.schedules.filter((s) => s.id !== schedule.id).map((s) => ({ spec: s.spec, active: s.active })) });
  return { deployment, removed: schedule };
}
