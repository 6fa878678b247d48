/** Concurrency and rate limits on the work pools page: slots in use and holders, live; create, edit, reset (after confirmation) and delete. */
import { useState } from "react";
import { del, post, useData } from "./api.ts";
import { ConfirmDelete } from "./ConfirmDelete.tsx";
import { useCan } from "./can.ts";
import { LimitForm } from "./PoolForms.tsx";
import type { ConcurrencyLimit as Limit } from "./types.ts";

function LimitRow({ limit: l, editing, onEdit, onChange }: { limit: Limit; editing: boolean; onEdit(): void; onChange(): void }) {
  const [confirming, setConfirming] = useState(false);
  const [outcome, setOutcome] = useState<{ text: string; error: boolean } | null>(null);
  const write = useCan()("limits:write");
  const reset = async () => {
    setConfirming(false);
    try {
      await post(`/concurrency-limits/${encodeURIComponent(l.name)}/reset`);
      setOutcome({ text: "All slots freed", error: false });
      onChange();
    } catch (e) {
      setOutcome({ text: `Reset failed: ${(e as Error).message}`, error: true });
    }
  };
  return (
    <tr data-limit={l.name}>
      <td>
        {l.name}
        {l.slotDecayPerSecond ? <span className="muted"> (rate {l.slotDecayPerSecond}/s)</span> : null}
      </td>
      <td data-testid="slots">
        {l.activeSlots} / {l.limit}
      </td>
      <td className="muted">{l.holders.map((h) => `${h.holder} (${h.slots})`).join(", ") || "–"}</td>
      <td>
        {write && (<>
        {confirming ? (
          <span className="confirm">
            Free all {l.activeSlots} slot(s)? Their holders keep running.{" "}
            <button onClick={() => void reset()}>Yes, reset</button> <button onClick={() => setConfirming(false)}>Keep</button>
          </span>
        ) : (
          <button onClick={() => setConfirming(true)}>Reset</button>
        )}{" "}
        <button onClick={onEdit}>{editing ? "Close" : "Edit"}</button>{" "}
        <ConfirmDelete
          what={`limit ${l.name}; tasks tagged with it no longer wait`}
          onDelete={async () => {
            await del(`/concurrency-limits/${encodeURIComponent(l.name)}`);
            onChange();
          }}
        />
        </>)}
        {outcome && (
          <span className={outcome.error ? "error" : "notice"} data-testid="limit-outcome">
            {" "}
            {outcome.text}
          </span>
        )}
        {editing && (
          <LimitForm
            existing={l}
            onSaved={() => {
              onEdit();
              onChange();
            }}
          />
        )}
      </td>
    </tr>
  );
}

export function LimitsSection({ reload }: { reload: number }) {
  const [changes, setChanges] = useState(0);
  // null: no form; "new": a blank one; a name: that limit's.
  const [editing, setEditing] = useState<string | null>(null);
  const limits = useData<{ items: Limit[] }>("/concurrency-limits", `${reload}:${changes}`);
  const changed = () => setChanges((n) => n + 1);
  const write = useCan()("limits:write");
  return (
    <>
      <div className="toolbar section">
        <h1>Concurrency limits</h1>
        {write && (
          <div className="actions">
            <button onClick={() => setEditing(editing === "new" ? null : "new")} data-testid="new-limit">
              {editing === "new" ? "Close the form" : "New limit"}
            </button>
          </div>
        )}
      </div>
      {editing === "new" && (
        <LimitForm
          existing={null}
          onSaved={() => {
            setEditing(null);
            changed();
          }}
        />
      )}
      {limits.error && <p className="error">{limits.error}</p>}
      {limits.data?.items.length === 0 && (
        <div className="empty">
          No limits yet. Create one here or with <code>baton limit create NAME --limit N</code>; tasks tagged NAME then wait for a slot.
        </div>
      )}
      {(limits.data?.items.length ?? 0) > 0 && (
        <table className="runs static" data-testid="limits">
          <thead>
            <tr>
              <th>Limit</th>
              <th>In use</th>
              <th>Holders</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {limits.data!.items.map((l) => (
              <LimitRow key={l.name} limit={l} editing={editing === l.name} onEdit={() => setEditing(editing === l.name ? null : l.name)} onChange={changed} />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
