/**
 * The form of a flow run paused for input (`pauseFlowRun`): drawn from the JSON Schema the run
 * stored, checked in the browser as the Run form is, and sent to `POST /flow-runs/{id}/resume`
 * with the pause's key and state timestamp (a form left open on an earlier pause cannot answer a
 * later one). The server checks the input again and its refusal, naming the field, is shown.
 * The pause's description is markdown (sanitised, as artifacts are): a model promotion's shows
 * both versions' metrics as a table.
 */
import { useMemo, useState } from "react";
import { post, useData } from "./api.ts";
import { time } from "./format.ts";
import { markdownHtml } from "./markdown.ts";
import { formParameters, type JsonSchema } from "./schema-form.ts";
import { SchemaFields } from "./SchemaFields.tsx";
import { useSubmit } from "./submit.ts";

interface InputRequest {
  key: string;
  schema: JsonSchema | null;
  description: string | null;
  timeoutAt: number | null;
  default?: unknown;
  createdAt: number;
}

export function ResumeForm({ runId, pausedAt, onResumed }: { runId: string; pausedAt: number; onResumed: () => void }) {
  const { data: request, error: loadError } = useData<InputRequest>(`/flow-runs/${encodeURIComponent(runId)}/input-request`, pausedAt);
  const [texts, setTexts] = useState<Record<string, string>>({});
  const description = useMemo(() => (request?.description ? markdownHtml(request.description) : null), [request?.description]);
  const { onSubmit, busy, error } = useSubmit(async () => {
    if (!request) return;
    let input: unknown;
    if (!request.schema?.properties) {
      try {
        input = JSON.parse(texts[""]?.trim() || "{}") as unknown;
      } catch {
        throw new Error("input must be JSON");
      }
    } else {
      input = formParameters(request.schema, texts, {}, "input");
      if (typeof input === "string") throw new Error(input);
    }
    await post(`/flow-runs/${encodeURIComponent(runId)}/resume`, { input, key: request.key, pausedAt });
    onResumed();
  });
  if (loadError) return <p className="error">{loadError}</p>;
  if (!request) return null;
  const schema: JsonSchema = request.schema ?? { type: "object", properties: {} };
  const free = !request.schema?.properties;
  return (
    <form
      className="run-form card"
      data-testid="resume-form"
      noValidate
      onSubmit={onSubmit}
    >
      <h2>Waiting for input</h2>
      {description && <div className="markdown" data-testid="pause-description" dangerouslySetInnerHTML={{ __html: description }} />}
      <p className="muted">
        pause {request.key} · since {time(request.createdAt)}
        {request.timeoutAt !== null && ` · ${request.default === undefined ? "fails" : "takes its default"} at ${time(request.timeoutAt)}`}
      </p>
      {free ? (
        <label>
          <span>input (JSON)</span>
          <textarea name="input" rows={3} value={texts[""] ?? ""} onChange={(e) => setTexts({ "": e.target.value })} placeholder="{}" spellCheck={false} />
        </label>
      ) : (
        <SchemaFields schema={schema} texts={texts} fallbacks={{}} onChange={(name, _raw, text) => setTexts((t) => ({ ...t, [name]: text }))} />
      )}
      {error && (
        <p className="error" data-testid="form-error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Resuming…" : "Resume"}
      </button>
    </form>
  );
}
