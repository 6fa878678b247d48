/**
 * A compliance report (run-report.ts) as Markdown, and the text both it and the PDF use. Every
 * time is written in UTC and nothing reads the clock: the same report gives the same text.
 */
import type { RunReport } from "../schemas/run-report.ts";

/** An instant as ISO 8601 UTC, or "—". */
export const utc = (ms: number | null | undefined): string => (ms === null || ms === undefined ? "—" : new Date(ms).toISOString());

/** A duration in ms, seconds or minutes, or "—". */
export function duration(ms: number | null): string {
  if (ms === null) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** Who started the run, in a sentence. */
export function triggerText(report: RunReport): string {
  const t = report.trigger;
  const actor = t.actor ? `${t.actor.name} (${t.actor.kind}${t.actor.id ? ` ${t.actor.id}` : ""}${t.actor.role ? `, role ${t.actor.role}` : ""})` : "unknown";
  switch (t.kind) {
    case "schedule":
      return `the schedule ${t.actor?.id ?? "?"} of deployment ${String(t.detail?.deployment ?? "?")}, for its slot ${utc(t.detail?.slot as number | null)}`;
    case "automation": {
      const event = t.detail?.event as { event?: string; id?: string; occurred?: number } | null | undefined;
      return `automation ${actor}${event ? `, triggered by event ${event.event} (${event.id}) at ${utc(event.occurred)}` : `, firing ${String(t.detail?.firing ?? "?")} (${String(t.detail?.reason ?? "no event")})`}`;
    }
    case "caller":
      return `${actor} through ${t.action}`;
    default:
      return `not recorded in the audit log${t.message ? ` (its first state says: ${t.message})` : ""}`;
  }
}

/** `|`-free, one-line text for a Markdown table cell. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

export function renderRunReportMarkdown(r: RunReport): string {
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);
  push(`# Compliance report: flow run ${r.run.name}`, "");
  push(`| | |`, `|---|---|`);
  push(`| Run | \`${r.run.id}\` |`, `| Flow | ${cell(r.run.flowName)} |`, `| State | ${r.run.state.name} |`, `| Tags | ${cell(r.run.tags.join(", ") || "—")} |`);
  push(`| Created | ${utc(r.run.createdAt)} |`, `| Started | ${utc(r.run.startTime)} |`, `| Ended | ${utc(r.run.endTime)} |`, `| Duration | ${duration(r.run.durationMs)} |`);
  push(`| Attempts | ${r.run.runCount} (deployment retries used: ${r.run.retriesUsed}) |`, `| Work pool / queue | ${cell(r.run.workPool ?? "—")} / ${cell(r.run.workQueue ?? "—")} |`, `| Worker | ${cell(r.run.workerId ?? "—")} |`, "");
  push(`## Started by`, "", cell(triggerText(r)), "");
  if (r.trigger.detail) push("```json", JSON.stringify(r.trigger.detail, null, 2), "```", "");
  push(`## Deployment and source`, "");
  if (r.deployment) push(`- Deployment: ${cell(r.deployment.name ?? "(deleted)")} (\`${r.deployment.id}\`)`, `- Flow version: ${cell(r.deployment.flowVersion ?? "—")}`, `- Entrypoint: \`${r.deployment.entrypoint ?? "—"}\``);
  else push(`- Not a deployment's run.`);
  if (r.source) push(`- Source (\`${r.source.entrypoint}\`) sha256: \`${r.source.sourceSha256}\``, `- Lock file: ${r.source.lockFile ? `\`${r.source.lockFile}\` sha256: \`${r.source.lockSha256}\`` : "none found"}`, `- Recorded when it started: ${utc(r.source.recordedAt)}`);
  else push(`- Source hashes: not recorded (the run was not started by a worker).`);
  push("", `## Parameters`, "", `sha256 of their canonical JSON: \`${r.parametersSha256}\``, "", "```json", JSON.stringify(r.parameters ?? null, null, 2), "```", "");
  push(`## Tasks (${r.tasks.length})`, "");
  if (r.tasks.length) {
    push(`| Task | State | Started | Duration | Attempts | Inputs (sha256) | Output (sha256) |`, `|---|---|---|---|---|---|---|`);
    for (const t of r.tasks) {
      const inputs = t.inputs.map((i) => `${cell(i.taskKey ?? i.upstreamTaskRunId)}: \`${i.sha256 ?? "—"}\``).join("<br>") || "—";
      push(`| ${cell(t.taskKey)} | ${t.state.name}${t.error ? `: ${cell(t.error.slice(0, 200))}` : ""} | ${utc(t.startTime)} | ${duration(t.durationMs)} | ${t.attempts} | ${inputs} | ${t.output ? `\`${t.output.sha256 ?? "—"}\` (${t.output.size} B)` : "—"} |`);
    }
    const cached = r.tasks.filter((t) => t.cacheKey);
    if (cached.length) push("", "Cache keys (hash of a task's name, source and arguments):", "", ...cached.map((t) => `- ${cell(t.taskKey)}: \`${t.cacheKey}\``));
  }
  push("", `## State history`, "", `| Time | State | Message |`, `|---|---|---|`);
  for (const s of r.stateHistory) push(`| ${utc(s.timestamp)} | ${s.name} | ${cell(s.message ?? "")} |`);
  push("", `## Audit trail (${r.audit.entries.length} entries)`, "");
  if (r.audit.entries.length) {
    push(`| # | Time | Actor | Action | Outcome | Client | Request |`, `|---|---|---|---|---|---|---|`);
    for (const e of r.audit.entries) push(`| ${e.seq} | ${utc(e.at)} | ${cell(`${e.actor.name} (${e.actor.kind}${e.actor.role ? `, ${e.actor.role}` : ""})`)} | ${cell(e.action)} | ${e.outcome}${e.status === null ? "" : ` ${e.status}`} | ${cell(e.clientIp ?? "—")} | ${cell(e.requestId ?? "—")} |`);
  }
  const chain = r.audit.chain;
  push("", chain.ok ? `Audit chain: **verifies** from its first row${chain.throughSeq === null ? "" : ` through row ${chain.throughSeq}`}.` : `Audit chain: **BROKEN** at row ${chain.broken?.seq}: ${cell(chain.broken?.reason ?? "")}`, "");
  return lines.join("\n");
}
