/**
 * Adds a schedule to a deployment or changes one: a cron expression, a fixed interval (from an
 * optional anchor) or an RRULE, each with its time zone (the user's by default). While it is
 * typed, the server checks the spec and answers its next five run times
 * (`POST /api/schedules/preview`), shown in the user's time zone; a refusal — the browser's or
 * the server's — shows beside the input it is about.
 */
import { useEffect, useState } from "react";
import { post, put } from "./api.ts";
import { FieldError, fieldOfMessage } from "./FieldError.tsx";
import { useSubmit } from "./submit.ts";
import type { ScheduleRecord, SchedulePreview } from "./types.ts";

type Kind = "cron" | "interval" | "rrule";
type Field = "cron" | "timezone" | "every" | "anchor" | "rrule" | "spec";

const UNITS = [
  ["s", 1000, "seconds"],
  ["min", 60_000, "minutes"],
  ["h", 3600_000, "hours"],
  ["d", 86_400_000, "days"],
] as const;
type Unit = (typeof UNITS)[number][0];

/** The spec's fields as the server names them (`body.spec.cron …`), most specific first, and the input each is typed in. */
const SPEC_FIELDS = ["spec.cron", "spec.timezone", "spec.intervalMs", "spec.anchor", "spec.rrule", "spec.kind", "spec"] as const;
const INPUT_OF: Record<(typeof SPEC_FIELDS)[number], Field> = {
  "spec.cron": "cron",
  "spec.timezone": "timezone",
  "spec.intervalMs": "every",
  "spec.anchor": "anchor",
  "spec.rrule": "rrule",
  "spec.kind": "spec",
  spec: "spec",
};

export const USER_TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
/** The time zones the browser knows, offered as the time zone input's suggestions. */
const TIME_ZONES = Intl.supportedValuesOf("timeZone");

