/**
 * Work pools (queues, priorities, limits, workers with their status) and concurrency limits
 * (slots in use, holders), each created, edited, paused and deleted here. Live: the server
 * announces changes made through its API; a slow poll catches the rest (workers heartbeating
 * straight into the database, heartbeats growing old). Worker status is decided by the
 * server's clock, not the browser's.
 */
import { useState } from "react";
import { useData } from "./api.ts";
import { LimitsSection } from "./LimitsSection.tsx";
import { useResourceReload } from "./live.ts";
import { useCan } from "./can.ts";
import { PoolForm } from "./PoolForms.tsx";
import { WorkPoolCard } from "./WorkPoolCard.tsx";
import type { WorkerStatus as Worker, WorkPoolWithWorkers as Pool } from "./types.ts";

export function OperationsPage() {
  const reload = useResourceReload(["work-pools", "workers", "concurrency-limits"]);
  const [changes, setChanges] = useState(0);
  const [creating, setCreating] = useState(false);
  const pools = useData<{ items: Pool[] }>("/work-pools", `${reload}:${changes}`);
  const workers = useData<{ items: Worker[] }>("/workers", `${reload}:${changes}`);
  const changed = () => setChanges((n) => n + 1);
  const write = useCan()("pools:write");
  return (
    <section>
      <div className="toolbar">
        <h1>Work pools</h1>
        {write && (
          <div className="actions">
            <button onClick={() => setCreating(!creating)} data-testid="new-pool">
              {creating ? "Close the form" : "New work pool"}
            </button>
          </div>
        )}
      </div>
      {creating && (
        <PoolForm
          existing={null}
          onSaved={() => {
            setCreating(false);
            changed();
          }}
        />
      )}
      {pools.error && <p className="error">{pools.error}</p>}
      {pools.data?.items.length === 0 && (
        <div className="empty">
          No work pools yet. Create one here or with <code>baton work-pool create NAME</code>, and start a worker with <code>baton worker start --pool NAME</code>.
        </div>
      )}
      {pools.data?.items.map((p) => (
        <WorkPoolCard key={p.name} pool={p} workers={(workers.data?.items ?? []).filter((w) => w.poolName === p.name)} onChange={changed} />
      ))}
      <LimitsSection reload={reload} />
    </section>
  );
}
