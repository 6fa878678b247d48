/** Deployments: schedules, next runs, pause/resume, and a Run form generated from the parameter schema. */
import { useState } from "react";
import { useData } from "./api.ts";
import { useLiveEvents } from "./live.ts";
import { time } from "./format.ts";
import { navigate } from "./router.ts";

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  enum?: unknown[];
  description?: string;
}

interface Deployment {
  id: string;
  name: string;
  flowName: string;
  workPool: string | null;
  workQueue: string;
  paused: boolean;
  parameters: Record<string, unknown>;
  parameterSchema: JsonSchema | null;
  scheduleText: string[];
  nextRuns: number[];
}

const typeOf = (schema: JsonSchema): string => (Array.isArray(schema.type) ? schema.type[0]! : (schema.type ?? "string"));

/** Browser-side check of a form's values against the schema: the first problem, naming the field. */
export function validate(schema: JsonSchema, values: Record<string, unknown>): string | null {
  for (const name of schema.required ?? []) if (values[name] === undefined || values[name] === "") return `parameters.${name} is required`;
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const value = values[name];
    if (value === undefined) continue;
    const type = typeOf(field);
    if ((type === "integer" || type === "number") && typeof value !== "number") return `parameters.${name} must be a number`;
    if (type === "integer" && !Number.isInteger(value)) return `parameters.${name} must be an integer`;
    if (typeof value === "number" && field.minimum !== undefined && value < field.minimum) return `parameters.${name} must be >= ${field.minimum}`;
    if (typeof value === "number" && field.exclusiveMinimum !== undefined && value <= field.exclusiveMinimum) return `parameters.${name} must be > ${field.exclusiveMinimum}`;
    if (typeof value === "number" && field.maximum !== undefined && value > field.maximum) return `parameters.${name} must be <= ${field.maximum}`;
    if (field.enum && !field.enum.includes(value)) return `parameters.${name} must be one of ${field.enum.join(", ")}`;
  }
  return null;
}

function RunForm({ deployment, onDone }: { deployment: Deployment; onDone: () => void }) {
  const schema = deployment.parameterSchema ?? { type: "object", properties: {} };
  const fields = Object.entries(schema.properties ?? {});
  const [raw, setRaw] = useState<Record<string, string>>(() =>
    Object.fromEntries(fields.map(([name, f]) => {
      const initial = deployment.parameters[name] ?? f.default;
      return [name, initial === undefined ? "" : typeof initial === "object" ? JSON.stringify(initial) : String(initial)];
    })),
  );
  const [error, setError] = useState<string | null>(null);
  const parse = (): Record<string, unknown> | string => {
    const out: Record<string, unknown> = {};
    for (const [name, field] of fields) {
      const text = raw[name] ?? "";
      if (text === "") continue;
      const type = typeOf(field);
      if (type === "integer" || type === "number") out[name] = Number(text);
      else if (type === "boolean") out[name] = text === "true";
      else if (type === "array" || type === "object") {
        try {
          out[name] = JSON.parse(text);
        } catch {
          return `parameters.${name} must be JSON`;
        }
      } else out[name] = text;
    }
    return out;
  };
  const submit = async () => {
    const values = parse();
    const problem = typeof values === "string" ? values : validate(schema, values);
    if (problem) return setError(problem);
    const response = await fetch(`/api/deployments/${encodeURIComponent(deployment.name)}/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ parameters: values }),
    });
    const body = (await response.json()) as { id?: string; error?: { message: string } };
    if (!response.ok) return setError(body.error?.message ?? `HTTP ${response.status}`);
    onDone();
    navigate(`/runs/${body.id}`);
  };
  return (
    <form
      className="run-form"
      data-testid="run-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {fields.length === 0 && <p className="muted">This flow takes no parameters.</p>}
      {fields.map(([name, field]) => {
        const type = typeOf(field);
        return (
          <label key={name}>
            <span>
              {name}
              {schema.required?.includes(name) ? " *" : ""} <span className="muted">({type})</span>
            </span>
            {type === "boolean" ? (
              <select value={raw[name] ?? ""} onChange={(e) => setRaw({ ...raw, [name]: e.target.value })} name={name}>
                <option value="">–</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input
                name={name}
                type={type === "integer" || type === "number" ? "number" : "text"}
                step={type === "integer" ? 1 : "any"}
                value={raw[name] ?? ""}
                onChange={(e) => setRaw({ ...raw, [name]: e.target.value })}
              />
            )}
          </label>
        );
      })}
      {error && (
        <p className="error" data-testid="form-error">
          {error}
        </p>
      )}
      <button type="submit">Run</button>
    </form>
  );
}

export function DeploymentsPage(_props: { url: URL }) {
  const [reload, setReload] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const { data, error } = useData<{ items: Deployment[] }>("/deployments", reload);
  useLiveEvents(null, () => undefined);
  const toggle = async (d: Deployment) => {
    await fetch(`/api/deployments/${encodeURIComponent(d.name)}/${d.paused ? "resume" : "pause"}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    setReload((n) => n + 1);
  };
  return (
    <section>
      <div className="toolbar">
        <h1>Deployments</h1>
      </div>
      {error && <p className="error">{error}</p>}
      {data && data.items.length === 0 && (
        <div className="empty">
          <p>No deployments yet.</p>
          <p>
            Create one with <code>flow.serve()</code>, with <code>baton deploy</code> and a <code>baton.yaml</code>, or with <code>POST /api/deployments</code>.
          </p>
        </div>
      )}
      {data?.items.map((d) => (
        <div key={d.id} className="card" data-deployment={d.name}>
          <div className="toolbar">
            <h2>{d.name}</h2>
            <span className="muted">
              {d.flowName} · {d.workPool ?? "no pool"}/{d.workQueue}
            </span>
            <span className={`state ${d.paused ? "paused" : "completed"}`}>{d.paused ? "Paused" : "Active"}</span>
            <div className="actions">
              <button onClick={() => void toggle(d)}>{d.paused ? "Resume" : "Pause"}</button>
              <button onClick={() => setOpen(open === d.name ? null : d.name)}>Run…</button>
            </div>
          </div>
          <p className="muted">
            {d.scheduleText.length ? d.scheduleText.join("; ") : "no schedule"}
            {d.nextRuns.length > 0 && ` · next: ${d.nextRuns.map((t) => time(t)).join(", ")}`}
          </p>
          {open === d.name && <RunForm deployment={d} onDone={() => setOpen(null)} />}
        </div>
      ))}
    </section>
  );
}
