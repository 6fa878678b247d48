/**
 * A flow run's compliance report: who or what started it (from the audit log), the deployment
 * and flow version, the content hashes of its source and lock file (recorded when it started:
 * core/source-events.ts), its parameters, each task's inputs and output as content hashes, its
 * timings, retries and state history, the audit entries that name it, and whether the audit
 * chain verifies through the last of them.
 *
 * `gatherRunReport` reads; `assembleRunReport` is pure and orders everything by stable keys, so
 * the same run gives the same report byte for byte (nothing in it depends on when it was made —
 * the chain is verified only through the run's own last entry, which later calls do not move).
 * The renderers (run-report-markdown.ts, run-report-pdf.ts) take the assembled report.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../core/audit-chain.ts";
import { RunNotFoundError } from "../core/errors.ts";
import { FLOW_RUN_SOURCE_EVENT, type SourceHashes } from "../core/source-events.ts";
import type { AuditEntry, AuditVerification } from "../schemas/audit.ts";
import type { RunReport } from "../schemas/run-report.ts";
import type { EventRecord } from "../core/event-records.ts";
import type { Deployment, FlowRun, OrchestrationStore, ResultRecord, RunStore, StateRecord, TaskDependency, TaskRun } from "../store/types.ts";

/** What the report reads. */
export interface RunReportSources {
  runs: Pick<RunStore, "getFlowRun" | "listTaskRuns" | "listDependencies" | "stateHistory" | "getResult" | "listEvents">;
  deployments: Pick<OrchestrationStore, "getDeployment">;
  audit: { entriesTouching(id: string): Promise<AuditEntry[]>; verify(options: { throughSeq?: number }): Promise<AuditVerification> };
}

/** Everything the report is made of, as read. */
export interface RunReportData {
  run: FlowRun;
  deployment: Deployment | undefined;
  history: readonly StateRecord[];
  tasks: readonly TaskRun[];
  dependencies: readonly TaskDependency[];
  results: ReadonlyMap<string, ResultRecord>;
  /** The run's `baton.flow-run.source` events, oldest first. */
  sourceEvents: readonly EventRecord[];
  audit: readonly AuditEntry[];
  chain: AuditVerification;
}

/** The actions by which a caller creates a run. */
const CREATE_ACTIONS = new Set(["POST /api/deployments/:name/runs", "POST /api/flow-runs"]);

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const RESULT_FILE = /^([0-9a-f]{64})\.json$/;

/** A result's content hash: of its inline serialised text, or the name of its file (files are named by the sha256 of their bytes). */
export function resultSha256(result: ResultRecord): string | null {
  if (result.value !== null) return sha256(result.value);
  return RESULT_FILE.exec(result.path ?? "")?.[1] ?? null;
}

export async function gatherRunReport(sources: RunReportSources, id: string): Promise<RunReportData> {
  const run = await sources.runs.getFlowRun(id);
  if (!run) throw new RunNotFoundError("flow run", id);
  const [deployment, history, tasks, dependencies, sourcePage, audit] = await Promise.all([
    run.deploymentId ? sources.deployments.getDeployment(run.deploymentId) : Promise.resolve(undefined),
    sources.runs.stateHistory(id),
    sources.runs.listTaskRuns(id),
    sources.runs.listDependencies(id),
    sources.runs.listEvents({ resource: id, event: [FLOW_RUN_SOURCE_EVENT], order: "oldest", limit: 1 }),
    sources.audit.entriesTouching(id),
  ]);
  const results = new Map<string, ResultRecord>();
  for (const task of tasks) {
    if (!task.resultId) continue;
    const result = await sources.runs.getResult(task.resultId);
    if (result) results.set(result.id, result);
  }
  const last = audit.at(-1);
  const chain: AuditVerification = last ? await sources.audit.verify({ throughSeq: last.seq }) : { ok: true, checked: 0, head: null, broken: null };
  return { run, deployment, history, tasks, dependencies, results, sourceEvents: sourcePage.items, audit, chain };
}

/** What started the run: a schedule's or an automation's entry, else the call that created it. */
function triggerOf(data: RunReportData): RunReport["trigger"] {
  const message = [...data.history].sort((a, b) => a.id - b.id)[0]?.message ?? null;
  const automatic = data.audit.find((e) => e.action === "flow-run.scheduled" || e.action === "flow-run.automation");
  const created = automatic ?? data.audit.find((e) => CREATE_ACTIONS.has(e.action) && e.outcome === "success");
  if (!created) return { kind: "unknown", actor: null, action: null, at: null, detail: null, message };
  const kind = created.action === "flow-run.scheduled" ? "schedule" : created.action === "flow-run.automation" ? "automation" : "caller";
  return { kind, actor: created.actor, action: created.action, at: created.at, detail: created.detail, message };
}

const span = (start: number | null, end: number | null) => (start !== null && end !== null ? end - start : null);
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Tasks in creation order, but never before a task they depend on: tasks created in the same
 * batch share a millisecond, and a report that listed `add` before the `double` it reads would
 * read wrongly and differ between runs of the same flow.
 */
