/**
 * The model registry: the models with their latest version and aliases; a model's page shows its
 * versions (metrics side by side, parameters, the run that trained each), where each alias
 * points, and the history of alias moves and refused promotions with who made them and why.
 */
import { useData } from "./api.ts";
import { time } from "./format.ts";
import { Link } from "./router.ts";

interface ModelSummary {
  name: string;
  latestVersion: number;
  updatedAt: number;
  aliases: Record<string, number>;
}

interface ModelVersion {
  version: number;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  description: string | null;
  flowRunId: string | null;
  taskRunId: string | null;
  experiment: string | null;
  sha256: string;
  size: number;
  source: string;
  createdAt: number;
  aliases: string[];
}

interface AliasMove {
  id: string;
  alias: string;
  kind: "promoted" | "rolled-back" | "refused";
  from: number | null;
  to: number | null;
  reason: string | null;
  undone: boolean;
  actor: { kind: string; id: string | null; name: string | null };
  flowRunId: string | null;
  at: number;
}

interface ModelDetail extends ModelSummary {
  versions: ModelVersion[];
  moves: AliasMove[];
}

const num = (value: number | undefined) => (value === undefined ? "" : Number.isInteger(value) ? String(value) : value.toPrecision(4));
const aliasList = (aliases: Record<string, number>) =>
  Object.entries(aliases)
    .map(([alias, v]) => `${alias} → v${v}`)
    .join(", ");
const modelPath = (name: string) => `/models/${encodeURIComponent(name)}`;

export function ModelsPage() {
  const models = useData<{ items: ModelSummary[] }>("/models");
  return (
    <div>
      <h1>Models</h1>
      <p className="muted">Registered models, most recently changed first. Choose one to see its versions and alias history.</p>
      {models.error && <p className="error">{models.error}</p>}
      {models.data && models.data.items.length === 0 && <p className="muted">No models yet: call registerModel(name, {"{ value, metrics }"}) in a flow.</p>}
      {models.data && models.data.items.length > 0 && (
        <table className="runs" data-testid="models">
          <thead>
            <tr>
              <th>Model</th>
              <th>Latest</th>
              <th>Aliases</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {models.data.items.map((m) => (
              <tr key={m.name} data-testid="model-row">
                <td>
                  <Link to={modelPath(m.name)}>
                    <b>{m.name}</b>
                  </Link>
                </td>
                <td>v{m.latestVersion}</td>
                <td>{aliasList(m.aliases)}</td>
                <td>{time(m.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function moveText(m: AliasMove): string {
  const from = m.from === null ? "unset" : `v${m.from}`;
  return m.kind === "refused" ? `v${m.to} refused (stays ${from})` : `${from} → v${m.to}`;
}

export function ModelPage({ name }: { name: string }) {
  const model = useData<ModelDetail>(`/models/${encodeURIComponent(name)}`);
  if (model.error) return <p className="error">{model.error}</p>;
  if (!model.data) return <p>Loading…</p>;
  const m = model.data;
  const metrics = [...new Set(m.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  return (
    <div>
      <p>
        <Link to="/models">Models</Link> /
      </p>
      <h1>{m.name}</h1>
      <p data-testid="model-aliases">{Object.keys(m.aliases).length ? aliasList(m.aliases) : "No alias yet: promote a version (promoteModel, baton model promote)."}</p>
      <h2>Versions</h2>
      <table className="runs" data-testid="model-versions">
        <thead>
          <tr>
            <th>Version</th>
            <th>Aliases</th>
            {metrics.map((k) => (
              <th key={k}>{k}</th>
            ))}
            <th>Parameters</th>
            <th>Training run</th>
            <th>Lineage</th>
            <th>Registered</th>
            <th>sha256</th>
          </tr>
        </thead>
        <tbody>
          {m.versions.map((v) => (
            <tr key={v.version} data-testid="version-row" data-version={v.version}>
              <td>v{v.version}</td>
              <td>{v.aliases.map((a) => <span key={a} className="chip">{a}</span>)}</td>
              {metrics.map((k) => (
                <td key={k}>{num(v.metrics[k])}</td>
              ))}
              <td className="muted">
                <code>{Object.keys(v.params).length ? JSON.stringify(v.params) : ""}</code>
              </td>
              <td>{v.flowRunId ? <Link to={`/runs/${encodeURIComponent(v.flowRunId)}`}>{v.experiment ?? v.flowRunId.slice(0, 8)}</Link> : <span className="muted">outside a run</span>}</td>
              {/* The version is version vN of the asset model://NAME: its graph shows the data it was made from. */}
              <td>
                <Link to={`/assets?key=${encodeURIComponent(`model://${name}`)}&version=v${v.version}`}>data it came from</Link>
              </td>
              <td>{time(v.createdAt)}</td>
              <td className="muted" title={v.sha256}>
                {v.sha256.slice(0, 12)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Alias history</h2>
      {m.moves.length === 0 ? (
        <p className="muted">No alias has moved yet.</p>
      ) : (
        <table className="runs" data-testid="model-moves">
          <thead>
            <tr>
              <th>When</th>
              <th>Alias</th>
              <th>Kind</th>
              <th>Move</th>
              <th>By</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {m.moves.map((move) => (
              <tr key={move.id} data-testid="move-row" data-kind={move.kind}>
                <td>{time(move.at)}</td>
                <td>{move.alias}</td>
                <td>
                  {move.kind}
                  {move.undone ? " (undone)" : ""}
                </td>
                <td>{moveText(move)}</td>
                <td>{move.flowRunId ? <Link to={`/runs/${encodeURIComponent(move.flowRunId)}`}>{move.actor.name ?? move.actor.kind}</Link> : [move.actor.kind, move.actor.name].filter(Boolean).join(" ")}</td>
                <td>{move.reason ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
