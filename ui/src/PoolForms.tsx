/**
 * The forms of the work pools page: a pool (its name, its concurrency limit), a queue of a pool
 * (name, priority, limit) and a concurrency or rate limit. Each checks its fields as the server
 * will (names as in URLs, limits positive integers) before sending, and shows the server's
 * refusal beside the field it names.
 */
import { useState } from "react";
import { post } from "./api.ts";
import { FieldError, fieldErrors, wholeNumber } from "./FieldError.tsx";
import { useSubmit } from "./submit.ts";
import type { ConcurrencyLimit, WorkPoolWithWorkers, WorkQueue } from "./types.ts";

/** What the server takes as a pool, queue or limit name (src/schemas/fields.ts's resourceName). */
const NAME = /^[A-Za-z0-9_.:@/-]+$/;

function nameProblem(name: string): string | undefined {
  if (!name) return "a name is required";
  if (name.length > 200) return "at most 200 characters";
  if (!NAME.test(name)) return "letters, digits and _ . : @ / - only (it appears in URLs and commands)";
  return undefined;
}

/** "" → null (no limit); else a positive integer, or why not. */
const optionalPositiveInt = (text: string) => wholeNumber(text, 1, null);

const errorsOf = <F extends string>(entries: [F, string | undefined][]) => Object.fromEntries(entries.filter(([, v]) => v)) as Partial<Record<F, string>>;

export function PoolForm({ existing, onSaved }: { existing: WorkPoolWithWorkers | null; onSaved(): void }) {
  const [name, setName] = useState(existing?.name ?? "");
  const [limit, setLimit] = useState(existing?.concurrencyLimit?.toString() ?? "");
  const parsedLimit = optionalPositiveInt(limit);
  const local = errorsOf<"name" | "concurrencyLimit">([
    ["name", existing ? undefined : nameProblem(name)],
    ["concurrencyLimit", "problem" in parsedLimit ? parsedLimit.problem : undefined],
  ]);
  const [tried, setTried] = useState(false);
  const { onSubmit, busy, error } = useSubmit(async () => {
    setTried(true);
    if (Object.keys(local).length || !("value" in parsedLimit)) return; // the fields marked say what to fix
    await post("/work-pools", { name, concurrencyLimit: parsedLimit.value });
    onSaved();
  });
  const errors = fieldErrors(tried ? local : {}, error, ["name", "concurrencyLimit"] as const, "name");
  return (
    <form className="card inline-form" data-testid="pool-form" onSubmit={onSubmit} noValidate>
      <label>
        <span>Pool name</span>
        <input aria-label="pool name" value={name} readOnly={existing !== null} onChange={(e) => setName(e.target.value)} aria-invalid={Boolean(errors.name)} />
        <FieldError text={errors.name} testId="pool-name-error" />
      </label>
      <label>
        <span>
          Concurrency limit <span className="muted">(runs at once; empty: none)</span>
        </span>
        <input aria-label="pool concurrency limit" inputMode="numeric" value={limit} onChange={(e) => setLimit(e.target.value)} aria-invalid={Boolean(errors.concurrencyLimit)} />
        <FieldError text={errors.concurrencyLimit} testId="pool-limit-error" />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? "Saving…" : existing ? "Save pool" : "Create pool"}
      </button>
    </form>
  );
}

