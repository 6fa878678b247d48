/**
 * What an automation is, as its author writes it (YAML for the CLI, the same as JSON for the
 * API): a name, a trigger and the actions it runs when the trigger fires.
 *
 *   name: train-on-new-data
 *   trigger:
 *     event: data.arrived            # a name, or a prefix pattern: baton.flow-run.*
 *     match: { related: [{ role: flow, name: nightly-train }] }
 *     posture: reactive              # or proactive: fires when the events do NOT come
 *     threshold: 1                   # this many matching events...
 *     within: 0s                     # ...within this window (10m, 26h)
 *     for_each: related.flow         # a window per flow (resource.id, resource.name, labels.<l>, related.<role>)
 *   actions:
 *     - type: run-deployment
 *       deployment: train
 *       parameters: { key: "{{ event.payload.key }}" }
 *
 * A compound trigger is `{ all: [triggers], within }` (every one fired within the window) or
 * `{ any: [triggers] }`. A metric trigger (`{ metric: failure-rate, of, window, op, threshold }`,
 * see automation-metrics.ts) fires on a measurement of finished runs instead. The schema is strict: an unknown field is an error naming its path,
 * never silently ignored (a misspelt `threshhold` would change what fires). References to
 * deployments and work pools are checked against the store by the server (automations.ts);
 * everything else, templates included, here. Pure.
 */
import { z } from "zod";
import { parseDuration } from "./durations.ts";
import { EVENT_PATTERN } from "./event-filter.ts";
import { userEventNameProblem } from "./event-input.ts";
import { templateProblems, TEMPLATE_ROOTS } from "./automation-templates.ts";
import { MESSAGE_ROOTS } from "./notification-templates.ts";
import { BatonError } from "./errors.ts";
import { METRIC_DEFAULTS, metricTriggerSchema, type MetricTrigger } from "./automation-metrics.ts";
import { findTemplateRefs, withoutTemplateRefs } from "./template-refs.ts";
import { ALIAS_NAME, modelNameProblem } from "./models.ts";

/** A spec that cannot be an automation; `field` is the first offending path (`actions[0].deployment`). */
export class AutomationSpecError extends BatonError {
  override name = "AutomationSpecError";
  constructor(
    readonly field: string,
    message: string,
    readonly problems: readonly { field: string; message: string }[] = [{ field, message }],
  ) {
    super(message);
  }
}

const name = z.string().min(1).max(200).regex(/^[A-Za-z0-9_.:@-]+$/, "must be letters, digits and _ . : @ - (it is used in URLs and CLI arguments)");
const duration = z.string().max(40);
const pattern = z.string().max(200).regex(EVENT_PATTERN, "must be an event name (data.arrived), a prefix ending in * (baton.flow-run.*) or * alone");

/** A related resource an event must name: its role, and its id or name. */
const relatedMatch = z.strictObject({ role: z.string().min(1).max(100), id: z.string().min(1).max(500).optional(), name: z.string().min(1).max(500).optional() });

const match = z.strictObject({
  /** The event's resource id. */
  resource: z.string().min(1).max(500).optional(),
  /** The event's resource name. */
  name: z.string().min(1).max(500).optional(),
  /** Labels of the event's resource, each equal. */
  labels: z.record(z.string().max(100), z.string().max(500)).optional(),
  /** Related resources the event must name, every one. */
  related: z.array(relatedMatch).max(20).optional(),
});

/** `resource.id`, `resource.name`, `labels.<label>`, `related.<role>`: what an event's window is kept per. */
export const FOR_EACH = /^(?:resource\.id|resource\.name|labels\.[A-Za-z0-9_.-]+|related\.[A-Za-z0-9_-]+)$/;

const eventTrigger = z.strictObject({
  event: z.union([pattern, z.array(pattern).min(1).max(20)]),
  match: match.optional(),
  posture: z.enum(["reactive", "proactive"]).optional(),
  threshold: z.number().int().min(1).max(10_000).optional(),
  within: duration.optional(),
  for_each: z.string().max(200).regex(FOR_EACH, "must be resource.id, resource.name, labels.<label> or related.<role>").optional(),
});

const compoundTrigger = z.strictObject({
  all: z.array(z.unknown()).min(1).max(10).optional(),
  any: z.array(z.unknown()).min(1).max(10).optional(),
  within: duration.optional(),
});

const templated = z.record(z.string().max(200), z.unknown());

