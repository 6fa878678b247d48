/**
 * A deployment's page: what it runs and how (flow, entrypoint, pool and queue, concurrency
 * limit and collision strategy, retries, job variables with their values masked), its
 * parameters, its schedules — each with its next five run times in the user's time zone, to
 * pause, resume, change or delete, and new ones added with a live preview — its runs, and the
 * Run form (the deployments list's, opened with `?run=NAME` as there), and an Edit form for its
 * own fields (DeploymentForm.tsx). Live: changes made
 * elsewhere (the CLI, another tab) show without a reload.
 */
import { useState } from "react";
import { del, post, useData } from "./api.ts";
import { ConfirmDelete } from "./ConfirmDelete.tsx";
import { DeploymentForm } from "./DeploymentForm.tsx";
import { useCan } from "./can.ts";
import { RunForm } from "./DeploymentsPage.tsx";
import { time } from "./format.ts";
import { useResourceReload } from "./live.ts";
import { ParameterSchemaTable } from "./ParameterSchemaTable.tsx";
import { RecentRuns } from "./RecentRuns.tsx";
import { Link, navigate } from "./router.ts";
import { ScheduleForm, slotTime, USER_TIME_ZONE } from "./ScheduleForm.tsx";
import type { JsonSchema } from "./schema-form.ts";
import type { Deployment, ScheduleList } from "./types.ts";

/** What the server shows of an env value the caller may not read. */
const MASKED = "********";

const COLLISION: Record<Deployment["collisionStrategy"], string> = {
  enqueue: "further runs wait for a slot",
  "cancel-new": "further runs are cancelled",
};

