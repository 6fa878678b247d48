/** Automations over the Baton API (remote mode): the server checks specs and runs them. */
import type { Automation } from "../store/automation-types.ts";
import type { AutomationAdmin, AutomationDetail, AutomationSummary } from "../server/automations.ts";
import { orUndefined, type ApiClient } from "./api-client.ts";
import { AutomationDetailSchema, AutomationListSchema, AutomationSchema } from "../schemas/automation.ts";
const enc = encodeURIComponent;

export class RemoteAutomations implements AutomationAdmin {
  constructor(private readonly api: ApiClient) {}

  async create(spec: unknown, options: { replace?: boolean } = {}): Promise<Automation> {
    const name = (spec as { name?: unknown } | null)?.name;
    if (options.replace && typeof name === "string") {
      const replaced = await orUndefined(this.api.request("PUT", `/api/automations/${enc(name)}`, spec, AutomationSchema));
      if (replaced) return replaced;
    }
    return this.api.request("POST", "/api/automations", spec, AutomationSchema);
  }

  async list(): Promise<AutomationSummary[]> {
    return (await this.api.request("GET", "/api/automations", undefined, AutomationListSchema)).items;
  }

  inspect(idOrName: string): Promise<AutomationDetail | undefined> {
    return orUndefined(this.api.request("GET", `/api/automations/${enc(idOrName)}`, undefined, AutomationDetailSchema));
  }

  setPaused(idOrName: string, paused: boolean): Promise<Automation | undefined> {
    return orUndefined(this.api.request("POST", `/api/automations/${enc(idOrName)}/${paused ? "pause" : "resume"}`, undefined, AutomationSchema));
  }

  async delete(idOrName: string): Promise<boolean> {
    return (await orUndefined(this.api.request("DELETE", `/api/automations/${enc(idOrName)}`).then(() => true))) ?? false;
  }
}
