/**
 * Flow runs: a live, filterable, paged list. Every filter and the page are in the URL: state
 * type or name, flow (names starting with what is typed), tag, deployment, a time window or a
 * custom since/until, and the cursor with the cursors of the pages before it (`prev`), so
 * "Newer" goes back without history. Text filters apply as you type (after a pause, replacing
 * the URL rather than adding a history entry per keystroke). A set of filters can be saved
 * under a name (kept in this browser as its URL). Keyboard: j / k to move, Enter to open.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { post, useCoalescedReload, useData, type FlowRun } from "./api.ts";
import { duration, time } from "./format.ts";
import { revealSelected, useListKeys } from "./keys.ts";
import { useLiveEvents } from "./live.ts";
import { Link, navigate, replaceQuery } from "./router.ts";
import { SavedFilters } from "./SavedFilters.tsx";
import { STATE_GROUPS } from "./states.ts";
import { useCan } from "./can.ts";

const FILTERS = ["state", "stateType", "flow", "tag", "deployment", "window", "since", "until"] as const;
const SEP = ".";

/** How long typing pauses before a text filter applies. */
const DEBOUNCE_MS = 300;

/**
 * A text filter that applies as you type: its text is local while typing, and `apply` runs
 * once typing pauses for `DEBOUNCE_MS` (Enter applies at once). The URL's value wins when it
 * changes from elsewhere (Clear filters, back).
 */
