/** Flow runs: a live, filterable, paged list; keyboard: j/k to move, Enter to open. */
import { useEffect, useMemo, useRef, useState } from "react";
import { post, useData, type FlowRun } from "./api.ts";
import { useLiveEvents } from "./live.ts";
import { duration, time } from "./format.ts";
import { navigate } from "./router.ts";

const STATES = ["", "Running", "Completed", "Failed", "Crashed", "Cancelled", "Scheduled", "Late", "Pending"];

export function RunsPage({ url }: { url: URL }) {
  const state = url.searchParams.get("state") ?? "";
  const flow = url.searchParams.get("flow") ?? "";
  const cursor = url.searchParams.get("cursor") ?? "";
  const tag = url.searchParams.get("tag") ?? "";
  const deployment = url.searchParams.get("deployment") ?? "";
  const deployments = useData<{ items: { id: string; name: string }[] }>("/deployments");
  const window_ = url.searchParams.get("window") ?? "";
  const [reload, setReload] = useState(0);
  const [selected, setSelected] = useState(0);
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [notice, setNotice] = useState<string | null>(null);
  const bulk = async (action: "cancel" | "retry") => {
    const results = await Promise.allSettled([...checked].map((id) => post(`/flow-runs/${encodeURIComponent(id)}/${action}`)));
    const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    setNotice(`${action === "cancel" ? "Cancelled" : "Retried"} ${results.length - failed.length} run(s)${failed.length ? `; ${failed.length} refused: ${(failed[0]!.reason as Error).message}` : ""}`);
    setChecked(new Set());
    setReload((n) => n + 1);
  };
  const query = new URLSearchParams({ limit: "50" });
  if (state) query.set("state", state);
  if (flow) query.set("flow", flow);
  if (cursor) query.set("cursor", cursor);
  if (tag) query.set("tag", tag);
  if (deployment) query.set("deployment", deployment);
  const since = useMemo(() => (window_ ? Date.now() - Number(window_) * 3600_000 : 0), [window_]);
  if (since) query.set("since", String(since));
  const { data, error } = useData<{ items: FlowRun[]; nextCursor: string | null }>(`/flow-runs?${query.toString()}`, reload);
  const pending = useRef(false);
  useLiveEvents(null, (event) => {
    // Any flow-run state change may reorder or recolour the list: refresh at most every 300 ms.
    if (event.kind !== "state" || event.taskRunId !== null || pending.current) return;
    pending.current = true;
    setTimeout(() => {
      pending.current = false;
      setReload((n) => n + 1);
    }, 300);
  });
  const items = data?.items ?? [];
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).tagName === "INPUT" || (e.target as HTMLElement).tagName === "SELECT") return;
      if (e.key === "j") setSelected((i) => Math.min(items.length - 1, i + 1));
      if (e.key === "k") setSelected((i) => Math.max(0, i - 1));
      if (e.key === "Enter" && items[selected]) navigate(`/runs/${items[selected]!.id}`);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [items, selected]);

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(url.search);
    if (value) next.set(key, value);
    else next.delete(key);
    next.delete("cursor");
    navigate(`/?${next.toString()}`);
  };

  return (
    <section>
      <div className="toolbar">
        <h1>Flow runs</h1>
        <label>
          State{" "}
          <select value={state} onChange={(e) => setFilter("state", e.target.value)} aria-label="state filter">
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </label>
        <label>
          Flow <input defaultValue={flow} placeholder="any" onKeyDown={(e) => e.key === "Enter" && setFilter("flow", (e.target as HTMLInputElement).value)} aria-label="flow filter" />
        </label>
        <label>
          Tag <input defaultValue={tag} placeholder="any" onKeyDown={(e) => e.key === "Enter" && setFilter("tag", (e.target as HTMLInputElement).value)} aria-label="tag filter" />
        </label>
        {(deployments.data?.items.length ?? 0) > 0 && (
          <label>
            Deployment{" "}
            <select value={deployment} onChange={(e) => setFilter("deployment", e.target.value)} aria-label="deployment filter">
              <option value="">any</option>
              {deployments.data!.items.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Created{" "}
          <select value={window_} onChange={(e) => setFilter("window", e.target.value)} aria-label="time filter">
            <option value="">any time</option>
            <option value="1">last hour</option>
            <option value="24">last 24 hours</option>
            <option value="168">last 7 days</option>
          </select>
        </label>
      </div>
      {checked.size > 0 && (
        <div className="toolbar" data-testid="bulk">
          <span>{checked.size} selected</span>
          <button onClick={() => void bulk("cancel")}>Cancel selected</button>
          <button onClick={() => void bulk("retry")}>Retry selected</button>
        </div>
      )}
      {notice && <p className="notice" data-testid="bulk-notice">{notice}</p>}
      {error && <p className="error">{error}</p>}
      {data && items.length === 0 && (
        <div className="empty">
          <p>No flow runs {state || flow ? "match these filters" : "yet"}.</p>
          <p>
            Run one with <code>npx baton run examples/train.ts</code> (with <code>BATON_API_URL</code> pointing at this server, or on the same database).
          </p>
        </div>
      )}
      {items.length > 0 && (
        <table className="runs" data-testid="runs">
          <thead>
            <tr>
              <th />
              <th>Run</th>
              <th>Flow</th>
              <th>State</th>
              <th>Started</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {items.map((run, i) => (
              <tr key={run.id} className={i === selected ? "selected" : ""} onClick={() => navigate(`/runs/${run.id}`)} data-run={run.id}>
                <td onClick={(e) => e.stopPropagation()}>
                  <input
                    type="checkbox"
                    aria-label={`select ${run.name}`}
                    checked={checked.has(run.id)}
                    onChange={(e) => {
                      const next = new Set(checked);
                      if (e.target.checked) next.add(run.id);
                      else next.delete(run.id);
                      setChecked(next);
                    }}
                  />
                </td>
                <td>
                  <a href={`/runs/${run.id}`} onClick={(e) => e.preventDefault()}>
                    {run.name}
                  </a>
                </td>
                <td>{run.flowName}</td>
                <td>
                  <span className={`state ${run.state.type.toLowerCase()}`}>{run.state.name}</span>
                </td>
                <td>{time(run.startTime ?? run.createdAt)}</td>
                <td>{duration(run.startTime, run.endTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data?.nextCursor && (
        <button className="more" onClick={() => navigate(`/?${new URLSearchParams({ ...Object.fromEntries(url.searchParams), cursor: data.nextCursor! }).toString()}`)}>
          Older runs →
        </button>
      )}
    </section>
  );
}
