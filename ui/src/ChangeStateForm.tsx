/**
 * An admin's "Change state" on a flow run: any state name, with a message, forced past the
 * orchestration rules (`POST /flow-runs/{id}/set-state` with `force`; the server refuses it to
 * other roles). The form is the confirmation: nothing changes until "Set state" is pressed.
 */
import { useState } from "react";
import { post } from "./api.ts";
import { STATE_GROUPS } from "./states.ts";
import { useSubmit } from "./submit.ts";
import type { FlowRun } from "./types.ts";

export function ChangeStateForm({ run, onDone, onClose }: { run: FlowRun; onDone(state: string): void; onClose(): void }) {
  const [name, setName] = useState("");
  const [message, setMessage] = useState("");
  const { onSubmit, busy, error } = useSubmit(async () => {
    if (!name) throw new Error("state: choose the state to set");
    await post(`/flow-runs/${encodeURIComponent(run.id)}/set-state`, { state: { name, message: message.trim() || `set from the dashboard (was ${run.state.name})` }, force: true });
    onDone(name);
  });
  return (
    <form className="run-form card" data-testid="change-state-form" noValidate onSubmit={onSubmit}>
      <h2>Change state</h2>
      <p className="muted">
        Forces the run from {run.state.name} to the state chosen, past the orchestration rules; the state history keeps the change. A running process is not stopped by it (use Cancel
        for that).
      </p>
      <label>
        <span>New state *</span>
        <select name="state" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={error?.startsWith("state") || undefined}>
          <option value="">–</option>
          {STATE_GROUPS.map((g) => (
            <optgroup key={g.type} label={g.label}>
              {g.names.map((n) => (
                <option key={n} value={n} disabled={n === run.state.name}>
                  {n}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </label>
      <label>
        <span>Message</span>
        <input name="message" value={message} onChange={(e) => setMessage(e.target.value)} placeholder="why (kept in the state history)" />
      </label>
      {error && (
        <p className="error" data-testid="form-error">
          {error}
        </p>
      )}
      <span>
        <button type="submit" disabled={busy}>
          {busy ? "Setting…" : "Set state"}
        </button>{" "}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </span>
    </form>
  );
}
