/**
 * Usage: compute hours, estimated cost, waste and failFast's savings of the runs that ended in a
 * window (GET /api/usage), per UTC day — a bar per day, its wasted share in the failure colour —
 * and per flow, deployment, pool or tag. Window and grouping live in the URL.
 */
import { useData } from "./api.ts";
import { replaceQuery } from "./router.ts";
import type { UsageReport, UsageTotals } from "../../src/schemas/usage.ts";

const WINDOWS: readonly (readonly [string, string])[] = [
  ["1d", "last day"],
  ["7d", "last 7 days"],
  ["30d", "last 30 days"],
  ["90d", "last 90 days"],
];
const GROUPS = ["flow", "deployment", "pool", "tag"] as const;

const hours = (h: number): string => (h === 0 ? "0" : h < 0.01 ? h.toFixed(4) : h.toFixed(2));
const money = (costs: Record<string, number>): string =>
  Object.entries(costs)
    .map(([currency, amount]) => `${amount.toFixed(2)} ${currency}`)
    .join(", ") || "–";
const byState = (t: UsageTotals): string =>
  Object.entries(t.byState)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${n}`)
    .join(", ");

function Cells({ t }: { t: UsageTotals }) {
  return (
    <>
      <td>{t.runs}</td>
      <td className="muted">{byState(t)}</td>
      <td>{hours(t.wallHours)}</td>
      <td>{hours(t.cpuHours)}</td>
      <td data-testid="usage-cost">{money(t.cost)}</td>
      <td>
        {hours(t.wastedWallHours)} h{Object.keys(t.wastedCost).length > 0 && <span className="muted"> · {money(t.wastedCost)}</span>}
      </td>
      <td title="an estimate: the mean wall time of Completed runs of the same flow and task key, less what the cancelled runs ran">
        {t.failFastCancelled > 0 ? `~${hours(t.savedWallHoursEstimate)} h (${t.failFastCancelled} cancelled)` : "–"}
      </td>
    </>
  );
}

const HEAD = ["Runs", "By state", "Wall h", "CPU h", "Cost", "Wasted", "Saved by failFast (est.)"];

export function UsagePage({ url }: { url: URL }) {
  const since = url.searchParams.get("since") ?? "7d";
  const by = (GROUPS as readonly string[]).includes(url.searchParams.get("by") ?? "") ? url.searchParams.get("by")! : "flow";
  const { data, error } = useData<UsageReport>(`/usage?group_by=${by}&since=${encodeURIComponent(since)}`);
  const peak = Math.max(1e-9, ...(data?.days ?? []).map((d) => d.wallHours));
  return (
    <section>
      <div className="toolbar">
        <h1>Usage</h1>
        <select aria-label="since" value={since} onChange={(e) => replaceQuery({ since: e.target.value === "7d" ? null : e.target.value })}>
          {WINDOWS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
        <select aria-label="group by" value={by} onChange={(e) => replaceQuery({ by: e.target.value === "flow" ? null : e.target.value })}>
          {GROUPS.map((g) => (
            <option key={g} value={g}>
              by {g}
            </option>
          ))}
        </select>
      </div>
      {error && <p className="error">{error}</p>}
      {!data && !error && <p>Loading…</p>}
      {data && (
        <>
          <p className="muted" data-testid="usage-total">
            {data.total.runs} runs ended · {hours(data.total.wallHours)} wall h · {hours(data.total.cpuHours)} CPU h · cost {money(data.total.cost)} · wasted {hours(data.total.wastedWallHours)} h
            {data.total.failFastCancelled > 0 && ` · failFast saved ~${hours(data.total.savedWallHoursEstimate)} h (estimate)`}
          </p>
          <h2>Per day (UTC)</h2>
          {data.days.length === 0 ? (
            <p className="muted">No runs ended in this window.</p>
          ) : (
            <table className="runs usage" data-testid="usage-days">
              <thead>
                <tr>
                  <th>Day</th>
                  <th>Wall hours</th>
                  {HEAD.map((h) => (
                    <th key={h}>{h}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.days.map((d) => (
                  <tr key={d.day}>
                    <td>{d.day}</td>
                    <td>
                      <div className="usage-bar" title={`${hours(d.wallHours)} h, ${hours(d.wastedWallHours)} h wasted`}>
                        <div style={{ width: `${(100 * d.wallHours) / peak}%` }}>
                          <div className="usage-waste" style={{ width: `${d.wallHours > 0 ? Math.min(100, (100 * d.wastedWallHours) / d.wallHours) : 0}%` }} />
                        </div>
                      </div>
                    </td>
                    <Cells t={d} />
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Per {by}</h2>
          <table className="runs usage" data-testid="usage-groups">
            <thead>
              <tr>
                <th>{by[0]!.toUpperCase() + by.slice(1)}</th>
                {HEAD.map((h) => (
                  <th key={h}>{h}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {data.groups.map((g) => (
                <tr key={String(g.key)} data-testid="usage-group">
                  <td>{g.key ?? <span className="muted">(none)</span>}</td>
                  <Cells t={g} />
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted">
            Compute is each flow run&apos;s process: wall and CPU time (its tasks&apos; included). Cost uses its work pool&apos;s prices. Waste: Failed and Crashed runs, and attempts that failed and were retried. Saved by failFast is an estimate.
          </p>
        </>
      )}
    </section>
  );
}
