/**
 * Deployments: schedules, next runs, pause/resume, and a Run form generated from the parameter
 * JSON Schema. The open form and every value typed into it are in the URL
 * (`?run=NAME&p.FIELD=TEXT`), so a prefilled run can be shared as a link. Keyboard: j / k
 * select a deployment, Enter opens its Run form.
 */
import { useRef, useState } from "react";
import { post, useData } from "./api.ts";
import { time } from "./format.ts";
import { revealSelected, useListKeys } from "./keys.ts";
import { useResourceReload } from "./live.ts";
import { Link, navigate, replaceQuery } from "./router.ts";
import { RunForm as SharedRunForm } from "./RunForm.tsx";
import type { JsonSchema } from "./schema-form.ts";
import type { DeploymentList } from "./types.ts";
import { useCan } from "./can.ts";

/** A deployment as listed, its parameters' JSON Schema read as the form reads it. */
type Deployment = Omit<DeploymentList["items"][number], "parameterSchema"> & { parameterSchema: JsonSchema | null };

/**
 * The shared Run form (RunForm.tsx) with what is typed kept in the page's URL (`p.FIELD=TEXT`
 * for each parameter that differs from its default), so a prefilled run can be shared.
 */
export function RunForm({ deployment, url }: { deployment: Deployment; url: URL }) {
  const initialTexts = Object.fromEntries([...url.searchParams].filter(([key]) => key.startsWith("p.")).map(([key, text]) => [key.slice(2), text]));
  return <SharedRunForm deployment={deployment} initialTexts={initialTexts} onFieldChange={(name, text, isDefault) => replaceQuery({ [`p.${name}`]: isDefault ? null : text })} />;
}

export function DeploymentsPage({ url }: { url: URL }) {
  const reload = useResourceReload(["deployments", "work-pools"]);
  const operate = useCan()("deployments:operate");
  const [acted, setActed] = useState(0);
  const [problems, setProblems] = useState<Record<string, string>>({});
  const open = url.searchParams.get("run");
  const { data, error } = useData<{ items: Deployment[] }>("/deployments", `${reload}:${acted}`);
  const items = data?.items ?? [];
  const list = useRef<HTMLDivElement>(null);
  const toggleForm = (name: string) => navigate(open === name ? "/deployments" : `/deployments?run=${encodeURIComponent(name)}`);
  const [selected] = useListKeys({ count: items.length, resetKey: data === null, onOpen: (i) => items[i] && toggleForm(items[i].name), reveal: () => revealSelected(list.current) });
  const toggle = async (d: Deployment) => {
    try {
      await post(`/deployments/${encodeURIComponent(d.name)}/${d.paused ? "resume" : "pause"}`);
      setProblems(({ [d.name]: _, ...rest }) => rest);
      setActed((n) => n + 1);
    } catch (e) {
      setProblems((p) => ({ ...p, [d.name]: `${d.paused ? "Resume" : "Pause"} failed: ${(e as Error).message}` }));
    }
  };
  return (
    <section>
      <div className="toolbar">
        <h1>Deployments</h1>
        <span className="muted">j / k to select, Enter to open the Run form</span>
      </div>
      {error && <p className="error">{error}</p>}
      {data && items.length === 0 && (
        <div className="empty">
          <p>No deployments yet.</p>
          <p>
            Create one with <code>flow.serve()</code>, with <code>baton deploy</code> and a <code>baton.yaml</code>, or with <code>POST /api/deployments</code>.
          </p>
        </div>
      )}
      <div ref={list}>
        {items.map((d, i) => (
          <div key={d.id} className={`card${i === selected ? " selected" : ""}`} data-deployment={d.name} data-selected={i === selected}>
            <div className="toolbar">
              <h2>
                <Link to={`/deployments/${encodeURIComponent(d.name)}`}>{d.name}</Link>
              </h2>
              <span className="muted">
                {d.flowName} · {d.workPool ?? "no pool"}/{d.workQueue}
              </span>
              <span className={`state ${d.paused ? "paused" : "completed"}`}>{d.paused ? "Paused" : "Active"}</span>
              <Link to={`/?deployment=${d.id}`}>runs</Link>
              {operate && (
                <div className="actions">
                  <button onClick={() => void toggle(d)}>{d.paused ? "Resume" : "Pause"}</button>
                  <button onClick={() => toggleForm(d.name)}>Run…</button>
                </div>
              )}
            </div>
            {problems[d.name] && (
              <p className="error" data-testid="deployment-error">
                {problems[d.name]}
              </p>
            )}
            <p className="muted">
              {d.scheduleText.length ? d.scheduleText.join("; ") : "no schedule"}
              {d.nextRuns.length > 0 && ` · next: ${d.nextRuns.map((t) => time(t)).join(", ")}`}
            </p>
            {operate && open === d.name && <RunForm deployment={d} url={url} />}
          </div>
        ))}
      </div>
    </section>
  );
}
