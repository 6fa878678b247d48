/** Where people reach the dashboard: BATON_PUBLIC_URL, else the server of BATON_API_URL; null when no server is known. */
import type { Settings } from "../config/settings.ts";

export function dashboardUrl(settings: Pick<Settings, "publicUrl" | "apiUrl">): string | null {
  return settings.publicUrl.value ?? settings.apiUrl.value ?? null;
}

/** The dashboard's page of a flow run. */
export function flowRunUrl(base: string, flowRunId: string): string {
  return `${base}/runs/${encodeURIComponent(flowRunId)}`;
}
