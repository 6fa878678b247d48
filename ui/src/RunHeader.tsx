/**
 * The head of a flow run's page: its name and state, what it belongs to (flow, deployment,
 * parent run, work pool and queue, worker, tags), its times — when a Scheduled run will run,
 * when it started and ended, and how long it ran over its attempts, without the idle time
 * between them — and its actions, each confirmed first: cancel, retry, re-run (a new run on the same
 * parameters and data versions), pause (a run a worker can
 * start again), run again (a deployment's run: the Run form, prefilled), change state (admins),
 * delete. Resuming a paused run is the input form below the header (ResumeForm).
 */
import { useState, type ReactNode } from "react";
import { del, post, useData, useInterval, type FlowRun } from "./api.ts";
import { ChangeStateForm } from "./ChangeStateForm.tsx";
import { ConfirmButton } from "./ConfirmButton.tsx";
import { CopyButton } from "./CopyButton.tsx";
import { useCan } from "./can.ts";
import { cpuText, memoryText, time } from "./format.ts";
import { Link, navigate } from "./router.ts";
import { RunForm, type RunFormDeployment } from "./RunForm.tsx";
import { activeMs, formatMs, relative, type Attempt } from "./run-times.ts";
import { toText, type JsonSchema } from "./schema-form.ts";
import type { SessionInfo, WorkerStatus } from "./types.ts";
import { TERMINAL_TYPES as TERMINAL } from "../../src/core/states.ts";

/** Where a deployment's own page is. */
export const deploymentPath = (name: string) => `/deployments/${encodeURIComponent(name)}`;

function Fact({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-testid={testId}>{children}</dd>
    </div>
  );
}

/** A flow run's parameters as the Run form's texts. */
function parameterTexts(run: FlowRun, schema: JsonSchema | null): Record<string, string> {
  const params = (run.parameters ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, toText(value, schema?.properties?.[name] ?? {})]));
}

