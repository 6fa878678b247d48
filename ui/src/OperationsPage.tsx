/**
 * Work pools (queues, priorities, limits, workers with their status) and concurrency limits
 * (slots in use, holders, reset). Live: the server announces changes made through its API;
 * a slow poll catches the rest (workers heartbeating straight into the database, heartbeats
 * growing old). Worker status is decided by the server's clock, not the browser's.
 */
import { useState } from "react";
import { post, useData } from "./api.ts";
import { time } from "./format.ts";
import { useResourceReload } from "./live.ts";
import type { ConcurrencyLimit as Limit, WorkerStatus as Worker, WorkPoolWithWorkers as Pool } from "./types.ts";
import { useCan } from "./can.ts";

function LimitRow({ limit: l, onReset }: { limit: Limit; onReset: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [outcome, setOutcome] = useState<{ text: string; error: boolean } | null>(null);
  const write = useCan()("limits:write");
  const reset = async () => {
    setConfirming(false);
    try {
      await post(`/concurrency-limits/${encodeURIComponent(l.name)}/reset`);
      setOutcome({ text: "All slots freed", error: false });
      onReset();
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
        {confirming ? (
          <span className="confirm">
            Free all {l.activeSlots} slot(s)? Their holders keep running.{" "}
            <button onClick={() => void reset()}>Yes, reset</button> <button onClick={() => setConfirming(false)}>Keep</button>
          </span>
        ) : (
          write && <button onClick={() => setConfirming(true)}>Reset</button>
        )}
        {outcome && (
          <span className={outcome.error ? "error" : "notice"} data-testid="limit-outcome">
            {" "}
            {outcome.text}
          </span>
        )}
      </td>
    </tr>
  );
}

export function OperationsPage() {
  const reload = useResourceReload(["work-pools", "workers", "concurrency-limits"]);
  const [resets, setResets] = useState(0);
  const pools = useData<{ items: Pool[] }>("/work-pools", reload);
  const workers = useData<{ items: Worker[] }>("/workers", reload);
  const limits = useData<{ items: Limit[] }>("/concurrency-limits", `${reload}:${resets}`);
  return (
    <section>
      <h1>Work pools</h1>
      {pools.error && <p className="error">{pools.error}</p>}
      {pools.data?.items.length === 0 && (
        <div className="empty">
          No work pools yet. Create one with <code>baton work-pool create NAME</code> and start a worker with <code>baton worker start --pool NAME</code>.
        </div>
      )}
      {pools.data?.items.map((p) => {
        const members = (workers.data?.items ?? []).filter((w) => w.poolName === p.name);
        return (
          <div key={p.name} className="card" data-pool={p.name}>
            <div className="toolbar">
              <h2>{p.name}</h2>
              <span className="muted">
                {p.type} · limit {p.concurrencyLimit ?? "none"}
              </span>
              <span className={`state ${p.paused ? "paused" : "completed"}`}>{p.paused ? "Paused" : "Ready"}</span>
            </div>
            <p className="muted">Queues: {p.queues.map((q) => `${q.name} (priority ${q.priority}${q.concurrencyLimit ? `, limit ${q.concurrencyLimit}` : ""}${q.paused ? ", paused" : ""})`).join(", ")}</p>
            {members.length === 0 ? (
              <p className="muted">
                No workers. Start one with <code>baton worker start --pool {p.name}</code>.
              </p>
            ) : (
              <table className="runs">
                <thead>
                  <tr>
                    <th>Worker</th>
                    <th>Status</th>
                    <th>Last heartbeat</th>
                    <th>Run limit</th>
                  </tr>
                </thead>
                <tbody>
                  {members.map((w) => (
                    <tr key={w.id} data-worker={w.name}>
                      <td>{w.name}</td>
                      <td>
                        <span className={`state ${w.status === "online" ? "completed" : "crashed"}`} title={`offline after three missed heartbeats (every ${w.heartbeatMs / 1000} s)`}>
                          {w.status === "online" ? "Online" : "Offline"}
                        </span>
                      </td>
                      <td>{time(w.heartbeatAt)}</td>
                      <td>{w.runLimit ?? "–"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        );
      })}
      <h1 style={{ marginTop: 32 }}>Concurrency limits</h1>
      {limits.error && <p className="error">{limits.error}</p>}
      {limits.data?.items.length === 0 && (
        <div className="empty">
          No limits yet. Create one with <code>baton limit create NAME --limit N</code>; tasks tagged NAME then wait for a slot.
        </div>
      )}
      {(limits.data?.items.length ?? 0) > 0 && (
        <table className="runs" data-testid="limits">
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
              <LimitRow key={l.name} limit={l} onReset={() => setResets((n) => n + 1)} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
