/**
 * A deployment's schedules one at a time — add, change, delete, preview — the same whoever asks
 * (`/api/deployments/{name}/schedules`, the dashboard's schedule form, a CLI). A spec is
 * compiled (core/schedule.ts) before anything is stored, and a refusal names the field of the
 * spec at fault (`body.spec.cron …`), so a form can show it beside that input. The runs the
 * scheduler made for a schedule that changed or went are dropped by the store; the scheduler's
 * next pass makes those of the schedules in force.
 */
import { compileSchedule, describeSchedule, nextSlots, type ScheduleSpec } from "../core/schedule.ts";
import { MAX_SCHEDULES, type ScheduleInput, type ScheduleList, type SchedulePreview } from "../schemas/deployment.ts";
import { BatonError } from "../core/errors.ts";
import type { Deployment, OrchestrationStore, ScheduleRecord } from "../store/types.ts";
import { DeploymentNotFoundError, ServiceError } from "./errors.ts";

/** A schedule's spec that core/schedule.ts refuses; the message names the spec's field. */
export class InvalidScheduleError extends ServiceError {
  override name = "InvalidScheduleError";
  readonly reason = "invalid";
  readonly code = "VALIDATION_ERROR";
  constructor(
    message: string,
    override readonly details: { field: string },
  ) {
    super(message);
  }
}

/** A schedule id that is not one of the deployment's schedules. */
export class ScheduleNotFoundError extends ServiceError {
  override name = "ScheduleNotFoundError";
  readonly reason = "not-found";
  readonly code = "NOT_FOUND";
  constructor(
    readonly deployment: string,
    readonly scheduleId: string,
  ) {
    super(`deployment "${deployment}" has no schedule ${scheduleId}`);
  }
}

/** A deployment that has as many schedules as it may. */
export class TooManySchedulesError extends ServiceError {
  override name = "TooManySchedulesError";
  readonly reason = "conflict";
  readonly code = "TOO_MANY_SCHEDULES";
  constructor(readonly deployment: string) {
    super(`deployment "${deployment}" has ${MAX_SCHEDULES} schedules already, the most it may have: delete one first`);
  }
}

/**
 * The spec compiled, or an InvalidScheduleError whose message names the spec's field under
 * `field` (`body.spec.timezone "Mars/Olympus" is not a known IANA time zone`).
 */
export function compileScheduleAt(spec: unknown, field: string): ScheduleSpec {
  try {
    return compileSchedule(spec);
  } catch (error) {
    const message = (error as Error).message;
    // compileSchedule's messages start with "schedule" or "schedule.<field>".
    const named = /^schedule(\.[A-Za-z]+)?/.exec(message);
    throw new InvalidScheduleError(named ? `${field}${message.slice("schedule".length)}` : `${field}: ${message}`, { field: `${field}${named?.[1] ?? ""}` });
  }
}

/** A stored schedule in words, saying when it is paused: "cron 0 9 * * * (UTC) (paused)". */
export function scheduleText(schedule: Pick<ScheduleRecord, "spec" | "active">): string {
  return `${describeSchedule(schedule.spec as unknown as ScheduleSpec)}${schedule.active ? "" : " (paused)"}`;
}

/** How far ahead a preview looks for slots: a schedule that fires less than yearly shows fewer. */
const PREVIEW_HORIZON_MS = 366 * 86_400_000;

/** The next `count` slots of a spec after `after`, its normalised form and its description. */
export function previewSchedule(spec: unknown, options: { count: number; after: number; field: string }): SchedulePreview {
  const compiled = compileScheduleAt(spec, options.field);
  return {
    spec: compiled,
    description: describeSchedule(compiled),
    next: nextSlots(compiled, options.after, { until: options.after + PREVIEW_HORIZON_MS, limit: options.count }),
  };
}

/** A deployment's schedules, each described with its next `count` slots after `after`. */
export async function listSchedules(store: Pick<OrchestrationStore, "getDeployment">, deployment: string, options: { count: number; after: number }): Promise<ScheduleList> {
  const found = await store.getDeployment(deployment);
  if (!found) throw new DeploymentNotFoundError(deployment);
  return {
    items: found.schedules.map((s) => {
      const spec = s.spec as unknown as ScheduleSpec;
      return { ...s, description: describeSchedule(spec), next: nextSlots(spec, options.after, { until: options.after + PREVIEW_HORIZON_MS, limit: options.count }) };
    }),
  };
}

type ScheduleStore = Pick<OrchestrationStore, "getDeployment" | "addSchedule" | "updateSchedule" | "deleteSchedule">;

const stored = (spec: ScheduleSpec) => spec as unknown as ScheduleRecord["spec"];

/** Adds a schedule to a deployment (active unless `active: false`). */
export async function addSchedule(store: ScheduleStore, deployment: string, input: ScheduleInput, options: { specField: string }): Promise<ScheduleRecord> {
  const spec = compileScheduleAt(input.spec, options.specField);
  const found = await store.getDeployment(deployment);
  if (!found) throw new DeploymentNotFoundError(deployment);
  if (found.schedules.length >= MAX_SCHEDULES) throw new TooManySchedulesError(found.name);
  const added = await store.addSchedule(found.id, { spec: stored(spec), active: input.active ?? true });
  if (!added) throw new DeploymentNotFoundError(deployment);
  return added;
}

/** Replaces a schedule's spec (its pause state too, when `active` is given). */
export async function updateSchedule(store: ScheduleStore, deployment: string, scheduleId: string, input: ScheduleInput, options: { specField: string }): Promise<ScheduleRecord> {
  const spec = compileScheduleAt(input.spec, options.specField);
  const found = await store.getDeployment(deployment);
  if (!found) throw new DeploymentNotFoundError(deployment);
  const updated = await store.updateSchedule(found.id, scheduleId, { spec: stored(spec), active: input.active });
  if (!updated) throw new ScheduleNotFoundError(found.name, scheduleId);
  return updated;
}

/** Deletes a schedule of a deployment, with the future runs it made. */
export async function deleteSchedule(store: ScheduleStore, deployment: string, scheduleId: string): Promise<void> {
  const found = await store.getDeployment(deployment);
  if (!found) throw new DeploymentNotFoundError(deployment);
  if (!(await store.deleteSchedule(found.id, scheduleId))) throw new ScheduleNotFoundError(found.name, scheduleId);
}

/** The schedule of `d` that `ref` names: its id, a unique id prefix or its position (1-based, as `baton deployment schedule ls` numbers them). */
export function findSchedule(d: Deployment, ref: string): { schedule: ScheduleRecord; position: number } {
  const position = /^\d+$/.test(ref) ? Number(ref) : null;
  if (position !== null && position >= 1 && position <= d.schedules.length) return { schedule: d.schedules[position - 1]!, position };
  const matches = d.schedules.filter((s) => s.id.startsWith(ref.toLowerCase()));
  if (matches.length === 1) return { schedule: matches[0]!, position: d.schedules.indexOf(matches[0]!) + 1 };
  if (matches.length > 1) throw new BatonError(`"${ref}" names ${matches.length} schedules of deployment "${d.name}"; give more of the id, or its position (1 to ${d.schedules.length})`);
  throw new BatonError(`deployment "${d.name}" has no schedule "${ref}"; it has ${d.schedules.length ? `${d.schedules.length}: name one by position (1 to ${d.schedules.length}) or id, see baton deployment schedule ls ${d.name}` : "none"}`);
}
