/** One automation: its state (paused and resumed here), its spec as YAML, and its last firings with each action's attempts. */
import { useState } from "react";
import YAML from "yaml";
import { post, useData, useInterval } from "./api.ts";
import { firingOutcome, outcomeClass, triggerText, type Automation, type FiringAction } from "./automations.ts";
import { time } from "./format.ts";
import { Link } from "./router.ts";
import { useCan } from "./can.ts";

function actionDetail(a: FiringAction): string {
  const last = a.outcomes.at(-1);
  if (!last) return "";
  return last.ok ? JSON.stringify(last.result ?? null) : (last.error ?? "");
}

export function AutomationPage({ name }: { name: string }) {
  const [tick, setTick] = useState(0);
  useInterval(() => setTick((n) => n + 1), 2000);
  const [problem, setProblem] = useState<string | null>(null);
  const write = useCan()("automations:write");
  const { data: a, error } = useData<Automation>(`/automations/${encodeURIComponent(name)}`, tick);
  const toggle = async (paused: boolean) => {
    try {
      await post(`/automations/${encodeURIComponent(name)}/${paused ? "resume" : "pause"}`);
      setProblem(null);
      setTick((n) => n + 1);
    } catch (e) {
      setProblem((e as Error).message);
    }
  };
  return (
    <section>
      <div className="toolbar">
        <Link to="/automations">← Automations</Link>
        <h1>{name}</h1>
        {a && (
          <>
            <span className={`state ${a.paused ? "paused" : "completed"}`} data-testid="automation-state">
              {a.paused ? "Paused" : "Active"}
            </span>
            <span className="muted">
              {triggerText(a.spec.trigger)} → {a.spec.actions.map((x) => x.type).join(", ")}
            </span>
            {write && (
              <div className="actions">
                <button onClick={() => void toggle(a.paused)}>{a.paused ? "Resume" : "Pause"}</button>
              </div>
            )}
          </>
        )}
      </div>
      {error && <p className="error">{error}</p>}
      {problem && <p className="error">{problem}</p>}
      {a && (
        <>
          <p className="muted">
            created {time(a.createdAt)}, changed {time(a.updatedAt)}
          </p>
          <pre className="card" data-testid="automation-spec">
            {YAML.stringify(a.spec)}
          </pre>
          <h2>Last firings</h2>
          {(a.firings ?? []).length === 0 && <p className="muted">No firings yet.</p>}
          {(a.firings ?? []).map((f) => (
            <div key={f.id} className="card" data-firing={f.id}>
              <div className="toolbar">
                <strong>{time(f.firedAt)}</strong>
                <span className={`state ${outcomeClass(firingOutcome(f))}`}>{firingOutcome(f)}</span>
                <span className="muted">
                  {f.reason}
                  {f.bucket ? ` [${f.bucket}]` : ""} · {f.events.length} event(s){f.event ? ` · last ${f.event.event} ${f.event.resource.name ?? f.event.resource.id}` : " · no event in the window"}
                </span>
              </div>
              <table className="runs">
                <tbody>
                  {f.actions.map((x) => (
                    <tr key={x.id} data-action={x.index}>
                      <td>
                        {x.index}. {x.type}
                      </td>
                      <td>
                        <span className={`state ${outcomeClass(x.status)}`}>{x.status}</span>
                      </td>
                      <td>{x.attempts} attempt(s)</td>
                      <td>
                        <code>{actionDetail(x)}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        </>
      )}
    </section>
  );
}
