/**
 * Managing automations, the use cases the routes and the CLI share: a spec is compiled (strict,
 * see core/automation-spec.ts) and the deployments and work pools it names must exist — in its
 * actions, and in its trigger's related resources, where an unknown one would make a trigger
 * that can never match — before anything is stored.
 */
import { actionReferences, AutomationSpecError, compileAutomationSpec, type AutomationSpec } from "../core/automation-spec.ts";
import type { OrchestrationStore, RunStore } from "../store/types.ts";
import type { Automation, AutomationStore } from "../store/automation-types.ts";
import type { AutomationDetail, AutomationSummary } from "../schemas/automation.ts";
import type { NotificationChannelStore } from "../store/notification-channel-store.ts";

/** What a spec's references are looked up in. */
export type AutomationReferences = Pick<OrchestrationStore, "getDeployment" | "getWorkPool"> & Pick<NotificationChannelStore, "getChannel"> & Pick<RunStore, "getFlow">;

export type { AutomationDetail, AutomationSummary } from "../schemas/automation.ts";

/** How many firings `inspect` and GET /api/automations/{name} show. */
export const SHOWN_FIRINGS = 10;

/** The deployments and work pools a trigger's `match.related` names by role, and the flow or deployment a metric trigger measures, each with its field. */
function triggerReferences(trigger: Record<string, unknown>, field = "trigger"): { field: string; kind: "deployment" | "work pool" | "flow"; key: string }[] {
  if ("metric" in trigger) {
    const of = (trigger.of ?? {}) as { flow?: string; deployment?: string };
    if (of.flow !== undefined) return [{ field: `${field}.of.flow`, kind: "flow", key: of.flow }];
    return of.deployment !== undefined ? [{ field: `${field}.of.deployment`, kind: "deployment", key: of.deployment }] : [];
  }
  const children = (trigger.all ?? trigger.any) as Record<string, unknown>[] | undefined;
  if (children) return children.flatMap((child, i) => triggerReferences(child, `${field}.${trigger.all ? "all" : "any"}[${i}]`));
  const related = ((trigger.match as { related?: { role: string; id?: string; name?: string }[] } | undefined)?.related ?? []).map((r, i) => ({ r, i }));
  return related.flatMap(({ r, i }) =>
    r.role === "deployment" || r.role === "work-pool" ? [{ field: `${field}.match.related[${i}]`, kind: r.role === "deployment" ? ("deployment" as const) : ("work pool" as const), key: (r.id ?? r.name)! }] : [],
  );
}

/** The spec compiled, with every deployment, work pool and notification channel it names found; an AutomationSpecError naming the field otherwise. */
export async function checkAutomationSpec(input: unknown, references: AutomationReferences): Promise<AutomationSpec> {
  const { spec } = compileAutomationSpec(input);
  const named = [...triggerReferences(spec.trigger).map((r) => ({ ...r, name: r.key, why: "the trigger could never match" })), ...actionReferences(spec).map((r) => ({ ...r, why: "create it first" }))];
  for (const ref of named) {
    const found =
      ref.kind === "deployment"
        ? await references.getDeployment(ref.name)
        : ref.kind === "work pool"
          ? await references.getWorkPool(ref.name)
          : ref.kind === "flow"
            ? await references.getFlow(ref.name)
            : await references.getChannel(ref.name);
    if (!found) throw new AutomationSpecError(ref.field, `${ref.field}: ${ref.kind} "${ref.name}" does not exist (${ref.why})`);
  }
  return spec;
}

/** Managing automations, as the CLI does it: on the database, or through the server. */
export interface AutomationAdmin {
  /** `replace`: an automation of the same name gets this spec. */
  create(spec: unknown, options?: { replace?: boolean }): Promise<Automation>;
  list(): Promise<AutomationSummary[]>;
  inspect(idOrName: string): Promise<AutomationDetail | undefined>;
  setPaused(idOrName: string, paused: boolean): Promise<Automation | undefined>;
  delete(idOrName: string): Promise<boolean>;
}

export async function createAutomation(automations: AutomationStore, references: AutomationReferences, input: unknown, options: { replace?: boolean } = {}): Promise<Automation> {
  const spec = await checkAutomationSpec(input, references);
  if (options.replace) {
    const replaced = await automations.replaceAutomation(spec.name, spec);
    if (replaced) return replaced;
  }
  return automations.createAutomation(spec);
}

export async function summarize(automations: AutomationStore, list: readonly Automation[]): Promise<AutomationSummary[]> {
  return Promise.all(list.map(async (a) => ({ ...a, lastFiring: (await automations.listFirings(a.id, 1))[0] ?? null })));
}

export async function inspectAutomation(automations: AutomationStore, idOrName: string, firings = SHOWN_FIRINGS): Promise<AutomationDetail | undefined> {
  const found = await automations.getAutomation(idOrName);
  return found && { ...found, firings: await automations.listFirings(found.id, firings) };
}

/** Automation management on the database: the use cases in front of the store. */
export function localAutomationAdmin(automations: AutomationStore, orchestration: OrchestrationStore, channels: Pick<NotificationChannelStore, "getChannel">, flows: Pick<RunStore, "getFlow">): AutomationAdmin {
  const references: AutomationReferences = {
    getDeployment: (n) => orchestration.getDeployment(n),
    getWorkPool: (n) => orchestration.getWorkPool(n),
    getChannel: (n) => channels.getChannel(n),
    getFlow: (n) => flows.getFlow(n),
  };
  return {
    create: (spec, options) => createAutomation(automations, references, spec, options),
    list: async () => summarize(automations, await automations.listAutomations()),
    inspect: (idOrName) => inspectAutomation(automations, idOrName),
    setPaused: (idOrName, paused) => automations.setAutomationPaused(idOrName, paused),
    delete: (idOrName) => automations.deleteAutomation(idOrName),
  };
}