function JobVariables({ jobVariables }: { jobVariables: Deployment["jobVariables"] }) {
  const [shown, setShown] = useState(false);
  const env = Object.entries(jobVariables.env ?? {});
  const readable = env.some(([, v]) => v !== MASKED);
  if (!env.length && !jobVariables.cwd) return <p className="muted">None: its runs start as the work pool says.</p>;
  return (
    <div data-testid="job-variables">
      {jobVariables.cwd && (
        <p>
          Working directory <code>{jobVariables.cwd}</code>
        </p>
      )}
      {env.length > 0 && (
        <table className="runs static">
          <thead>
            <tr>
              <th>Environment variable</th>
              <th>
                Value{" "}
                {readable && (
                  <button onClick={() => setShown(!shown)} data-testid="reveal-env">
                    {shown ? "Hide values" : "Show values"}
                  </button>
                )}
              </th>
            </tr>
          </thead>
          <tbody>
            {env.map(([name, value]) => (
              <tr key={name} data-env={name}>
                <td>
                  <code>{name}</code>
                </td>
                <td>
                  <code data-testid="env-value">{shown ? value : MASKED}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!readable && env.length > 0 && <p className="muted">Values are shown to admins only.</p>}
    </div>
  );
}

function Schedules({ deployment, reload, onChange }: { deployment: Deployment; reload: string; onChange(): void }) {
  const can = useCan();
  const base = `/deployments/${encodeURIComponent(deployment.name)}/schedules`;
  const { data, error } = useData<ScheduleList>(base, reload);
  // null: no form; "new": a blank one; an id: that schedule's.
  const [editing, setEditing] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const toggle = async (id: string, active: boolean) => {
    try {
      await post(`${base}/${encodeURIComponent(id)}/${active ? "pause" : "resume"}`);
      setProblem(null);
      onChange();
    } catch (e) {
      setProblem(`${active ? "Pause" : "Resume"} failed: ${(e as Error).message}`);
    }
  };
  const items = data?.items ?? [];
  const current = editing && editing !== "new" ? (items.find((s) => s.id === editing) ?? null) : null;
  const saved = () => {
    setEditing(null);
    onChange();
  };
  return (
    <>
      <div className="toolbar section">
        <h2>Schedules</h2>
        <span className="muted">times in your time zone ({USER_TIME_ZONE})</span>
        {can("deployments:write") && (
          <div className="actions">
            <button onClick={() => setEditing(editing === "new" ? null : "new")} data-testid="add-schedule">
              {editing === "new" ? "Close the form" : "Add schedule"}
            </button>
          </div>
        )}
      </div>
      {editing && <ScheduleForm key={editing} deployment={deployment.name} existing={current} onSaved={saved} onCancel={() => setEditing(null)} />}
      {error && <p className="error">{error}</p>}
      {problem && (
        <p className="error" data-testid="schedule-problem">
          {problem}
        </p>
      )}
      {deployment.paused && items.length > 0 && <p className="notice">The deployment is paused: none of its schedules makes runs until it is resumed.</p>}
      {data && items.length === 0 && <p className="muted">No schedules: it runs when asked (the Run button, the API, the CLI).</p>}
      {items.length > 0 && (
        <table className="runs static" data-testid="schedules">
          <thead>
            <tr>
              <th>Schedule</th>
              <th>Status</th>
              <th>Next runs</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id} data-schedule={s.id}>
                <td>{s.description}</td>
                <td>
                  <span className={`state ${s.active ? "completed" : "paused"}`}>{s.active ? "Active" : "Paused"}</span>
                </td>
                <td className={s.active && !deployment.paused ? "" : "muted"} data-testid="next-runs">
                  {s.next.length === 0 ? "none within a year" : s.next.map((t) => <div key={t}>{slotTime(t)}</div>)}
                </td>
                <td>
                  {can("deployments:operate") && <button onClick={() => void toggle(s.id, s.active)}>{s.active ? "Pause" : "Resume"}</button>}{" "}
                  {can("deployments:write") && (<>
                  <button onClick={() => setEditing(s.id)}>Edit</button>{" "}
                  <ConfirmDelete
                    what={`schedule ${s.description}; its future runs go with it`}
                    onDelete={async () => {
                      await del(`${base}/${encodeURIComponent(s.id)}`);
                      if (editing === s.id) setEditing(null);
                      onChange();
                    }}
                  />
                  </>)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function DeploymentPage({ name, url }: { name: string; url: URL }) {
  const can = useCan();
  const live = useResourceReload(["deployments", "work-pools"]);
  const [acted, setActed] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const reload = `${live}:${acted}`;
  const path = `/deployments/${encodeURIComponent(name)}`;
  const { data: d, error } = useData<Deployment>(path, reload);
  if (error) return <p className="error">{error}</p>;
  if (!d) return <p>Loading…</p>;
  const formOpen = url.searchParams.get("run") === d.name;
  const pageUrl = `/deployments/${encodeURIComponent(d.name)}`;
  const togglePaused = async () => {
    try {
      await post(`${path}/${d.paused ? "resume" : "pause"}`);
      setProblem(null);
      setActed((n) => n + 1);
    } catch (e) {
      setProblem(`${d.paused ? "Resume" : "Pause"} failed: ${(e as Error).message}`);
    }
  };
  const schema = d.parameterSchema as JsonSchema | null;
  return (
    <section>
      <div className="toolbar">
        <h1>
          <Link to="/deployments">Deployments</Link> / {d.name}
        </h1>
        <span className={`state ${d.paused ? "paused" : "completed"}`} data-testid="deployment-state">
          {d.paused ? "Paused" : "Active"}
        </span>
        <div className="actions">
          {can("deployments:operate") && (
            <>
              <button onClick={() => void togglePaused()}>{d.paused ? "Resume" : "Pause"}</button>
              <button onClick={() => navigate(formOpen ? pageUrl : `${pageUrl}?run=${encodeURIComponent(d.name)}`)} data-testid="open-run-form">
                {formOpen ? "Close the form" : "Run…"}
              </button>
            </>
          )}
          {can("deployments:write") && (
            <button onClick={() => setEditing(!editing)} data-testid="edit-deployment">
              {editing ? "Close the form" : "Edit"}
            </button>
          )}
          {can("deployments:write") && (
            <ConfirmDelete
              what={`deployment ${d.name} and its scheduled runs`}
              onDelete={async () => {
                await del(path);
                navigate("/deployments");
              }}
            />
          )}
        </div>
      </div>
      {problem && (
        <p className="error" data-testid="deployment-error">
          {problem}
        </p>
      )}
      {formOpen && can("deployments:operate") && (
        <div className="card">
          <RunForm deployment={{ ...d, parameterSchema: schema, nextRuns: [], scheduleText: [] }} url={url} />
        </div>
      )}
      {editing && can("deployments:write") && (
        <DeploymentForm
          deployment={d}
          onCancel={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            setActed((n) => n + 1);
          }}
        />
      )}
      {d.description && <p data-testid="deployment-description">{d.description}</p>}
      <dl className="facts card" data-testid="deployment-facts">
        <dt>Flow</dt>
        <dd>
          <Link to={`/flows/${encodeURIComponent(d.flowName)}`}>{d.flowName}</Link>
          {d.version && <span className="muted"> version {d.version}</span>}
        </dd>
        <dt>Entrypoint</dt>
        <dd>
          <code>{d.entrypoint}</code>
        </dd>
        <dt>Tags</dt>
        <dd>{d.tags.length ? d.tags.map((t) => <span key={t} className="chip">{t}&nbsp;</span>) : <span className="muted">none</span>}</dd>
        <dt>Work pool / queue</dt>
        <dd>{d.workPool ? <Link to="/work-pools">{`${d.workPool} / ${d.workQueue}`}</Link> : <span className="muted">none: its runs are started by hand (baton run)</span>}</dd>
        <dt>Concurrency</dt>
        <dd data-testid="deployment-concurrency">{d.concurrencyLimit === null ? "no limit" : `at most ${d.concurrencyLimit} running at once; ${COLLISION[d.collisionStrategy]}`}</dd>
        <dt>Retries</dt>
        <dd data-testid="deployment-retries">{d.retries === 0 ? "none" : `${d.retries} of a crashed or failed run, ${d.retryDelayMs / 1000} s apart`}</dd>
        <dt>Updated</dt>
        <dd>
          {time(d.updatedAt)} <span className="muted">(created {time(d.createdAt)})</span>
        </dd>
      </dl>
      <Schedules deployment={d} reload={reload} onChange={() => setActed((n) => n + 1)} />
      <h2>Parameters</h2>
      {schema ? (
        <ParameterSchemaTable schema={schema} defaults={d.parameters} />
      ) : Object.keys(d.parameters).length ? (
        <pre data-testid="deployment-parameters">{JSON.stringify(d.parameters, null, 2)}</pre>
      ) : (
        <p className="muted">No parameters and no schema.</p>
      )}
      <h2>Job variables</h2>
      <JobVariables jobVariables={d.jobVariables} />
      <h2>Runs</h2>
      <RecentRuns reload={reload} filter={`deployment=${encodeURIComponent(d.id)}`} allRuns={`/?deployment=${encodeURIComponent(d.id)}`} empty="No runs yet: press Run…, or wait for a schedule." />
    </section>
  );
}