/** The action types, each a strict object: the `type` decides the fields. */
const actionSchemas = [
  z.strictObject({ type: z.literal("run-deployment"), deployment: name, parameters: templated.optional(), tags: z.array(z.string().max(100)).max(50).optional() }),
  z.strictObject({ type: z.literal("pause-deployment"), deployment: name }),
  z.strictObject({ type: z.literal("resume-deployment"), deployment: name }),
  z.strictObject({ type: z.literal("pause-work-pool"), work_pool: name }),
  z.strictObject({ type: z.literal("resume-work-pool"), work_pool: name }),
  z.strictObject({ type: z.literal("cancel-flow-run"), flow_run: z.string().min(1).max(500).optional() }),
  // Resumes a run paused for input (pauseFlowRun) with `input`, checked against its schema.
  z.strictObject({ type: z.literal("resume-flow-run"), flow_run: z.string().min(1).max(500).optional(), input: templated.optional(), key: z.string().min(1).max(200).optional() }),
  z.strictObject({
    type: z.literal("emit-event"),
    event: z.string().max(200),
    resource: z.strictObject({ id: z.string().min(1).max(500), name: z.string().max(500).optional(), labels: z.record(z.string().max(100), z.string().max(500)).optional() }),
    related: z.array(z.strictObject({ role: z.string().min(1).max(100), id: z.string().min(1).max(500), name: z.string().max(500).optional() })).max(50).optional(),
    payload: templated.optional(),
  }),
  z.strictObject({
    type: z.literal("call-webhook"),
    url: z.string().max(4000),
    payload: z.unknown().optional(),
    headers: z.record(z.string().max(200), z.string().max(4000)).optional(),
    timeout: duration.optional(),
  }),
  /** A message through a notification channel; `subject` and `message` override the channel's templates. */
  z.strictObject({ type: z.literal("notify"), channel: name, subject: z.string().max(2000).optional(), message: z.string().max(20_000).optional() }),
  /** Moves a model's alias (default production) back to the version before its last promotion; `model` may be a template ({{ event.resource.name }}). */
  z.strictObject({ type: z.literal("rollback-model"), model: z.string().min(1).max(500), alias: z.string().regex(ALIAS_NAME, "must be an alias: lowercase letters, digits, _ and -, starting with a letter").optional() }),
] as const;

/** The accepted action types, in the order the errors list them. */
export const ACTION_TYPES = actionSchemas.map((s) => s.shape.type.value);
export type ActionType = (typeof ACTION_TYPES)[number];

const action = z.discriminatedUnion("type", actionSchemas);

/** The spec's shape (strict): the API's record declares the stored spec with it (schemas/automation.ts). */
export const AUTOMATION_SPEC_SHAPE = z.strictObject({
  name,
  description: z.string().max(10_000).optional(),
  trigger: z.record(z.string(), z.unknown()),
  actions: z.array(action).min(1).max(20),
});

export type AutomationAction = z.infer<typeof action>;

/** An event trigger with its defaults applied and its window in ms. */
export interface EventTrigger {
  kind: "event";
  /** Name patterns: any may match. */
  events: string[];
  match: z.infer<typeof match>;
  posture: "reactive" | "proactive";
  threshold: number;
  withinMs: number;
  forEach: string | null;
}

export interface CompoundTrigger {
  kind: "compound";
  require: "all" | "any";
  triggers: EventTrigger[];
  withinMs: number;
}

export type Trigger = EventTrigger | CompoundTrigger | MetricTrigger;

/** A spec as written (what is stored and shown) and compiled (what the evaluator uses). */
export type AutomationSpec = z.output<typeof AUTOMATION_SPEC_SHAPE>;

export interface CompiledAutomation {
  spec: AutomationSpec;
  trigger: Trigger;
}

/** `actions[0].deployment` from zod's path. */
export function fieldPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out || "spec";
}

export function issueMessage(issue: z.core.$ZodIssue, prefix: string): { field: string; message: string } {
  const field = fieldPath(issue.path, prefix);
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const at = field === "spec" ? key : `${field}.${key}`;
    return { field: at, message: `${at} is not a field here${issue.keys.length > 1 ? ` (nor ${issue.keys.slice(1).join(", ")})` : ""}; check its spelling` };
  }
  if (issue.code === "invalid_union" && "discriminator" in issue && issue.discriminator === "type")
    return { field, message: `${field} must be one of ${ACTION_TYPES.join(", ")}` };
  if (issue.code === "invalid_type" && issue.input === undefined) return { field, message: `${field} is required` };
  return { field, message: `${field} ${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}` };
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown, prefix: string): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => issueMessage(issue, prefix));
  throw new AutomationSpecError(problems[0]!.field, problems.map((p) => p.message).join("; "), problems);
}

