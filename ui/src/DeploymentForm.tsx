/**
 * The deployment page's Edit form: a deployment's own fields (description, tags, concurrency
 * limit and collision strategy, retries and their delay), sent as one PATCH. What it runs, where
 * and when (flow, entrypoint, pool, schedules, job variables) come from its definition
 * (baton.yaml, `serve()`) and the schedule forms, so they are not here. Fields are checked as
 * the server will before sending, and the server's refusal shows beside the field it names.
 */
import { useState } from "react";
import { patch } from "./api.ts";
import { FieldError, fieldErrors, wholeNumber } from "./FieldError.tsx";
import { useSubmit } from "./submit.ts";
import type { Deployment } from "./types.ts";

const FIELDS = ["description", "tags", "concurrencyLimit", "collisionStrategy", "retries", "retryDelayMs"] as const;
type Field = (typeof FIELDS)[number];

export function DeploymentForm({ deployment, onSaved, onCancel }: { deployment: Deployment; onSaved(): void; onCancel(): void }) {
  const [description, setDescription] = useState(deployment.description ?? "");
  const [tags, setTags] = useState(deployment.tags.join(", "));
  const [limit, setLimit] = useState(deployment.concurrencyLimit?.toString() ?? "");
  const [collision, setCollision] = useState(deployment.collisionStrategy);
  const [retries, setRetries] = useState(String(deployment.retries));
  const [delay, setDelay] = useState(String(deployment.retryDelayMs / 1000));
  const [tried, setTried] = useState(false);

  const parsedLimit = wholeNumber(limit, 1, null);
  const parsedRetries = wholeNumber(retries, 0, 0);
  const delaySeconds = delay.trim() ? Number(delay) : 0;
  const local: Partial<Record<Field, string>> = {};
  if ("problem" in parsedLimit) local.concurrencyLimit = parsedLimit.problem;
  if ("problem" in parsedRetries || (parsedRetries.value ?? 0) > 100) local.retries = "a whole number from 0 to 100";
  if (!Number.isFinite(delaySeconds) || delaySeconds < 0 || delaySeconds > 86_400) local.retryDelayMs = "seconds, from 0 to 86400";
  const tagList = tags
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);

  const { onSubmit, busy, error } = useSubmit(async () => {
    setTried(true);
    if (Object.keys(local).length) return; // the fields marked say what to fix
    await patch(`/deployments/${encodeURIComponent(deployment.name)}`, {
      description: description.trim() ? description : null,
      tags: tagList,
      concurrencyLimit: "value" in parsedLimit ? parsedLimit.value : null,
      collisionStrategy: collision,
      retries: "value" in parsedRetries ? parsedRetries.value : 0,
      retryDelayMs: Math.round(delaySeconds * 1000),
    });
    onSaved();
  });
  const errors = fieldErrors(tried ? local : {}, error, FIELDS, "description");
  return (
    <form className="card inline-form" data-testid="deployment-form" onSubmit={onSubmit} noValidate>
      <label className="wide">
        <span>Description</span>
        <textarea aria-label="description" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} aria-invalid={Boolean(errors.description)} />
        <FieldError text={errors.description} testId="description-error" />
      </label>
      <label>
        <span>
          Tags <span className="muted">(comma-separated; its runs carry them)</span>
        </span>
        <input aria-label="tags" value={tags} onChange={(e) => setTags(e.target.value)} aria-invalid={Boolean(errors.tags)} />
        <FieldError text={errors.tags} testId="tags-error" />
      </label>
      <label>
        <span>
          Concurrency limit <span className="muted">(runs at once; empty: none)</span>
        </span>
        <input aria-label="concurrency limit" inputMode="numeric" value={limit} onChange={(e) => setLimit(e.target.value)} aria-invalid={Boolean(errors.concurrencyLimit)} />
        <FieldError text={errors.concurrencyLimit} testId="concurrency-limit-error" />
      </label>
      <label>
        <span>When the limit is reached</span>
        <select aria-label="collision strategy" value={collision} onChange={(e) => setCollision(e.target.value as Deployment["collisionStrategy"])}>
          <option value="enqueue">further runs wait for a slot</option>
          <option value="cancel-new">further runs are cancelled</option>
        </select>
      </label>
      <label>
        <span>
          Retries <span className="muted">(of a crashed or failed run)</span>
        </span>
        <input aria-label="retries" inputMode="numeric" value={retries} onChange={(e) => setRetries(e.target.value)} aria-invalid={Boolean(errors.retries)} />
        <FieldError text={errors.retries} testId="retries-error" />
      </label>
      <label>
        <span>Seconds between retries</span>
        <input aria-label="retry delay" inputMode="decimal" value={delay} onChange={(e) => setDelay(e.target.value)} aria-invalid={Boolean(errors.retryDelayMs)} />
        <FieldError text={errors.retryDelayMs} testId="retry-delay-error" />
      </label>
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : "Save"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
