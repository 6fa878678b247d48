/**
 * The values a notification's templates read (core/notification-templates.ts), gathered when
 * it is sent: the firing's `event`, `automation` and `firing`, and when the event concerns a
 * flow run (its resource, or a related `flow-run`) that run as it is now, its flow and its
 * deployment, with `url` its page on the dashboard. The deployment is shown without its job
 * variables: they hold secrets, and a default webhook body carries the whole context.
 */
import type { EventRecord } from "../core/event-records.ts";
import type { NotificationContext } from "../core/notification-templates.ts";
import type { OrchestrationStore, Store } from "../store/types.ts";

/** Where the dashboard is, for links: the configured public URL, else this server's own address. */
export type PublicUrl = () => string;

/** The flow run an event is about: its resource, or the run it relates to. */
export function eventFlowRunId(event: Pick<EventRecord, "resource" | "related"> | null | undefined): string | undefined {
  if (!event) return undefined;
  if (event.resource.labels?.kind === "flow-run") return event.resource.id;
  return event.related.find((r) => r.role === "flow-run")?.id;
}

export interface ContextSources {
  store: Pick<Store, "getFlowRun" | "getFlow">;
  orchestration: Pick<OrchestrationStore, "getDeployment">;
  publicUrl: PublicUrl;
}

/** `base` ({ event?, automation, firing }) with the run, its flow, its deployment and the link added. */
export async function notificationContext(base: { automation: { id: string; name: string }; firing: Record<string, unknown>; event?: EventRecord }, sources: ContextSources): Promise<NotificationContext> {
  const origin = sources.publicUrl().replace(/\/+$/, "");
  const context: NotificationContext = { ...base, event: base.event as unknown as Record<string, unknown> | undefined, url: `${origin}/automations/${encodeURIComponent(base.automation.name)}` };
  if (context.event === undefined) delete context.event;
  const runId = eventFlowRunId(base.event);
  const run = runId ? await sources.store.getFlowRun(runId) : undefined;
  if (!run) return context;
  context.run = run as unknown as Record<string, unknown>;
  context.url = `${origin}/runs/${encodeURIComponent(run.id)}`;
  const flow = await sources.store.getFlow(run.flowName);
  context.flow = { id: flow?.id ?? run.flowId, name: run.flowName };
  const deployment = run.deploymentId ? await sources.orchestration.getDeployment(run.deploymentId) : undefined;
  if (deployment) context.deployment = { id: deployment.id, name: deployment.name, workPool: deployment.workPool, tags: deployment.tags };
  return context;
}

/** The context of `baton notification test`: made-up values of the same shape, each saying it is a test. */
export function testNotificationContext(channel: string, publicUrl: PublicUrl): NotificationContext {
  const now = Date.now();
  const origin = publicUrl().replace(/\/+$/, "");
  const event = { id: "test-event", occurred: now, event: "baton.notification.test", resource: { id: channel, name: channel, labels: { kind: "notification-channel" } }, related: [], payload: { test: true } };
  return {
    automation: { id: "test", name: "notification-test" },
    firing: { id: "test-firing", bucket: "", reason: "test", firedAt: now, windowStart: now, windowEnd: now, events: [{ id: event.id, event: event.event, occurred: now }] },
    event,
    run: { id: "test-run", name: "test-run", flowName: "test-flow", state: { type: "COMPLETED", name: "Completed", timestamp: now }, parameters: {}, tags: [], error: null },
    flow: { id: "test-flow", name: "test-flow" },
    deployment: { id: "test-deployment", name: "test-deployment", workPool: null, tags: [] },
    url: `${origin}/`,
  };
}