export function upstreamFirst(tasks: readonly TaskRun[], dependencies: readonly TaskDependency[]): TaskRun[] {
  const ordered = [...tasks].sort((a, b) => a.createdAt - b.createdAt || byKey(a.taskKey, b.taskKey) || byKey(a.id, b.id));
  const byId = new Map(ordered.map((t) => [t.id, t]));
  const upstreams = new Map<string, TaskRun[]>();
  for (const d of dependencies) {
    const upstream = byId.get(d.upstreamTaskRunId);
    if (!upstream || d.taskRunId === d.upstreamTaskRunId) continue;
    const list = upstreams.get(d.taskRunId);
    if (list) list.push(upstream);
    else upstreams.set(d.taskRunId, [upstream]);
  }
  const position = new Map(ordered.map((t, i) => [t.id, i]));
  for (const list of upstreams.values()) list.sort((a, b) => position.get(a.id)! - position.get(b.id)!);
  const seen = new Set<string>();
  const out: TaskRun[] = [];
  // Depth first with an explicit stack (a long chain created out of order must not overflow the call stack): a task's upstreams
  // go just before it; `seen` is set on entry so a cycle (never written by the engine) cannot loop.
  for (const root of ordered) {
    if (seen.has(root.id)) continue;
    seen.add(root.id);
    const stack: Array<{ task: TaskRun; next: number }> = [{ task: root, next: 0 }];
    while (stack.length > 0) {
      const top = stack.at(-1)!;
      const upstream = upstreams.get(top.task.id)?.[top.next++];
      if (upstream === undefined) {
        out.push(top.task);
        stack.pop();
      } else if (!seen.has(upstream.id)) {
        seen.add(upstream.id);
        stack.push({ task: upstream, next: 0 });
      }
    }
  }
  return out;
}

export function assembleRunReport(data: RunReportData): RunReport {
  const { run } = data;
  const tasksById = new Map(data.tasks.map((t) => [t.id, t]));
  const outputOf = (task: TaskRun | undefined) => {
    const result = task?.resultId ? data.results.get(task.resultId) : undefined;
    return result ? { resultId: result.id, sha256: resultSha256(result), size: result.size, serializer: result.serializer } : null;
  };
  const tasks = upstreamFirst(data.tasks, data.dependencies)
    .map((t) => ({
      id: t.id,
      taskKey: t.taskKey,
      taskName: t.taskName,
      state: { type: t.state.type, name: t.state.name },
      startTime: t.startTime,
      endTime: t.endTime,
      durationMs: span(t.startTime, t.endTime),
      attempts: t.runCount,
      retries: Math.max(0, t.runCount - 1),
      cacheKey: t.cacheKey,
      inputs: data.dependencies
        .filter((d) => d.taskRunId === t.id && d.kind === "data")
        .map((d) => ({ upstreamTaskRunId: d.upstreamTaskRunId, taskKey: tasksById.get(d.upstreamTaskRunId)?.taskKey ?? null, sha256: outputOf(tasksById.get(d.upstreamTaskRunId))?.sha256 ?? null }))
        .sort((a, b) => byKey(a.taskKey ?? "", b.taskKey ?? "") || byKey(a.upstreamTaskRunId, b.upstreamTaskRunId)),
      output: outputOf(t),
      error: t.error?.message ?? null,
    }));
  const first = data.sourceEvents[0];
  const source = first ? { ...(first.payload as unknown as SourceHashes), recordedAt: first.occurred } : null;
  const throughSeq = data.audit.at(-1)?.seq ?? null;
  return {
    reportVersion: 1,
    run: {
      id: run.id,
      name: run.name,
      flowName: run.flowName,
      state: { type: run.state.type, name: run.state.name },
      tags: run.tags,
      createdAt: run.createdAt,
      startTime: run.startTime,
      endTime: run.endTime,
      durationMs: span(run.startTime, run.endTime),
      runCount: run.runCount,
      retriesUsed: run.retriesUsed,
      workPool: run.workPool,
      workQueue: run.workQueue,
      workerId: run.workerId,
    },
    trigger: triggerOf(data),
    // The version and entrypoint the run was made with (copied into it), not the deployment's today.
    deployment: run.deploymentId ? { id: run.deploymentId, name: data.deployment?.name ?? null, flowVersion: run.version, entrypoint: run.entrypoint } : null,
    source: source ? { entrypoint: source.entrypoint, sourceSha256: source.sourceSha256, lockFile: source.lockFile, lockSha256: source.lockSha256, recordedAt: source.recordedAt } : null,
    parameters: run.parameters,
    parametersSha256: sha256(canonicalJson(run.parameters ?? null)),
    tasks,
    stateHistory: [...data.history]
      .filter((s) => s.taskRunId === null)
      .sort((a, b) => a.timestamp - b.timestamp || a.id - b.id)
      .map((s) => ({ timestamp: s.timestamp, type: s.type, name: s.name, message: s.message ?? null })),
    audit: { entries: [...data.audit], chain: { ok: data.chain.ok, throughSeq, broken: data.chain.broken } },
  };
}

/** The report of run `id` (a RunNotFoundError if there is none). */
export async function buildRunReport(sources: RunReportSources, id: string): Promise<RunReport> {
  return assembleRunReport(await gatherRunReport(sources, id));
}
