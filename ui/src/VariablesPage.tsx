/**
 * Variables: named JSON values with tags, listed live (the server announces changes made
 * through its API; a slow poll catches runs writing to the database). A form creates or
 * replaces one: the value is checked as JSON while it is typed, and a refusal of the server is
 * shown beside the field it names.
 */
import { useState } from "react";
import { del, put, useData } from "./api.ts";
import { ConfirmDelete } from "./ConfirmDelete.tsx";
import { FieldError } from "./FieldError.tsx";
import { time } from "./format.ts";
import { useResourceReload } from "./live.ts";
import { useSubmit } from "./submit.ts";
import { fieldOfError, parseJson, tagList, valuePreview, type Variable } from "./values.ts";
import { useCan } from "./can.ts";

type FieldErrors = Partial<Record<"name" | "tags" | "value", string>>;

/** Creates a variable, or replaces `existing` (its name then fixed: a rename is a new variable). */
function VariableForm({ existing, onSaved }: { existing: Variable | null; onSaved(): void }) {
  const [name, setName] = useState(existing?.name ?? "");
  const [text, setText] = useState(existing ? JSON.stringify(existing.value, null, 2) : "");
  const [tags, setTags] = useState(existing?.tags.join(", ") ?? "");
  const parsed = parseJson(text);
  // Said while typing, but only once there is something to judge.
  const jsonError = text.trim() && "error" in parsed ? parsed.error : undefined;
  const { onSubmit, busy, error } = useSubmit(async () => {
    if ("error" in parsed) throw new Error(parsed.error);
    await put<Variable>(`/variables/${encodeURIComponent(name)}`, { value: parsed.value, tags: tagList(tags) });
    onSaved();
  });
  // A refusal is shown beside the field it names.
  const errors: FieldErrors = error ? { [fieldOfError(error)]: error } : {};
  return (
    <form className="card run-form" data-testid="variable-form" onSubmit={onSubmit}>
      <label>
        <span>Name</span>
        <input aria-label="variable name" value={name} readOnly={existing !== null} onChange={(e) => setName(e.target.value)} required />
        <FieldError text={errors.name} testId="name-error" />
      </label>
      <label>
        <span>
          Value <span className="muted">(JSON: "text", 3, true, [..], {"{..}"})</span>
        </span>
        <textarea aria-label="variable value" rows={6} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
        <FieldError text={jsonError ?? errors.value} testId="value-error" />
      </label>
      <label>
        <span>
          Tags <span className="muted">(comma-separated)</span>
        </span>
        <input aria-label="variable tags" value={tags} onChange={(e) => setTags(e.target.value)} />
        <FieldError text={errors.tags} testId="tags-error" />
      </label>
      <button type="submit" disabled={busy || jsonError !== undefined}>
        {busy ? "Saving…" : existing ? "Save variable" : "Create variable"}
      </button>
    </form>
  );
}

/** A value as one line, cut when long; the whole of it, indented, one click away. */
function ValueCell({ value }: { value: unknown }) {
  const preview = valuePreview(value);
  if (!preview.cut) return <code>{preview.text}</code>;
  return (
    <details onClick={(e) => e.stopPropagation()}>
      <summary>
        <code>{preview.text}</code>
      </summary>
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

export function VariablesPage() {
  const reload = useResourceReload(["variables"]);
  const [saves, setSaves] = useState(0);
  // null: no form; "new": a blank one; a name: that variable's.
  const [editing, setEditing] = useState<string | null>(null);
  const can = useCan();
  const { data, error } = useData<{ items: Variable[] }>("/variables", `${reload}:${saves}`);
  const items = data?.items ?? [];
  const current = editing && editing !== "new" ? (items.find((v) => v.name === editing) ?? null) : null;
  const saved = () => {
    setEditing(null);
    setSaves((n) => n + 1);
  };
  return (
    <section>
      <div className="toolbar">
        <h1>Variables</h1>
        <span className="muted">
          named JSON values: <code>getVariable()</code> in code, <code>{"{{ variables.name }}"}</code> in deployments
        </span>
        {can("variables:write") && (
          <div className="actions">
            <button onClick={() => setEditing(editing ? null : "new")}>{editing ? "Close the form" : "New variable"}</button>
          </div>
        )}
      </div>
      {editing && <VariableForm key={editing} existing={current} onSaved={saved} />}
      {error && <p className="error">{error}</p>}
      {data && items.length === 0 && (
        <div className="empty">
          <p>No variables yet.</p>
          <p>
            Create one with the form, <code>baton variable set NAME VALUE</code> or <code>PUT /api/variables/NAME</code>.
          </p>
        </div>
      )}
      {items.length > 0 && (
        <table className="runs" data-testid="variables">
          <thead>
            <tr>
              <th>name</th>
              <th>value</th>
              <th>tags</th>
              <th>updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((v) => (
              <tr key={v.name} data-variable={v.name}>
                <td>{v.name}</td>
                <td data-testid="variable-value">
                  <ValueCell value={v.value} />
                </td>
                <td className="muted">{v.tags.join(", ")}</td>
                <td>{time(v.updatedAt)}</td>
                <td>
                  {can("variables:write") && <button onClick={() => setEditing(v.name)}>Edit</button>}{" "}
                  {can("variables:delete") && <ConfirmDelete
                    what={`variable ${v.name}`}
                    onDelete={async () => {
                      await del(`/variables/${encodeURIComponent(v.name)}`);
                      if (editing === v.name) setEditing(null);
                      setSaves((n) => n + 1);
                    }}
                  />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
