/**
 * The audit log (admins): who did what, when, from where and with what outcome — every mutating
 * API call, sign-in and sign-out, and the runs schedules and automations started. Filters live
 * in the URL; "Verify chain" checks the log's hash chain on the server and names the first row
 * that was edited or deleted.
 */
import { useEffect, useState } from "react";
import { get, useData } from "./api.ts";
import { time } from "./format.ts";
import { Link, replaceQuery } from "./router.ts";
import type { AuditEntry, AuditPage as AuditListPage, AuditVerification } from "../../src/schemas/audit.ts";

const SINCE: readonly (readonly [string, string])[] = [
  ["1h", "last hour"],
  ["1d", "last day"],
  ["7d", "last 7 days"],
  ["30d", "last 30 days"],
  ["all", "all time"],
];
const SINCE_MS: Record<string, number> = { "1h": 3_600_000, "1d": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000 };
const OUTCOMES = ["", "success", "denied", "refused", "error"] as const;
const FIELDS = ["actor", "action", "target"] as const;

/**
 * A target: an id shortened to its ends (UUIDv7s made together share their first digits), linked
 * to the run's page (an id of something else opens the run page's "not found"); a name as it is.
 */
function Target({ id }: { id: string }) {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-/.test(id)) return <span>{id}</span>;
  return (
    <Link to={`/runs/${encodeURIComponent(id)}`} title={id}>
      {id.slice(0, 4)}…{id.slice(-6)}
    </Link>
  );
}

export function AuditPage({ url }: { url: URL }) {
  const since = url.searchParams.get("since") ?? "1d";
  const outcome = url.searchParams.get("outcome") ?? "";
  const filters = Object.fromEntries(FIELDS.map((f) => [f, url.searchParams.get(f) ?? ""])) as Record<(typeof FIELDS)[number], string>;
  const [texts, setTexts] = useState(filters);
  const [older, setOlder] = useState<AuditEntry[]>([]);
  const [before, setBefore] = useState<number | null>(null);
  const [verification, setVerification] = useState<AuditVerification | string | null>(null);
  // The moment the filters were applied: the "since" window does not slide under the pager.
  const [now] = useState(() => Date.now());
  const query = new URLSearchParams({ limit: "100" });
  if (SINCE_MS[since]) query.set("since", String(now - SINCE_MS[since]));
  for (const f of FIELDS) if (filters[f]) query.set(f, filters[f]);
  if (outcome) query.set("outcome", outcome);
  const { data, error } = useData<AuditListPage>(`/audit?${query}`);
  // Other filters: the pages loaded further back belonged to the old ones.
  useEffect(() => {
    setOlder([]);
    setBefore(null);
  }, [query.toString()]);
  const items = [...(data?.items ?? []), ...older];
  const next = older.length ? before : (data?.nextBefore ?? null);
  const loadOlder = async () => {
    if (next === null) return;
    const page = await get<AuditListPage>(`/audit?${query}&before=${next}`);
    setOlder((o) => [...o, ...page.items]);
    setBefore(page.nextBefore);
  };
  const verify = () => {
    setVerification(null);
    get<AuditVerification>("/audit/verify").then(setVerification, (e: Error) => setVerification(e.message));
  };
  return (
    <section>
      <div className="toolbar">
        <h1>Audit log</h1>
        <form
          className="filters"
          onSubmit={(e) => {
            e.preventDefault();
            replaceQuery(Object.fromEntries(FIELDS.map((f) => [f, texts[f].trim() || null])));
          }}
        >
          <select aria-label="since" value={since} onChange={(e) => replaceQuery({ since: e.target.value === "1d" ? null : e.target.value })}>
            {SINCE.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          {FIELDS.map((f) => (
            <input key={f} aria-label={`${f} filter`} placeholder={f === "actor" ? "actor id or name" : f === "action" ? "action: sign-in, /api/deployments" : "target id"} value={texts[f]} onChange={(e) => setTexts({ ...texts, [f]: e.target.value })} size={18} />
          ))}
          <select aria-label="outcome" value={outcome} onChange={(e) => replaceQuery({ outcome: e.target.value || null })}>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {o || "any outcome"}
              </option>
            ))}
          </select>
          <button type="submit">Filter</button>
        </form>
        <div className="actions">
          <button onClick={verify} data-testid="audit-verify">
            Verify chain
          </button>
        </div>
      </div>
      {verification !== null && (
        <p className={typeof verification === "object" && verification.ok ? "" : "error"} data-testid="audit-verification">
          {typeof verification === "string"
            ? verification
            : verification.ok
              ? `The chain verifies: ${verification.checked} rows${verification.head ? `, head row ${verification.head.seq} (${verification.head.hash.slice(0, 16)}…)` : ""}.`
              : `The chain is broken at row ${verification.broken!.seq}: ${verification.broken!.reason}`}
        </p>
      )}
      {error && <p className="error">{error}</p>}
      {data && items.length === 0 && <p className="empty">No audit entries match these filters.</p>}
      {items.length > 0 && (
        <table className="runs" data-testid="audit-entries">
          <thead>
            <tr>
              <th>#</th>
              <th>time</th>
              <th>actor</th>
              <th>action</th>
              <th>outcome</th>
              <th>targets</th>
              <th>client</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.seq} data-seq={e.seq} title={`request ${e.requestId ?? "—"}\nhash ${e.hash}\nprevious ${e.prevHash}${e.detail ? `\n${JSON.stringify(e.detail)}` : ""}`}>
                <td className="muted">{e.seq}</td>
                <td>{time(e.at)}</td>
                <td>
                  {e.actor.name} <span className="muted">{e.actor.role ?? e.actor.kind}</span>
                </td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td className={e.outcome === "success" ? "" : "error"}>
                  {e.outcome}
                  {e.status === null ? "" : ` ${e.status}`}
                </td>
                <td>
                  {e.targets.map((t, i) => (
                    <span key={t}>
                      {i > 0 && ", "}
                      <Target id={t} />
                    </span>
                  ))}
                </td>
                <td className="muted">{e.clientIp ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next !== null && (
        <button className="more" onClick={() => void loadOlder()}>
          Older entries
        </button>
      )}
    </section>
  );
}