function durationAt(text: string | undefined, field: string, fallback: number): number {
  if (text === undefined) return fallback;
  try {
    return parseDuration(text, field);
  } catch (error) {
    throw new AutomationSpecError(field, (error as Error).message);
  }
}

function compileEventTrigger(input: unknown, field: string, inCompound: boolean): EventTrigger {
  const t = parseWith(eventTrigger, input, field);
  const trigger: EventTrigger = {
    kind: "event",
    events: [t.event].flat(),
    match: t.match ?? {},
    posture: t.posture ?? "reactive",
    threshold: t.threshold ?? 1,
    withinMs: durationAt(t.within, `${field}.within`, 0),
    forEach: t.for_each ?? null,
  };
  for (const [i, r] of (trigger.match.related ?? []).entries())
    if (r.id === undefined && r.name === undefined) throw new AutomationSpecError(`${field}.match.related[${i}]`, `${field}.match.related[${i}] needs an id or a name besides its role`);
  if (trigger.posture === "proactive" && trigger.withinMs <= 0)
    throw new AutomationSpecError(`${field}.within`, `${field}.within: a proactive trigger fires when the events do not come within a window; give one, e.g. 26h`);
  if (trigger.posture === "reactive" && trigger.threshold > 1 && trigger.withinMs <= 0)
    throw new AutomationSpecError(`${field}.within`, `${field}.within: a threshold of ${trigger.threshold} needs a window to count in, e.g. 10m`);
  if (inCompound && trigger.posture === "proactive") throw new AutomationSpecError(`${field}.posture`, `${field}.posture: the triggers of a compound trigger are reactive`);
  if (inCompound && trigger.forEach) throw new AutomationSpecError(`${field}.for_each`, `${field}.for_each: the triggers of a compound trigger keep one window each; for_each is not available there`);
  return trigger;
}

function compileMetricTrigger(input: unknown): MetricTrigger {
  const t = parseWith(metricTriggerSchema, input, "trigger");
  if (t.of?.flow !== undefined && t.of.deployment !== undefined) throw new AutomationSpecError("trigger.of", "trigger.of names a flow and a deployment; give one (a deployment's runs are its flow's runs)");
  const windowMs = durationAt(t.window, "trigger.window", 0);
  if (windowMs <= 0) throw new AutomationSpecError("trigger.window", "trigger.window must be more than 0s: the runs of which recent span are measured, e.g. 1h");
  const everyMs = durationAt(t.every, "trigger.every", METRIC_DEFAULTS.everyMs);
  if (everyMs < 1000) throw new AutomationSpecError("trigger.every", "trigger.every must be at least 1s: each measurement is a query over the runs");
  if (t.metric === "failure-rate" && (t.threshold < 0 || t.threshold > 1))
    throw new AutomationSpecError("trigger.threshold", `trigger.threshold: a failure rate is between 0 and 1 (0.2 is 20%), got ${t.threshold}`);
  return { kind: "metric", metric: t.metric, flow: t.of?.flow ?? null, deployment: t.of?.deployment ?? null, windowMs, op: t.op, threshold: t.threshold, minRuns: t.minRuns ?? METRIC_DEFAULTS.minRuns, everyMs };
}

function compileTrigger(input: Record<string, unknown>): Trigger {
  if ("metric" in input) return compileMetricTrigger(input);
  if (!("all" in input) && !("any" in input)) return compileEventTrigger(input, "trigger", false);
  const t = parseWith(compoundTrigger, input, "trigger");
  if (t.all && t.any) throw new AutomationSpecError("trigger", "trigger has both all and any; give one");
  const require = t.all ? "all" : "any";
  const triggers = (t.all ?? t.any)!.map((child, i) => compileEventTrigger(child, `trigger.${require}[${i}]`, true));
  const withinMs = durationAt(t.within, "trigger.within", 0);
  if (require === "all" && triggers.length > 1 && withinMs <= 0) throw new AutomationSpecError("trigger.within", "trigger.within: `all` needs a window its triggers must all fire in, e.g. 1h");
  return { kind: "compound", require, triggers, withinMs };
}

/** Why a trigger's firings have no event for templates to read, or null when they have one. */
function noEventReason(trigger: Trigger): string | null {
  if (trigger.kind === "metric") return "a metric trigger fires on a measurement, not an event";
  return trigger.kind === "event" && trigger.posture === "proactive" ? "a proactive trigger fires because no event came" : null;
}