/** A time in the user's time zone, with the weekday (a schedule's days matter). */
export const slotTime = (ms: number) => new Date(ms).toLocaleString([], { weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** Epoch ms as a datetime-local input's text (the user's time), and back. */
const toLocalInput = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
const fromLocalInput = (text: string) => new Date(text).getTime();

interface Draft {
  kind: Kind;
  cron: string;
  timezone: string;
  every: string;
  unit: Unit;
  anchor: string;
  rrule: string;
  active: boolean;
}

/** The form's fields for an existing schedule, or for a new one. */
function draftOf(existing: ScheduleRecord | null): Draft {
  const blank: Draft = { kind: "cron", cron: "0 9 * * *", timezone: USER_TIME_ZONE, every: "1", unit: "h", anchor: "", rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", active: true };
  if (!existing) return blank;
  const spec = existing.spec as Record<string, unknown>;
  const draft = { ...blank, kind: spec.kind as Kind, active: existing.active };
  if (spec.kind === "cron") return { ...draft, cron: String(spec.cron), timezone: String(spec.timezone ?? "UTC") };
  if (spec.kind === "rrule") return { ...draft, rrule: String(spec.rrule), timezone: String(spec.timezone ?? "UTC") };
  const ms = Number(spec.intervalMs);
  const [unit, size] = [...UNITS].reverse().find(([, size]) => ms % size === 0) ?? UNITS[0];
  return { ...draft, every: String(ms / size), unit, anchor: spec.anchor ? toLocalInput(Number(spec.anchor)) : "" };
}

/** The spec the draft describes, or the browser's objections by field. */
function specOf(d: Draft): { spec: Record<string, unknown> } | { errors: Partial<Record<Field, string>> } {
  if (d.kind === "cron") {
    if (!d.cron.trim()) return { errors: { cron: "a cron expression is required, such as 0 9 * * 1-5" } };
    return { spec: { kind: "cron", cron: d.cron.trim(), timezone: d.timezone.trim() || "UTC" } };
  }
  if (d.kind === "rrule") {
    if (!d.rrule.trim()) return { errors: { rrule: "an RRULE is required, such as FREQ=DAILY;BYHOUR=9" } };
    return { spec: { kind: "rrule", rrule: d.rrule.trim(), timezone: d.timezone.trim() || "UTC" } };
  }
  const every = Number(d.every);
  const size = UNITS.find(([u]) => u === d.unit)![1];
  if (!d.every.trim() || !Number.isFinite(every) || every <= 0) return { errors: { every: "a positive number is required" } };
  const intervalMs = Math.round(every * size);
  if (intervalMs < 1000) return { errors: { every: "the interval must be at least 1 second" } };
  if (d.anchor && !Number.isFinite(fromLocalInput(d.anchor))) return { errors: { anchor: "not a date and time" } };
  return { spec: { kind: "interval", intervalMs, ...(d.anchor ? { anchor: fromLocalInput(d.anchor) } : {}) } };
}

/** The server's message at the input it names. */
function serverErrors(message: string | null): Partial<Record<Field, string>> {
  if (!message) return {};
  const field = fieldOfMessage(message, SPEC_FIELDS);
  return { [field ? INPUT_OF[field] : "spec"]: message };
}

/** The spec's next run times as the server computes them, asked again 300 ms after the last change. */
function usePreview(spec: Record<string, unknown> | null): { preview: SchedulePreview | null; error: string | null } {
  const key = spec ? JSON.stringify(spec) : null;
  const [state, setState] = useState<{ key: string | null; preview: SchedulePreview | null; error: string | null }>({ key: null, preview: null, error: null });
  useEffect(() => {
    if (!key) return;
    let live = true;
    const timer = setTimeout(() => {
      post<SchedulePreview>("/schedules/preview", { spec: JSON.parse(key) as unknown, count: 5 }).then(
        (preview) => live && setState({ key, preview, error: null }),
        (e: Error) => live && setState({ key, preview: null, error: e.message }),
      );
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key]);
  return state.key === key ? state : { preview: null, error: null };
}

export function ScheduleForm({ deployment, existing, onSaved, onCancel }: { deployment: string; existing: ScheduleRecord | null; onSaved(): void; onCancel(): void }) {
  const [draft, setDraft] = useState(() => draftOf(existing));
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const built = specOf(draft);
  const spec = "spec" in built ? built.spec : null;
  const { preview, error: previewError } = usePreview(spec);
  const { onSubmit, busy, error } = useSubmit(async () => {
    if (!spec) throw new Error("fix the fields marked first");
    const body = { spec, active: draft.active };
    const base = `/deployments/${encodeURIComponent(deployment)}/schedules`;
    if (existing) await put(`${base}/${encodeURIComponent(existing.id)}`, body);
    else await post(base, body);
    onSaved();
  });
  // The browser's objections first; then what the server said on saving, or of the preview.
  const errors = "errors" in built ? built.errors : error ? serverErrors(error) : serverErrors(previewError);
  const invalid = (field: Field) => (errors[field] ? { "aria-invalid": true } : {});
  return (
    <form className="card run-form" data-testid="schedule-form" onSubmit={onSubmit} noValidate>
      <h2>{existing ? "Change the schedule" : "New schedule"}</h2>
      <label>
        <span>Kind</span>
        <select aria-label="schedule kind" value={draft.kind} onChange={(e) => set("kind", e.target.value as Kind)}>
          <option value="cron">cron expression</option>
          <option value="interval">every fixed interval</option>
          <option value="rrule">RRULE (RFC 5545)</option>
        </select>
      </label>
      {draft.kind === "cron" && (
        <label>
          <span>
            Cron <span className="muted">(minute hour day-of-month month day-of-week; seconds first if six fields)</span>
          </span>
          <input aria-label="cron" value={draft.cron} onChange={(e) => set("cron", e.target.value)} spellCheck={false} {...invalid("cron")} />
          <FieldError text={errors.cron} testId="cron-error" />
        </label>
      )}
      {draft.kind === "rrule" && (
        <label>
          <span>RRULE</span>
          <input aria-label="rrule" value={draft.rrule} onChange={(e) => set("rrule", e.target.value)} spellCheck={false} {...invalid("rrule")} />
          <FieldError text={errors.rrule} testId="rrule-error" />
        </label>
      )}
      {draft.kind === "interval" ? (
        <>
          <label>
            <span>Every</span>
            <span className="filters">
              <input aria-label="every" type="number" min="0" step="any" value={draft.every} onChange={(e) => set("every", e.target.value)} {...invalid("every")} />
              <select aria-label="unit" value={draft.unit} onChange={(e) => set("unit", e.target.value as Unit)}>
                {UNITS.map(([u, , text]) => (
                  <option key={u} value={u}>
                    {text}
                  </option>
                ))}
              </select>
            </span>
            <FieldError text={errors.every} testId="every-error" />
          </label>
          <label>
            <span>
              From <span className="muted">(optional: runs fall on this time plus whole intervals; your time, {USER_TIME_ZONE})</span>
            </span>
            <input aria-label="anchor" type="datetime-local" step="1" value={draft.anchor} onChange={(e) => set("anchor", e.target.value)} {...invalid("anchor")} />
            <FieldError text={errors.anchor} testId="anchor-error" />
          </label>
        </>
      ) : (
        <label>
          <span>
            Time zone <span className="muted">(IANA name; the wall times above are read in it)</span>
          </span>
          <input aria-label="time zone" list="time-zones" value={draft.timezone} onChange={(e) => set("timezone", e.target.value)} {...invalid("timezone")} />
          <datalist id="time-zones">
            {TIME_ZONES.map((tz) => (
              <option key={tz} value={tz} />
            ))}
          </datalist>
          <FieldError text={errors.timezone} testId="timezone-error" />
        </label>
      )}
      <label className="check">
        <span>
          <input type="checkbox" aria-label="active" checked={draft.active} onChange={(e) => set("active", e.target.checked)} /> Active (makes runs)
        </span>
      </label>
      <FieldError text={errors.spec} testId="spec-error" />
      <div data-testid="schedule-preview">
        {preview && (
          <>
            <span className="muted">
              {preview.description} — next {preview.next.length === 0 ? "runs: none within a year" : `${preview.next.length} runs in your time zone (${USER_TIME_ZONE})`}:
            </span>
            <ol className="preview">
              {preview.next.map((t) => (
                <li key={t}>{slotTime(t)}</li>
              ))}
            </ol>
          </>
        )}
      </div>
      <span className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={busy || !spec}>
          {busy ? "Saving…" : existing ? "Save schedule" : "Add schedule"}
        </button>
      </span>
    </form>
  );
}
