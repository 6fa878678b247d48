/**
 * Assets: every asset with its latest version; choosing one (kept in the URL, `?key=`) shows its
 * versions, newest first, and the lineage graph of the version chosen (`?version=`, default the
 * latest): upstream, the runs and data it was made from; downstream, what depends on it.
 */
import { useData } from "./api.ts";
import { time } from "./format.ts";
import { LineageGraph } from "./LineageGraph.tsx";
import { Link, replaceQuery } from "./router.ts";
import type { AssetDetail, AssetSummary, AssetVersion, LineageGraph as Graph } from "./types.ts";

const short = (text: string) => (text.startsWith("sha256:") && text.length > 19 ? `${text.slice(0, 19)}…` : text);
const enc = encodeURIComponent;

function ProducedBy({ v }: { v: AssetVersion }) {
  if (v.runDeleted) return <span className="muted">run deleted</span>;
  if (v.taskRunId) return <Link to={`/task-runs/${enc(v.taskRunId)}`}>task run {v.taskRunId.slice(0, 8)}</Link>;
  if (v.flowRunId) return <Link to={`/runs/${enc(v.flowRunId)}`}>flow run {v.flowRunId.slice(0, 8)}</Link>;
  return <span className="muted">outside a run</span>;
}

function AssetView({ assetKey, version, direction }: { assetKey: string; version: string | null; direction: "upstream" | "downstream" }) {
  const detail = useData<AssetDetail>(`/assets/${enc(assetKey)}?limit=100`);
  const lineage = useData<Graph>(`/assets/${enc(assetKey)}/lineage?direction=${direction}&depth=5${version ? `&version=${enc(version)}` : ""}`);
  const chosen = version ?? detail.data?.versions[0]?.version ?? null;
  return (
    <section data-testid="asset-detail">
      <h2>{assetKey}</h2>
      {detail.error && <p className="error">{detail.error}</p>}
      <table className="runs">
        <thead>
          <tr>
            <th>Version</th>
            <th>Hash</th>
            <th>Rows</th>
            <th>Created</th>
            <th>Last materialised</th>
            <th>Produced by</th>
          </tr>
        </thead>
        <tbody>
          {detail.data?.versions.map((v) => (
            <tr key={v.id} data-testid="version-row" data-version={v.version} className={v.version === chosen ? "selected" : ""} onClick={() => replaceQuery({ version: v.version })} style={{ cursor: "pointer" }}>
              <td title={v.version}>{short(v.version)}</td>
              <td title={v.hash}>{short(v.hash)}</td>
              <td>{v.rows ?? ""}</td>
              <td>{time(v.createdAt)}</td>
              <td>{time(v.materializedAt)}</td>
              <td onClick={(e) => e.stopPropagation()}>
                <ProducedBy v={v} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {detail.data && detail.data.total > detail.data.versions.length && <p className="muted">The newest {detail.data.versions.length} of {detail.data.total} versions.</p>}
      <h3>
        Lineage of {chosen ? short(chosen) : "the latest version"}{" "}
        <span className="tabs">
          {(["upstream", "downstream"] as const).map((d) => (
            <button key={d} className={d === direction ? "active" : ""} onClick={() => replaceQuery({ direction: d === "upstream" ? null : d })} data-testid={`lineage-${d}`}>
              {d === "upstream" ? "Where it came from" : "What depends on it"}
            </button>
          ))}
        </span>
      </h3>
      {lineage.error && <p className="error">{lineage.error}</p>}
      {lineage.data && <LineageGraph graph={lineage.data} />}
    </section>
  );
}

export function AssetsPage({ url }: { url: URL }) {
  const assets = useData<{ items: AssetSummary[] }>("/assets");
  const selected = url.searchParams.get("key");
  const direction = url.searchParams.get("direction") === "downstream" ? "downstream" : "upstream";
  return (
    <div>
      <h1>Assets</h1>
      {assets.error && <p className="error">{assets.error}</p>}
      {assets.data && assets.data.items.length === 0 && (
        <p className="muted">
          No assets yet: declare <code>writes: [asset("dataset://name")]</code> on a task, or call <code>materialize()</code> in a run.
        </p>
      )}
      {assets.data && assets.data.items.length > 0 && (
        <table className="runs">
          <thead>
            <tr>
              <th>Asset</th>
              <th>Versions</th>
              <th>Latest</th>
              <th>Rows</th>
              <th>Last materialised</th>
            </tr>
          </thead>
          <tbody>
            {assets.data.items.map((a) => (
              <tr key={a.key} data-testid="asset-row" data-key={a.key} className={a.key === selected ? "selected" : ""} onClick={() => replaceQuery({ key: a.key, version: null })} style={{ cursor: "pointer" }}>
                <td>{a.key}</td>
                <td>{a.versions}</td>
                <td title={a.latest.version}>{short(a.latest.version)}</td>
                <td>{a.latest.rows ?? ""}</td>
                <td>{time(a.latest.materializedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && <AssetView key={`${selected}:${url.searchParams.get("version") ?? ""}:${direction}`} assetKey={selected} version={url.searchParams.get("version")} direction={direction} />}
    </div>
  );
}