function checkAction(a: AutomationAction, i: number, noEvent: string | null): void {
  const field = `actions[${i}]`;
  // A notification also reads the run, flow, deployment and link of the event's flow run (notification-templates.ts).
  const all: readonly string[] = a.type === "notify" ? MESSAGE_ROOTS : TEMPLATE_ROOTS;
  const roots = noEvent ? all.filter((r) => !["event", "run", "flow", "deployment"].includes(r)) : all;
  // A notification's subject and message may read variables (resolved at delivery), not secrets: they are stored and shown in clear.
  const refs = a.type === "notify" ? findTemplateRefs({ subject: a.subject, message: a.message }, field) : [];
  const problems = templateProblems(refs.length ? withoutTemplateRefs(a) : a, field, roots).map((p) => (noEvent && /refers to "(?:event|run|flow|deployment)"/.test(p.message) ? { ...p, message: `${p.message} (${noEvent})` } : p));
  for (const ref of refs.filter((r) => r.kind === "secrets"))
    problems.push({ field: ref.field, message: `${ref.field}: {{ secrets.${ref.name} }} may not be used in a notify action's subject or message (they are stored with the automation and shown in clear); reference the secret in the channel's settings instead` });
  if (a.type === "emit-event") {
    const problem = userEventNameProblem(a.event, `${field}.event`);
    if (problem) problems.push({ field: `${field}.event`, message: problem });
  }
  if (a.type === "call-webhook") {
    let url: URL | null = null;
    try {
      url = new URL(a.url.replace(/\{\{.*?\}\}/g, "x"));
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) problems.push({ field: `${field}.url`, message: `${field}.url must be an http or https URL, got ${JSON.stringify(a.url.slice(0, 80))}` });
    const timeout = durationAt(a.timeout, `${field}.timeout`, 10_000);
    if (timeout <= 0 || timeout > 300_000) problems.push({ field: `${field}.timeout`, message: `${field}.timeout must be more than 0s and at most 5m` });
  }
  if (a.type === "rollback-model" && !a.model.includes("{{")) {
    const problem = modelNameProblem(a.model, `${field}.model`);
    if (problem) problems.push({ field: `${field}.model`, message: problem });
  }
  if ((a.type === "cancel-flow-run" || a.type === "resume-flow-run") && noEvent && a.flow_run === undefined)
    problems.push({ field: `${field}.flow_run`, message: `${field}.flow_run is required: ${noEvent}, so there is no event whose flow run it could ${a.type === "cancel-flow-run" ? "cancel" : "resume"}` });
  if (problems.length) throw new AutomationSpecError(problems[0]!.field, problems.map((p) => p.message).join("; "), problems);
}

/** The spec checked and compiled; an AutomationSpecError naming the first bad field. */
export function compileAutomationSpec(input: unknown): CompiledAutomation {
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw new AutomationSpecError("spec", "an automation spec is an object: { name, trigger, actions }");
  const spec = parseWith(AUTOMATION_SPEC_SHAPE, input, "");
  const trigger = compileTrigger(spec.trigger);
  const noEvent = noEventReason(trigger);
  spec.actions.forEach((a, i) => checkAction(a, i, noEvent));
  return { spec, trigger };
}

/** The deployments, work pools and notification channels the actions name, each with its field: they must exist. */
export interface ActionReference {
  field: string;
  kind: "deployment" | "work pool" | "notification channel";
  name: string;
}

export function actionReferences(spec: AutomationSpec): ActionReference[] {
  return spec.actions.flatMap((a, i): ActionReference[] => {
    if (a.type === "run-deployment" || a.type === "pause-deployment" || a.type === "resume-deployment") return [{ field: `actions[${i}].deployment`, kind: "deployment", name: a.deployment }];
    if (a.type === "pause-work-pool" || a.type === "resume-work-pool") return [{ field: `actions[${i}].work_pool`, kind: "work pool", name: a.work_pool }];
    if (a.type === "notify") return [{ field: `actions[${i}].channel`, kind: "notification channel", name: a.channel }];
    return [];
  });
}

/** An automation of this name exists already. */
export class AutomationExistsError extends BatonError {
  override name = "AutomationExistsError";
  constructor(readonly automation: string) {
    super(`name: an automation named "${automation}" already exists; choose another name, or replace it (PUT /api/automations/${automation}, baton automation create --replace)`);
  }
}
