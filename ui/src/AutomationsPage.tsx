/**
 * Automations: each with its state, trigger, actions and last firing's outcome, paused and
 * resumed in place; a form that creates one from a YAML or JSON spec (the server checks it and
 * its error, naming the field, is shown beside the editor); and the notification channels
 * their notify actions send through (NotificationChannels.tsx).
 */
import { useState } from "react";
import { useSubmit } from "./submit.ts";
import YAML from "yaml";
import { post, useData, useInterval } from "./api.ts";
import { firingOutcome, outcomeClass, triggerText, type Automation, type NotificationChannel } from "./automations.ts";
import { time } from "./format.ts";
import { NotificationChannels } from "./NotificationChannels.tsx";
import { Link, navigate } from "./router.ts";
import { useCan } from "./can.ts";

const EXAMPLE = `name: etl-failing
trigger:
  event: baton.flow-run.Failed
  threshold: 3
  within: 10m
  for_each: related.flow
actions:
  - type: notify
    channel: ml-team
`;

/** The spec editor: YAML or JSON (JSON is YAML), parsed here, checked by the server. */
function CreateForm({ onCreated }: { onCreated(name: string): void }) {
  const [text, setText] = useState(EXAMPLE);
  const { onSubmit, busy, error } = useSubmit(async () => {
    let spec: unknown;
    try {
      spec = YAML.parse(text) as unknown;
    } catch (e) {
      throw new Error(`The spec is not YAML or JSON: ${(e as Error).message}`);
    }
    const created = await post<Automation>("/automations", spec);
    onCreated(created.name);
  });
  return (
    <form className="card run-form" data-testid="automation-form" onSubmit={onSubmit}>
      <label>
        <span>
          Spec <span className="muted">(YAML or JSON: name, trigger, actions — see the README's Automations section)</span>
        </span>
        <textarea aria-label="automation spec" rows={12} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
      </label>
      {error && (
        <p className="error" data-testid="spec-error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Creating…" : "Create automation"}
      </button>
    </form>
  );
}

export function AutomationsPage({ url }: { url: URL }) {
  const [tick, setTick] = useState(0);
  useInterval(() => setTick((n) => n + 1), 2000);
  const [problem, setProblem] = useState<string | null>(null);
  const write = useCan()("automations:write");
  const creating = write && url.searchParams.get("new") !== null;
  const { data, error } = useData<{ items: Automation[] }>("/automations", tick);
  const channels = useData<{ items: NotificationChannel[] }>("/notification-channels", tick).data?.items ?? [];
  const items = data?.items ?? [];
  const toggle = async (a: Automation) => {
    try {
      await post(`/automations/${encodeURIComponent(a.name)}/${a.paused ? "resume" : "pause"}`);
      setProblem(null);
      setTick((n) => n + 1);
    } catch (e) {
      setProblem(`${a.paused ? "Resume" : "Pause"} of ${a.name} failed: ${(e as Error).message}`);
    }
  };
  return (
    <section>
      <div className="toolbar">
        <h1>Automations</h1>
        <span className="muted">a trigger on the event log, and the actions it runs</span>
        {write && (
          <div className="actions">
            <button onClick={() => navigate(creating ? "/automations" : "/automations?new")}>{creating ? "Close the form" : "New automation"}</button>
          </div>
        )}
      </div>
      {creating && (
        <CreateForm
          onCreated={() => {
            navigate("/automations");
            setTick((n) => n + 1);
          }}
        />
      )}
      {error && <p className="error">{error}</p>}
      {problem && (
        <p className="error" data-testid="automation-error">
          {problem}
        </p>
      )}
      {data && items.length === 0 && (
        <div className="empty">
          <p>No automations yet.</p>
          <p>
            Create one with the <Link to="/automations?new">form</Link>, <code>baton automation create -f spec.yaml</code> or <code>POST /api/automations</code>.
          </p>
        </div>
      )}
      {items.length > 0 && (
        <table className="runs" data-testid="automations">
          <thead>
            <tr>
              <th>name</th>
              <th>state</th>
              <th>trigger</th>
              <th>actions</th>
              <th>last firing</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((a) => {
              const last = a.lastFiring ?? null;
              return (
                <tr key={a.id} data-automation={a.name} onClick={() => navigate(`/automations/${encodeURIComponent(a.name)}`)}>
                  <td>
                    <Link to={`/automations/${encodeURIComponent(a.name)}`}>{a.name}</Link>
                  </td>
                  <td>
                    <span className={`state ${a.paused ? "paused" : "completed"}`} data-testid="automation-state">
                      {a.paused ? "Paused" : "Active"}
                    </span>
                  </td>
                  <td>
                    <code>{triggerText(a.spec.trigger)}</code>
                  </td>
                  <td>{a.spec.actions.map((x) => x.type).join(", ")}</td>
                  <td data-testid="last-firing">
                    {last ? (
                      <>
                        {time(last.firedAt)} <span className={`state ${outcomeClass(firingOutcome(last))}`}>{firingOutcome(last)}</span>
                      </>
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                  <td>
                    {write && (
                      <button
                        onClick={(e) => {
                          e.stopPropagation();
                          void toggle(a);
                        }}
                      >
                        {a.paused ? "Resume" : "Pause"}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <NotificationChannels channels={channels} onChange={() => setTick((n) => n + 1)} />
    </section>
  );
}