export function QueueForm({ pool, existing, onSaved }: { pool: string; existing: WorkQueue | null; onSaved(): void }) {
  const [name, setName] = useState(existing?.name ?? "");
  const [priority, setPriority] = useState(String(existing?.priority ?? 1));
  const [limit, setLimit] = useState(existing?.concurrencyLimit?.toString() ?? "");
  const parsedPriority = optionalPositiveInt(priority);
  const parsedLimit = optionalPositiveInt(limit);
  const local = errorsOf<"name" | "priority" | "concurrencyLimit">([
    ["name", existing ? undefined : nameProblem(name)],
    ["priority", "value" in parsedPriority && parsedPriority.value !== null ? undefined : "a whole number of 1 or more (1 is served first)"],
    ["concurrencyLimit", "problem" in parsedLimit ? parsedLimit.problem : undefined],
  ]);
  const [tried, setTried] = useState(false);
  const { onSubmit, busy, error } = useSubmit(async () => {
    setTried(true);
    if (Object.keys(local).length || !("value" in parsedLimit) || !("value" in parsedPriority)) return; // the fields marked say what to fix
    await post(`/work-pools/${encodeURIComponent(pool)}/queues`, { name, priority: parsedPriority.value, concurrencyLimit: parsedLimit.value });
    onSaved();
  });
  const errors = fieldErrors(tried ? local : {}, error, ["name", "priority", "concurrencyLimit"] as const, "name");
  return (
    <form className="inline-form" data-testid="queue-form" onSubmit={onSubmit} noValidate>
      <label>
        <span>Queue name</span>
        <input aria-label="queue name" value={name} readOnly={existing !== null} onChange={(e) => setName(e.target.value)} aria-invalid={Boolean(errors.name)} />
        <FieldError text={errors.name} testId="queue-name-error" />
      </label>
      <label>
        <span>Priority</span>
        <input aria-label="queue priority" inputMode="numeric" value={priority} onChange={(e) => setPriority(e.target.value)} aria-invalid={Boolean(errors.priority)} />
        <FieldError text={errors.priority} testId="queue-priority-error" />
      </label>
      <label>
        <span>Concurrency limit</span>
        <input aria-label="queue concurrency limit" inputMode="numeric" value={limit} onChange={(e) => setLimit(e.target.value)} aria-invalid={Boolean(errors.concurrencyLimit)} />
        <FieldError text={errors.concurrencyLimit} testId="queue-limit-error" />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? "Saving…" : existing ? "Save queue" : "Add queue"}
      </button>
    </form>
  );
}

export function LimitForm({ existing, onSaved }: { existing: ConcurrencyLimit | null; onSaved(): void }) {
  const [name, setName] = useState(existing?.name ?? "");
  const [limit, setLimit] = useState(existing ? String(existing.limit) : "");
  const [rate, setRate] = useState(existing?.slotDecayPerSecond?.toString() ?? "");
  const parsedLimit = optionalPositiveInt(limit);
  const rateValue = rate.trim() ? Number(rate) : null;
  const local = errorsOf<"name" | "limit" | "slotDecayPerSecond">([
    ["name", existing ? undefined : nameProblem(name)],
    ["limit", "value" in parsedLimit && parsedLimit.value !== null ? undefined : "a whole number of 1 or more"],
    ["slotDecayPerSecond", rateValue === null || (Number.isFinite(rateValue) && rateValue > 0) ? undefined : "a number above 0 (empty: a concurrency limit)"],
  ]);
  const [tried, setTried] = useState(false);
  const { onSubmit, busy, error } = useSubmit(async () => {
    setTried(true);
    if (Object.keys(local).length || !("value" in parsedLimit)) return; // the fields marked say what to fix
    await post("/concurrency-limits", { name, limit: parsedLimit.value, slotDecayPerSecond: rateValue });
    onSaved();
  });
  const errors = fieldErrors(tried ? local : {}, error, ["name", "limit", "slotDecayPerSecond"] as const, "name");
  return (
    <form className="card inline-form" data-testid="limit-form" onSubmit={onSubmit} noValidate>
      <label>
        <span>
          Limit name <span className="muted">(tasks tagged with it wait for a slot)</span>
        </span>
        <input aria-label="limit name" value={name} readOnly={existing !== null} onChange={(e) => setName(e.target.value)} aria-invalid={Boolean(errors.name)} />
        <FieldError text={errors.name} testId="limit-name-error" />
      </label>
      <label>
        <span>Slots</span>
        <input aria-label="limit slots" inputMode="numeric" value={limit} onChange={(e) => setLimit(e.target.value)} aria-invalid={Boolean(errors.limit)} />
        <FieldError text={errors.limit} testId="limit-slots-error" />
      </label>
      <label>
        <span>
          Rate <span className="muted">(slots freed per second; empty: a concurrency limit)</span>
        </span>
        <input aria-label="limit rate" inputMode="decimal" value={rate} onChange={(e) => setRate(e.target.value)} aria-invalid={Boolean(errors.slotDecayPerSecond)} />
        <FieldError text={errors.slotDecayPerSecond} testId="limit-rate-error" />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? "Saving…" : existing ? "Save limit" : "Create limit"}
      </button>
    </form>
  );
}