function FilterInput({ value, apply, label }: { value: string; apply(text: string): void; label: string }) {
  const [text, setText] = useState(value);
  useEffect(() => setText((t) => (t.trim() === value ? t : value)), [value]);
  useEffect(() => {
    if (text.trim() === value) return;
    const timer = setTimeout(() => apply(text.trim()), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [text, value, apply]);
  return <input value={text} onChange={(e) => setText(e.target.value)} onKeyDown={(e) => e.key === "Enter" && apply(text.trim())} placeholder="any" aria-label={label} />;
}

/** A typed filter applies in place (no history entry per pause in typing), from the first page. */
const applyTyped = (key: "flow" | "tag") => (text: string) => replaceQuery({ [key]: text || null, cursor: null, prev: null });
const APPLY_FLOW = applyTyped("flow");
const APPLY_TAG = applyTyped("tag");

/** What the Started column says: the start, or when a Scheduled run is due. */
function started(run: FlowRun): string {
  if (run.startTime !== null) return time(run.startTime);
  if (run.state.type === "SCHEDULED" && run.state.scheduledAt != null) return `scheduled for ${time(run.state.scheduledAt)}`;
  return "not started";
}

/** An epoch-ms URL value as a datetime-local input's text (local time). */
function localInput(ms: string): string {
  if (!ms) return "";
  const d = new Date(Number(ms));
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

export function RunsPage({ url }: { url: URL }) {
  const q = (key: string) => url.searchParams.get(key) ?? "";
  const operate = useCan()("runs:operate");
  const cursor = q("cursor");
  const prev = q("prev") ? q("prev").split(SEP) : [];
  const deployments = useData<{ items: { id: string; name: string }[] }>("/deployments");
  const [reload, trigger] = useCoalescedReload(500);
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [notice, setNotice] = useState<string | null>(null);
  const table = useRef<HTMLTableElement>(null);

  const go = (changes: Record<string, string | null>, keepPage = false) => {
    const next = new URLSearchParams(url.search);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!keepPage) {
      next.delete("cursor");
      next.delete("prev");
    }
    navigate(`/${next.size ? `?${next.toString()}` : ""}`);
  };

  const query = new URLSearchParams({ limit: "50" });
  for (const key of ["state", "stateType", "tag", "deployment", "cursor", "until"]) if (q(key)) query.set(key, q(key));
  if (q("flow")) query.set("flowPrefix", q("flow"));
  const windowHours = q("window");
  // A preset window is relative to when the filter was set, not to every refresh.
  const since = useMemo(() => (windowHours ? String(Date.now() - Number(windowHours) * 3600_000) : q("since")), [windowHours, url.search]);
  if (since) query.set("since", since);
  const { data, error } = useData<{ items: FlowRun[]; nextCursor: string | null }>(`/flow-runs?${query.toString()}`, reload);
  useLiveEvents(null, (event) => {
    // A flow run's state change may add, reorder or recolour rows: refresh at most every 500 ms.
    if (event.kind === "state" && event.taskRunId === null) trigger();
  });
  const items = data?.items ?? [];
  const [selected, setSelected] = useListKeys({
    count: items.length,
    resetKey: url.search,
    onOpen: (i) => items[i] && navigate(`/runs/${items[i].id}`),
    reveal: () => revealSelected(table.current),
  });

  const bulk = async (action: "cancel" | "retry") => {
    const results = await Promise.allSettled([...checked].map((id) => post(`/flow-runs/${encodeURIComponent(id)}/${action}`)));
    const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    setNotice(`${action === "cancel" ? "Cancelled" : "Retried"} ${results.length - failed.length} run(s)${failed.length ? `; ${failed.length} refused: ${(failed[0]!.reason as Error).message}` : ""}`);
    setChecked(new Set());
    trigger();
  };

  const active = FILTERS.filter((k) => q(k));
  const describe = (k: (typeof FILTERS)[number]) => {
    const v = q(k);
    if (k === "stateType") return `state type ${STATE_GROUPS.find((g) => g.type === v)?.label ?? v}`;
    if (k === "deployment") return `deployment ${deployments.data?.items.find((d) => d.id === v)?.name ?? v}`;
    if (k === "window") return `created in the last ${v} h`;
    if (k === "since" || k === "until") return `created ${k} ${time(Number(v))}`;
    return `${k} ${v}`;
  };
  const stateValue = q("stateType") ? `type:${q("stateType")}` : q("state") ? `name:${q("state")}` : "";

  return (
    <section>
      <div className="toolbar">
        <h1>Flow runs</h1>
        <label>
          State{" "}
          <select
            value={stateValue}
            onChange={(e) => {
              const [kind, v] = e.target.value.split(":");
              go({ stateType: kind === "type" ? v! : null, state: kind === "name" ? v! : null });
            }}
            aria-label="state filter"
          >
            <option value="">any</option>
            {STATE_GROUPS.map((g) => (
              <optgroup key={g.type} label={g.label}>
                <option value={`type:${g.type}`}>{g.names.length > 1 ? `${g.label}, all` : g.label}</option>
                {g.names.length > 1 &&
                  g.names.map((n) => (
                    <option key={n} value={`name:${n}`}>
                      {"\u00a0\u00a0"}
                      {n} only
                    </option>
                  ))}
              </optgroup>
            ))}
          </select>
        </label>
        <label>
          Flow <FilterInput value={q("flow")} apply={APPLY_FLOW} label="flow filter" />
        </label>
        <label>
          Tag <FilterInput value={q("tag")} apply={APPLY_TAG} label="tag filter" />
        </label>
        {(deployments.data?.items.length ?? 0) > 0 && (
          <label>
            Deployment{" "}
            <select value={q("deployment")} onChange={(e) => go({ deployment: e.target.value })} aria-label="deployment filter">
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
          <select
            value={windowHours || (q("since") || q("until") ? "custom" : "")}
            onChange={(e) => go(e.target.value === "custom" ? { window: null, since: String(Date.now() - 24 * 3600_000) } : { window: e.target.value, since: null, until: null })}
            aria-label="time filter"
          >
            <option value="">any time</option>
            <option value="1">last hour</option>
            <option value="24">last 24 hours</option>
            <option value="168">last 7 days</option>
            <option value="custom">custom range…</option>
          </select>
        </label>
        {!windowHours && (q("since") || q("until")) && (
          <span className="range">
            <input type="datetime-local" aria-label="since" value={localInput(q("since"))} onChange={(e) => go({ since: e.target.value ? String(new Date(e.target.value).getTime()) : null })} />
            {" – "}
            <input type="datetime-local" aria-label="until" value={localInput(q("until"))} onChange={(e) => go({ until: e.target.value ? String(new Date(e.target.value).getTime()) : null })} />
          </span>
        )}
        {active.length > 0 && (
          <button onClick={() => navigate("/")} data-testid="clear-filters">
            Clear filters
          </button>
        )}
      </div>
      <SavedFilters search={url.search} active={active.length > 0} />
      {checked.size > 0 && (
        <div className="toolbar" data-testid="bulk">
          <span>{checked.size} selected</span>
          <button onClick={() => void bulk("cancel")}>Cancel selected</button>
          <button onClick={() => void bulk("retry")}>Retry selected</button>
        </div>
      )}
      {notice && (
        <p className="notice" data-testid="bulk-notice">
          {notice}
        </p>
      )}
      {error && <p className="error">{error}</p>}
      {data && items.length === 0 && (
        <div className="empty" data-testid="runs-empty">
          {active.length > 0 || cursor ? (
            <>
              <p>No flow runs {cursor ? "on this page " : ""}match {active.length ? active.map(describe).join(", ") : "this page"}.</p>
              <p>
                <button onClick={() => navigate("/")}>Clear filters</button> to see every run.
              </p>
            </>
          ) : (
            <>
              <p>No flow runs yet.</p>
              <p>
                Run one with <code>npx baton run examples/train.ts</code> (with <code>BATON_API_URL</code> pointing at this server's <code>/api</code>, or on the same database), or run a
                deployment from the <Link to="/deployments">Deployments</Link> page.
              </p>
            </>
          )}
        </div>
      )}
      {items.length > 0 && (
        <table className="runs" data-testid="runs" ref={table}>
          <thead>
            <tr>
              {operate && (
              <th>
                <input
                  type="checkbox"
                  aria-label="select all runs on this page"
                  data-testid="select-all"
                  checked={items.length > 0 && items.every((r) => checked.has(r.id))}
                  ref={(el) => {
                    if (el) el.indeterminate = checked.size > 0 && !items.every((r) => checked.has(r.id));
                  }}
                  onChange={(e) => setChecked(e.target.checked ? new Set(items.map((r) => r.id)) : new Set())}
                />
              </th>
              )}
              <th>Run</th>
              <th>Flow</th>
              <th>State</th>
              <th>Started</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {items.map((run, i) => (
              <tr
                key={run.id}
                className={i === selected ? "selected" : ""}
                data-selected={i === selected}
                onClick={() => {
                  setSelected(i);
                  navigate(`/runs/${run.id}`);
                }}
                data-run={run.id}
              >
                {operate && <td onClick={(e) => e.stopPropagation()}>
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
                </td>}
                <td>
                  <a href={`/runs/${run.id}`} onClick={(e) => e.preventDefault()}>
                    {run.name}
                  </a>
                  {run.tags.length > 0 && <span className="muted"> {run.tags.map((t) => `#${t}`).join(" ")}</span>}
                </td>
                <td>{run.flowName}</td>
                <td>
                  <span className={`state ${run.state.type.toLowerCase()}`}>{run.state.name}</span>
                </td>
                <td data-testid="started">{started(run)}</td>
                <td>{duration(run.startTime, run.endTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        {cursor && (
          <>
            <button onClick={() => go({ cursor: null, prev: null }, true)} data-testid="first-page">
              ⇤ Newest
            </button>
            <button onClick={() => go({ cursor: prev.at(-1) ?? null, prev: prev.slice(0, -1).join(SEP) || null }, true)} data-testid="newer">
              ← Newer runs
            </button>
          </>
        )}
        {cursor && <span className="muted">page {prev.length + 2}</span>}
        {data?.nextCursor && (
          <button onClick={() => go({ cursor: data.nextCursor, prev: cursor ? [...prev, cursor].join(SEP) : null }, true)} data-testid="older">
            Older runs →
          </button>
        )}
      </div>
    </section>
  );
}