export function RunHeader({ run: r, attempts, onChanged, onNotice }: { run: FlowRun; attempts: Attempt[]; onChanged(): void; onNotice(text: string, error?: boolean): void }) {
  const id = encodeURIComponent(r.id);
  const [open, setOpen] = useState<"run-again" | "change-state" | null>(null);
  const can = useCan();
  const deployment = useData<RunFormDeployment & { id: string }>(r.deploymentId ? `/deployments/${encodeURIComponent(r.deploymentId)}` : null);
  const parent = useData<FlowRun>(r.parentFlowRunId ? `/flow-runs/${encodeURIComponent(r.parentFlowRunId)}` : null);
  const workers = useData<{ items: WorkerStatus[] }>(r.workerId ? "/workers" : null);
  const session = useData<SessionInfo>("/session");
  const worker = workers.data?.items.find((w) => w.id === r.workerId);
  // Relative times ("in 4 min") and a running run's duration move on by themselves.
  const [now, setNow] = useState(Date.now());
  useInterval(() => setNow(Date.now()), TERMINAL.has(r.state.type) ? 60_000 : 1000);

  const act = (path: string, done: string, body: unknown = {}) => async () => {
    await post(`/flow-runs/${id}/${path}`, body);
    onNotice(done);
    onChanged();
  };
  const restartable = Boolean(r.workPool && r.entrypoint);
  const idle = attempts.length > 1 ? attempts.slice(1).reduce((n, a, i) => n + (a.start - (attempts[i]!.end ?? a.start)), 0) : 0;
  const ran = activeMs(attempts, now);

  return (
    <>
      <div className="toolbar">
        <h1>
          {r.name}{" "}
          <span className={`state ${r.state.type.toLowerCase()}`} data-testid="run-state">
            {r.state.name}
          </span>
        </h1>
        <div className="actions" data-testid="run-actions">
          {can("runs:operate") && !TERMINAL.has(r.state.type) && <ConfirmButton label="Cancel" question="Cancel this run?" confirmLabel="Yes, cancel" onConfirm={act("cancel", "Cancellation requested")} testId="cancel" />}
          {can("runs:operate") && ["FAILED", "CRASHED", "CANCELLED"].includes(r.state.type) && (
            <ConfirmButton label="Retry" question="Retry this run? A worker resumes it; finished tasks are reused." confirmLabel="Yes, retry" onConfirm={act("retry", "Retry scheduled: a worker will resume the run")} testId="retry" />
          )}
          {can("runs:operate") && restartable && !r.parentFlowRunId && TERMINAL.has(r.state.type) && (
            <ConfirmButton
              label="Re-run"
              question="Run it again as a new run, on its parameters and the asset versions it read? A worker runs it; nothing is reused."
              confirmLabel="Yes, re-run"
              onConfirm={async () => {
                const { run } = await post<{ run: FlowRun }>(`/flow-runs/${id}/rerun`);
                navigate(`/runs/${run.id}`);
              }}
              testId="rerun"
            />
          )}
          {can("runs:operate") && restartable && (r.state.type === "RUNNING" || r.state.type === "PENDING") && (
            <ConfirmButton
              label="Pause"
              question="Pause this run? Its process stops after the task runs in progress; resumed, a worker starts it again and finished tasks are reused."
              confirmLabel="Yes, pause"
              onConfirm={act("pause", "Paused: resume it below", { key: `dashboard-${Date.now()}`, schema: null, description: "Paused from the dashboard", timeoutAt: null })}
              testId="pause"
            />
          )}
          {can("runs:operate") && r.state.type === "PAUSED" && (
            // The input form below the header is the confirmation: it says what the run waits for.
            <button onClick={() => document.querySelector<HTMLElement>("[data-testid=resume-form] textarea, [data-testid=resume-form] input, [data-testid=resume-form] select")?.focus()} data-testid="resume">
              Resume…
            </button>
          )}
          {can("deployments:operate") && deployment.data && (
            <button onClick={() => setOpen(open === "run-again" ? null : "run-again")} data-testid="run-again">
              Run again…
            </button>
          )}
          {session.data?.role === "admin" && (
            <button onClick={() => setOpen(open === "change-state" ? null : "change-state")} data-testid="change-state">
              Change state…
            </button>
          )}
          {can("runs:delete") && (
          <ConfirmButton
            label="Delete"
            question="Delete this run with its task runs, logs and artifacts?"
            confirmLabel="Yes, delete"
            onConfirm={async () => {
              await del(`/flow-runs/${id}`);
              navigate("/");
            }}
            testId="delete"
          />
          )}
          <CopyButton value={r.id} label="Copy id" />
        </div>
      </div>
      <dl className="facts" data-testid="run-facts">
        <Fact label="Flow">
          <Link to={`/?flow=${encodeURIComponent(r.flowName)}`}>{r.flowName}</Link>
        </Fact>
        {r.deploymentId && (
          <Fact label="Deployment" testId="deployment">
            {deployment.data ? <Link to={deploymentPath(deployment.data.name)}>{deployment.data.name}</Link> : <span className="muted">{deployment.error ? "deleted" : "…"}</span>}
          </Fact>
        )}
        {r.parentFlowRunId && (
          <Fact label="Parent run">
            <Link to={`/runs/${r.parentFlowRunId}`} data-testid="parent-link">
              {parent.data ? `${parent.data.name} (${parent.data.flowName})` : "its parent flow run"}
            </Link>
          </Fact>
        )}
        {r.workPool && (
          <Fact label="Work pool">
            {r.workPool} / {r.workQueue}
          </Fact>
        )}
        {r.workerId && (
          <Fact label="Worker" testId="worker">
            {worker ? `${worker.name} (${worker.status})` : r.workerId}
          </Fact>
        )}
        {r.tags.length > 0 && (
          <Fact label="Tags" testId="tags">
            {r.tags.map((t) => (
              <Link key={t} className="tag" to={`/?tag=${encodeURIComponent(t)}`}>
                #{t}
              </Link>
            ))}
          </Fact>
        )}
        <Fact label="Created">{time(r.createdAt)}</Fact>
        {r.state.type === "SCHEDULED" && r.state.scheduledAt != null && (
          <Fact label="Runs" testId="scheduled-for">
            {r.state.scheduledAt > now ? `${relative(r.state.scheduledAt, now)}, at ${time(r.state.scheduledAt)}` : `due since ${time(r.state.scheduledAt)}: waiting for a worker`}
          </Fact>
        )}
        {r.expectedStartTime != null && r.state.type !== "SCHEDULED" && <Fact label="Scheduled for">{time(r.expectedStartTime)}</Fact>}
        <Fact label="Started" testId="started">
          {time(r.startTime)}
        </Fact>
        <Fact label="Ended" testId="ended">
          {TERMINAL.has(r.state.type) ? time(r.endTime) : "–"}
        </Fact>
        <Fact label="Duration" testId="duration">
          {attempts.length === 0 ? "–" : formatMs(ran)}
          {attempts.length > 1 && (
            <span className="muted">
              {" "}
              over {attempts.length} attempts{idle > 0 ? `, not counting ${formatMs(idle)} idle between them` : ""}
            </span>
          )}
        </Fact>
        {r.resources && (
          <>
            <Fact label="CPU" testId="run-cpu">
              {cpuText(r.resources)}
            </Fact>
            <Fact label="Peak memory" testId="run-memory">
              <span title="the process's peak resident memory (a process running several flows shares it)">{memoryText(r.resources)}</span>
            </Fact>
          </>
        )}
      </dl>
      {open === "run-again" && deployment.data && (
        <div className="card" data-testid="run-again-form">
          <h2>Run {deployment.data.name} again</h2>
          <p className="muted">Prefilled with this run's parameters and tags.</p>
          <RunForm deployment={deployment.data} initialTexts={parameterTexts(r, deployment.data.parameterSchema)} initialTags={r.tags} />
        </div>
      )}
      {open === "change-state" && (
        <ChangeStateForm
          run={r}
          onClose={() => setOpen(null)}
          onDone={(name) => {
            setOpen(null);
            onNotice(`State set to ${name}`);
            onChanged();
          }}
        />
      )}
    </>
  );
}
