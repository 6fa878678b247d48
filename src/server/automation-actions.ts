/**
 * What each action type does, run by the executor (automation-service.ts) after its firing
 * committed. Templates are filled in from `{ event, automation, firing }` first; a path with no
 * value fails the action for good, as does a target that no longer exists or a run that has
 * already ended — retrying cannot help those. Anything else (the database, a webhook answering
 * 503) is retried with backoff.
 *
 * Retries must not do a thing twice: an emitted event takes the action's id as its own (the
 * log stores an id once), and a run-deployment looks for the run an earlier attempt made (its
 * `automation-action:<id>` tag) before making one.
 */
import type { RefStores } from "../services/config-refs.ts";
import { BatonError, InvalidTransitionError, RunNotFoundError } from "../core/errors.ts";
import { renderTemplate, TemplateError } from "../core/automation-templates.ts";
import type { AutomationAction } from "../core/automation-spec.ts";
import { parseDuration } from "../core/durations.ts";
import { completeEvent } from "../core/event-input.ts";
import type { EventResource, RelatedResource } from "../core/event-records.ts";
import { excerpt } from "../core/excerpt.ts";
import { cancelFlowRun } from "../services/cancel-flow-run.ts";
import { resumePausedFlowRun } from "../services/resume-flow-run.ts";
import { createDeploymentRun } from "../services/deployment-runs.ts";
import { automationRunEntry, type AutomationRunOrigin } from "../services/audit-entries.ts";
import type { KyselyAuditLog } from "../store/audit-log.ts";
import type { OrchestrationStore, Store } from "../store/types.ts";
import type { ClaimedAction } from "../store/automation-types.ts";
import { ServiceError } from "../services/errors.ts";
import { rollbackModelAliasOf } from "../services/models.ts";
import { DEFAULT_ALIAS, modelNameProblem } from "../core/models.ts";
import type { ModelStore } from "../store/model-store.ts";
import { ApiError } from "./errors.ts";
import type { NotificationChannelStore } from "../store/notification-channel-store.ts";
import { notificationContext, type PublicUrl } from "./notification-context.ts";
import { deliverNotification } from "./notification-delivery.ts";
import type { ChannelValues } from "./channel-values.ts";
import { NotificationChannelError } from "../core/notification-channels.ts";
import { TemplateRefError } from "../core/template-refs.ts";

/** A target the action names is gone (a deleted deployment or pool), or the firing gives it none. */
export class ActionTargetError extends BatonError {
  override name = "ActionTargetError";
}

/** Whether retrying `error` cannot succeed. */
export function isPermanentActionError(error: unknown): boolean {
  return (
    error instanceof TemplateError ||
    // A reference to a variable or secret since deleted, a URL reference whose value is not one.
    error instanceof TemplateRefError ||
    error instanceof NotificationChannelError ||
    error instanceof ActionTargetError ||
    // A deployment gone, parameters its schema refuses, an environment its pool does not allow.
    error instanceof ServiceError ||
    error instanceof RunNotFoundError ||
    error instanceof InvalidTransitionError ||
    (error instanceof ApiError && error.statusCode < 500)
  );
}

export interface ActionDependencies {
  store: Store;
  orchestration: OrchestrationStore;
  channels: Pick<NotificationChannelStore, "getChannel">;
  /** Where a run's `{{ variables.x }}` and `{{ secrets.x }}` are looked up. */
  refs: RefStores;
  /** Where a notification's `{{ variables.x }}` and `{{ secrets.x }}` are read at delivery. */
  values: ChannelValues;
  /** The dashboard's address, for the links notifications carry. */
  publicUrl: PublicUrl;
  /** Where the runs it starts are recorded, with the automation as their actor. */
  audit: Pick<KyselyAuditLog, "append" | "entriesTouching">;
  /** The model registry (rollback-model). */
  models: ModelStore;
}

/** The values templates read. */
export function templateContext(claimed: ClaimedAction): Record<string, unknown> {
  const { automation, firing } = claimed;
  const context: Record<string, unknown> = {
    automation: { id: automation.id, name: automation.name },
    firing: { id: firing.id, bucket: firing.bucket, reason: firing.reason, firedAt: firing.firedAt, windowStart: firing.windowStart, windowEnd: firing.windowEnd, events: firing.events },
  };
  // {{ firing.measurement.value }}: what a metric trigger measured.
  if (firing.measurement) (context.firing as Record<string, unknown>).measurement = firing.measurement;
  if (firing.event) context.event = firing.event;
  return context;
}

/** The flow run a cancel-flow-run or resume-flow-run without `flow_run` acts on: the event's own, or the one it relates to. */
function eventFlowRun(claimed: ClaimedAction): string {
  const event = claimed.firing.event;
  if (event?.resource.labels?.kind === "flow-run") return event.resource.id;
  const related = event?.related.find((r) => r.role === "flow-run");
  if (related) return related.id;
  throw new ActionTargetError(`actions[${claimed.action.index}].flow_run: the event ${event?.event ?? "(none)"} is not about a flow run; name one with flow_run`);
}

