/**
 * A work pool on the work pools page: pause, resume, edit or delete it; its queues, each to
 * pause, resume, edit or delete (the default one, and those deployments use, the server keeps
 * and says why); and its workers with their status, each opening its page.
 */
import { useState } from "react";
import { del, post } from "./api.ts";
import { ConfirmDelete } from "./ConfirmDelete.tsx";
import { useCan } from "./can.ts";
import { time } from "./format.ts";
import { PoolForm, QueueForm } from "./PoolForms.tsx";
import { Link } from "./router.ts";
import type { WorkerStatus, WorkPoolWithWorkers as Pool } from "./types.ts";

/** A pool's prices in one line ("1.2 USD/h, 0.04 USD/CPU h, 1 × 2.5 USD/GPU h"), or null without any. */
function pricesText(p: Pool): string | null {
  const c = p.currency ? ` ${p.currency}` : "";
  const parts = [
    p.costPerHour != null ? `${p.costPerHour}${c}/h` : null,
    p.costPerCpuHour != null ? `${p.costPerCpuHour}${c}/CPU h` : null,
    p.costPerGpuHour != null ? `${p.gpus ?? 0} × ${p.costPerGpuHour}${c}/GPU h` : null,
  ].filter((s) => s !== null);
  return parts.length ? parts.join(", ") : null;
}

export function WorkPoolCard({ pool: p, workers, onChange }: { pool: Pool; workers: WorkerStatus[]; onChange(): void }) {
  // What is open: the pool's form, the new-queue form, or one queue's form (by name).
  const [editing, setEditing] = useState<{ pool: true } | { queue: string | null } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const base = `/work-pools/${encodeURIComponent(p.name)}`;
  const act = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work();
      setProblem(null);
      onChange();
    } catch (e) {
      setProblem(`${what} failed: ${(e as Error).message}`);
    }
  };
  const saved = () => {
    setEditing(null);
    onChange();
  };
  const queueOpen = editing && "queue" in editing ? editing.queue : undefined;
  const write = useCan()("pools:write");
  return (
    <div className="card" data-pool={p.name}>
      <div className="toolbar">
        <h2>{p.name}</h2>
        <span className="muted">
          {p.type} · limit {p.concurrencyLimit ?? "none"}
          {pricesText(p) && <span data-testid="pool-prices"> · {pricesText(p)}</span>}
        </span>
        <span className={`state ${p.paused ? "paused" : "completed"}`} data-testid="pool-state">
          {p.paused ? "Paused" : "Ready"}
        </span>
        {write && (
        <div className="actions">
          <button onClick={() => void act(p.paused ? "Resume" : "Pause", () => post("/work-pools", { name: p.name, paused: !p.paused }))}>{p.paused ? "Resume" : "Pause"}</button>
          <button onClick={() => setEditing(editing && "pool" in editing ? null : { pool: true })}>Edit</button>
          <ConfirmDelete
            what={`work pool ${p.name} with its queues`}
            onDelete={async () => {
              await del(base);
              onChange();
            }}
          />
        </div>
        )}
      </div>
      {problem && (
        <p className="error" data-testid="pool-problem">
          {problem}
        </p>
      )}
      {editing && "pool" in editing && <PoolForm existing={p} onSaved={saved} />}
      <div className="toolbar section">
        <h3 className="muted">Queues</h3>
        {write && (
          <button onClick={() => setEditing(queueOpen === null ? null : { queue: null })} data-testid="add-queue">
            {queueOpen === null ? "Close the form" : "Add queue"}
          </button>
        )}
      </div>
      {queueOpen === null && <QueueForm pool={p.name} existing={null} onSaved={saved} />}
      <table className="runs static" data-testid="queues">
        <thead>
          <tr>
            <th>Queue</th>
            <th>Priority</th>
            <th>Limit</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {p.queues.map((q) => (
            <tr key={q.name} data-queue={q.name}>
              <td>{q.name}</td>
              <td>{q.priority}</td>
              <td>{q.concurrencyLimit ?? "–"}</td>
              <td>
                <span className={`state ${q.paused ? "paused" : "completed"}`}>{q.paused ? "Paused" : "Ready"}</span>
              </td>
              <td>
                {write && (<>
                <button onClick={() => void act(q.paused ? "Resume" : "Pause", () => post(`${base}/queues`, { name: q.name, paused: !q.paused }))}>{q.paused ? "Resume" : "Pause"}</button>{" "}
                <button onClick={() => setEditing(queueOpen === q.name ? null : { queue: q.name })}>Edit</button>{" "}
                <ConfirmDelete
                  what={`queue ${q.name}`}
                  onDelete={async () => {
                    await del(`${base}/queues/${encodeURIComponent(q.name)}`);
                    onChange();
                  }}
                />
                </>)}
                {queueOpen === q.name && <QueueForm pool={p.name} existing={q} onSaved={saved} />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="toolbar section">
        <h3 className="muted">Workers</h3>
      </div>
      {workers.length === 0 ? (
        <p className="muted">
          No workers. Start one with <code>baton worker start --pool {p.name}</code>.
        </p>
      ) : (
        <table className="runs" data-testid="workers">
          <thead>
            <tr>
              <th>Worker</th>
              <th>Status</th>
              <th>Last heartbeat</th>
              <th>Run limit</th>
            </tr>
          </thead>
          <tbody>
            {workers.map((w) => (
              <tr key={w.id} data-worker={w.name}>
                <td>
                  <Link to={`/workers/${encodeURIComponent(w.id)}`}>{w.name}</Link>
                </td>
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
}
