/**
 * The Run form of a deployment: its parameters drawn from the deployment's JSON Schema, and the
 * run's own options — a name, tags (after the deployment's), a start time (default: now), a queue
 * of its work pool, job variables (env, cwd; over the pool's and the deployment's). Every field
 * is checked in the browser and its problem shown at the field; what the server refuses anyway
 * (its message names the field: `body.parameters.depth …`, `body.workQueue: …`) is shown at that
 * field too, or above the button. Sent to `POST /deployments/{name}/runs`; on success the new
 * run's page opens (or `onCreated` is called).
 */
import { useState } from "react";
import { post, useData, type FlowRun } from "./api.ts";
import { navigate } from "./router.ts";
import { fieldOfMessage, fieldProblems, formParameters, toText, type JsonSchema } from "./schema-form.ts";
import { SchemaFields } from "./SchemaFields.tsx";
import { useSubmit } from "./submit.ts";
import { OPTION_FIELDS, runOptions, type OptionField, type RunOptionTexts as Options } from "./run-options.ts";

export interface RunFormDeployment {
  name: string;
  workPool: string | null;
  workQueue: string;
  tags: string[];
  parameters: Record<string, unknown>;
  parameterSchema: JsonSchema | null;
}

export function RunForm({
  deployment,
  initialTexts = {},
  initialTags = [],
  onFieldChange,
  onCreated = (run) => navigate(`/runs/${run.id}`),
  submitLabel = "Run",
}: {
  deployment: RunFormDeployment;
  /** Parameter texts to start from (a shared link's, another run's), over the deployment's defaults. */
  initialTexts?: Record<string, string>;
  initialTags?: string[];
  /** Called as a parameter field changes, with whether it is back at its default (a page keeps the rest in its URL). */
  onFieldChange?(name: string, text: string, isDefault: boolean): void;
  onCreated?(run: FlowRun): void;
  submitLabel?: string;
}) {
  const schema: JsonSchema = deployment.parameterSchema ?? { type: "object", properties: {} };
  const fields = Object.entries(schema.properties ?? {});
  const names = fields.map(([n]) => n);
  const defaultText = (name: string, field: JsonSchema) => toText(deployment.parameters[name] ?? field.default, field);
  const [texts, setTexts] = useState<Record<string, string>>(() => Object.fromEntries(fields.map(([name, f]) => [name, initialTexts[name] ?? defaultText(name, f)])));
  const [options, setOptions] = useState<Options>({ name: "", tags: initialTags.filter((t) => !deployment.tags.includes(t)).join(", "), start: "", workQueue: "", jobVariables: "" });
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [showOptions, setShowOptions] = useState(false);
  const pools = useData<{ items: { name: string; queues: { name: string }[] }[] }>(deployment.workPool ? "/work-pools" : null);
  const queues = pools.data?.items.find((p) => p.name === deployment.workPool)?.queues.map((q) => q.name) ?? [];

  const { onSubmit, busy, error, setError } = useSubmit(async () => {
    const found: Record<string, string> = { ...fieldProblems(schema, texts, deployment.parameters) };
    const { body, problems: optionProblems } = runOptions(options);
    for (const [k, v] of Object.entries(optionProblems)) found[`option:${k}`] = v;
    setProblems(found);
    if (Object.keys(optionProblems).length) setShowOptions(true);
    if (Object.keys(found).length) throw new Error(`${Object.keys(found).length} field(s) to fix`);
    const parameters = formParameters(schema, texts, deployment.parameters);
    if (typeof parameters === "string") throw new Error(parameters);
    try {
      const run = await post<FlowRun>(`/deployments/${encodeURIComponent(deployment.name)}/runs`, { ...body, parameters });
      onCreated(run);
    } catch (e) {
      // The server's refusal names its field: show it there when the form has that field.
      const message = (e as Error).message;
      const parameter = fieldOfMessage(message, names);
      const option = OPTION_FIELDS.find((f) => new RegExp(`body\\.${f === "start" ? "scheduledAt" : f}\\b`).test(message));
      if (parameter || option) {
        setProblems({ [parameter ?? `option:${option}`]: message });
        if (option) setShowOptions(true);
        throw new Error("the server refused a field: see above");
      }
      throw e;
    }
  });
  const change = (name: string, field: JsonSchema, text: string) => {
    setTexts((t) => ({ ...t, [name]: text }));
    setProblems(({ [name]: _, ...rest }) => rest);
    onFieldChange?.(name, text, text === defaultText(name, field));
  };
  // "run:" keeps a run option's input apart from a parameter of the same name (a flow may take `tags`).
  const option = (field: OptionField) => ({
    name: `run:${field}`,
    value: options[field],
    "aria-invalid": problems[`option:${field}`] ? true : undefined,
    onChange: (e: { target: { value: string } }) => {
      setOptions((o) => ({ ...o, [field]: e.target.value }));
      setProblems(({ [`option:${field}`]: _, ...rest }) => rest);
      setError(null);
    },
  });
  const problemAt = (field: OptionField) =>
    problems[`option:${field}`] && (
      <span className="error field-error" data-testid={`problem-${field}`}>
        {problems[`option:${field}`]}
      </span>
    );
  const parameterProblems = Object.fromEntries(Object.entries(problems).filter(([k]) => !k.startsWith("option:")));

  return (
    <form className="run-form" data-testid="run-form" noValidate onSubmit={onSubmit}>
      {fields.length === 0 && <p className="muted">This flow takes no parameters.</p>}
      <SchemaFields schema={schema} texts={texts} fallbacks={deployment.parameters} onChange={change} problems={parameterProblems} />
      {fields.length > 0 && <p className="muted">An empty field takes the deployment's default.</p>}
      <details data-testid="run-options" open={showOptions} onToggle={(e) => setShowOptions(e.currentTarget.open)}>
        <summary>Run options (name, tags, start time, queue, job variables)</summary>
        <label data-field="name">
          <span>Run name</span>
          <input {...option("name")} placeholder="default: a random name" />
          {problemAt("name")}
        </label>
        <label data-field="tags">
          <span>Tags</span>
          <input {...option("tags")} placeholder={`comma-separated, after the deployment's${deployment.tags.length ? ` (${deployment.tags.join(", ")})` : ""}`} />
          {problemAt("tags")}
        </label>
        <label data-field="start">
          <span>Start</span>
          <input type="datetime-local" {...option("start")} />
          <span className="muted">empty: now (in your time zone, {Intl.DateTimeFormat().resolvedOptions().timeZone})</span>
          {problemAt("start")}
        </label>
        {deployment.workPool && (
          <label data-field="workQueue">
            <span>Work queue</span>
            <select {...option("workQueue")}>
              <option value="">default ({deployment.workQueue})</option>
              {queues
                .filter((q) => q !== deployment.workQueue)
                .map((q) => (
                  <option key={q} value={q}>
                    {q}
                  </option>
                ))}
            </select>
            {problemAt("workQueue")}
          </label>
        )}
        <label data-field="jobVariables">
          <span>Job variables</span>
          <textarea rows={3} spellCheck={false} {...option("jobVariables")} placeholder='JSON, e.g. { "env": { "LOG_LEVEL": "debug" } }' />
          {problemAt("jobVariables")}
        </label>
      </details>
      {error && (
        <p className="error" data-testid="form-error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Creating…" : submitLabel}
      </button>
    </form>
  );
}
