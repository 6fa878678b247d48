/** Work pools (queues, priorities, limits, workers and their heartbeats) and concurrency limits. */
import { useEffect, useState } from "react";
import { post, useData } from "./api.ts";
import { time } from "./format.ts";

interface Pool {
  name: string;
  type: string;
  paused: boolean;
  concurrencyLimit: number | null;
  queues: { name: string; priority: number; concurrencyLimit: number | null; paused: boolean }[];
  workers: { id: string; name: string; heartbeatAt: number; runLimit: number | null }[];
}

interface Limit {
  name: string;
  limit: number;
  slotDecayPerSecond: number | null;
  activeSlots: number;
  holders: { leaseId: string; holder: string; slots: number; expiresAt: number }[];
}

export function OperationsPage() {
  const [reload, setReload] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setReload((n) => n + 1), 5000); // heartbeats age: refresh
    return () => clearInterval(timer);
  }, []);
  const pools = useData<{ items: Pool[] }>("/work-pools", reload);
  const limits = useData<{ items: Limit[] }>("/concurrency-limits", reload);
  return (
    <section>
      <h1>Work pools</h1>
      {pools.data?.items.length === 0 && (
        <div className="empty">
          No work pools yet. Create one with <code>baton work-pool create NAME</code> and start a worker with <code>baton worker start --pool NAME</code>.
        </div>
      )}
      {pools.data?.items.map((p) => (
        <div key={p.name} className="card" data-pool={p.name}>
          <div className="toolbar">
            <h2>{p.name}</h2>
            <span className="muted">
              {p.type} · limit {p.concurrencyLimit ?? "none"}
            </span>
            <span className={`state ${p.paused ? "paused" : "completed"}`}>{p.paused ? "Paused" : "Ready"}</span>
          </div>
          <p className="muted">Queues: {p.queues.map((q) => `${q.name} (priority ${q.priority}${q.concurrencyLimit ? `, limit ${q.concurrencyLimit}` : ""}${q.paused ? ", paused" : ""})`).join(", ")}</p>
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
              {p.workers.map((w) => {
                const online = Date.now() - w.heartbeatAt < 60_000;
                return (
                  <tr key={w.id} data-worker={w.name}>
                    <td>{w.name}</td>
                    <td>
                      <span className={`state ${online ? "completed" : "crashed"}`}>{online ? "Online" : "Offline"}</span>
                    </td>
                    <td>{time(w.heartbeatAt)}</td>
                    <td>{w.runLimit ?? "–"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ))}
      <h1 style={{ marginTop: 32 }}>Concurrency limits</h1>
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
              <tr key={l.name} data-limit={l.name}>
                <td>
                  {l.name}
                  {l.slotDecayPerSecond ? <span className="muted"> (rate {l.slotDecayPerSecond}/s)</span> : null}
                </td>
                <td>
                  {l.activeSlots} / {l.limit}
                </td>
                <td className="muted">{l.holders.map((h) => `${h.holder} (${h.slots})`).join(", ") || "–"}</td>
                <td>
                  <button
                    onClick={() => {
                      void post(`/concurrency-limits/${encodeURIComponent(l.name)}/reset`).then(() => setReload((n) => n + 1));
                    }}
                  >
                    Reset
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