/** Runs the action once; returns what it did (stored with the attempt). */
export async function runAction(claimed: ClaimedAction, deps: ActionDependencies): Promise<unknown> {
  const { action, automation } = claimed;
  const spec: AutomationAction | undefined = automation.spec.actions[action.index];
  const field = `actions[${action.index}]`;
  if (!spec || spec.type !== action.type) throw new ActionTargetError(`${field}: the automation was changed after this firing; its action ${action.index} is no longer a ${action.type}`);
  const context = templateContext(claimed);
  const render = <T>(value: T, at: string) => renderTemplate(value, context, `${field}.${at}`) as T;
  switch (spec.type) {
    case "run-deployment": {
      const marker = `automation-action:${action.id}`;
      const origin: AutomationRunOrigin = { automation: { id: automation.id, name: automation.name }, firingId: claimed.firing.id, actionId: action.id, event: claimed.firing.event ?? null, reason: claimed.firing.reason ?? null };
      if (action.attempts > 1) {
        const deployment = await deps.orchestration.getDeployment(spec.deployment);
        const [earlier] = deployment ? await deps.store.listFlowRuns({ deploymentId: deployment.id, tags: [marker], limit: 1 }) : [];
        if (earlier) {
          // The earlier attempt may have stopped between the run and its audit entry.
          if (!(await deps.audit.entriesTouching(earlier.id)).some((e) => e.action === "flow-run.automation")) await deps.audit.append([automationRunEntry(origin, spec.deployment, earlier)]);
          return { flowRun: earlier.id, name: earlier.name, deployment: spec.deployment };
        }
      }
      const parameters = render(spec.parameters ?? {}, "parameters");
      const tags = [...(spec.tags ?? []), `automation:${automation.name}`, marker];
      const { run } = await createDeploymentRun({ runs: deps.store, deployments: deps.orchestration, refs: deps.refs }, spec.deployment, { parameters, tags, message: `started by automation ${automation.name}` }, { parametersField: `${field}.parameters` });
      await deps.audit.append([automationRunEntry(origin, spec.deployment, run)]);
      return { flowRun: run.id, name: run.name, deployment: spec.deployment, parameters };
    }
    case "pause-deployment":
    case "resume-deployment": {
      const updated = await deps.orchestration.setDeploymentPaused(spec.deployment, spec.type === "pause-deployment");
      if (!updated) throw new ActionTargetError(`deployment "${spec.deployment}" does not exist`);
      return { deployment: updated.name, paused: updated.paused };
    }
    case "pause-work-pool":
    case "resume-work-pool": {
      if (!(await deps.orchestration.getWorkPool(spec.work_pool))) throw new ActionTargetError(`${field}.work_pool: work pool "${spec.work_pool}" does not exist`);
      const updated = await deps.orchestration.upsertWorkPool({ name: spec.work_pool, paused: spec.type === "pause-work-pool" });
      return { workPool: updated.name, paused: updated.paused };
    }
    case "cancel-flow-run": {
      const id = spec.flow_run === undefined ? eventFlowRun(claimed) : String(render(spec.flow_run, "flow_run"));
      const run = await cancelFlowRun(deps.store, id, `cancelled by automation ${automation.name}`);
      return { flowRun: run.id, state: run.state.name };
    }
    case "resume-flow-run": {
      const id = spec.flow_run === undefined ? eventFlowRun(claimed) : String(render(spec.flow_run, "flow_run"));
      // Input its schema refuses is an InvalidInputError (a ServiceError): not retried.
      const run = await resumePausedFlowRun(deps.store, id, render(spec.input ?? {}, "input"), { by: `automation ${automation.name}`, key: spec.key });
      return { flowRun: run.id, state: run.state.name };
    }
    case "emit-event": {
      const event = completeEvent({
        id: action.id,
        event: spec.event,
        resource: render(spec.resource, "resource") as EventResource,
        related: [...(render(spec.related ?? [], "related") as RelatedResource[]), { role: "automation", id: automation.id, name: automation.name }],
        payload: render(spec.payload ?? {}, "payload"),
      });
      await deps.store.emitEvents([event]);
      return { event: event.id };
    }
    case "call-webhook": {
      const url = String(render(spec.url, "url"));
      const body = spec.payload === undefined ? context : render(spec.payload, "payload");
      const headers = render(spec.headers ?? {}, "headers");
      const timeoutMs = spec.timeout ? parseDuration(spec.timeout, `${field}.timeout`) : 10_000;
      let response: Response;
      try {
        response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        const reason = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (error as Error).message;
        throw new BatonError(`${field}: POST ${url} failed: ${reason}`, { cause: error });
      }
      const text = await response.text().catch(() => "");
      if (!response.ok) throw new BatonError(`${field}: POST ${url} answered ${response.status}: ${excerpt(text, 200)}`);
      return { status: response.status };
    }
    case "rollback-model": {
      const model = String(render(spec.model, "model"));
      const problem = modelNameProblem(model, `${field}.model`);
      if (problem) throw new ActionTargetError(problem);
      const alias = spec.alias ?? DEFAULT_ALIAS;
      const actor = { kind: "automation", id: automation.id, name: automation.name };
      // A retry after a rollback that went through (its outcome unrecorded) must not roll back twice.
      if (action.attempts > 1) {
        const done = (await deps.models.getModel(model))?.moves.find((m) => m.kind === "rolled-back" && m.alias === alias && m.actor.id === automation.id && m.at >= claimed.firing.firedAt);
        if (done) return { model, alias, from: done.from, to: done.to };
      }
      const moved = await rollbackModelAliasOf(deps.models, model, alias, { actor, flowRunId: null });
      return { model, alias, ...moved };
    }
    case "notify": {
      // At least once: an attempt whose delivery went through but whose outcome was not recorded is sent again.
      const channel = await deps.channels.getChannel(spec.channel);
      if (!channel) throw new ActionTargetError(`${field}.channel: notification channel "${spec.channel}" does not exist`);
      const full = await notificationContext({ automation: { id: automation.id, name: automation.name }, firing: context.firing as Record<string, unknown>, event: claimed.firing.event ?? undefined }, deps);
      return { channel: channel.name, ...(await deliverNotification(channel, full, { subject: spec.subject, message: spec.message }, field, deps.values)) };
    }
  }
}
