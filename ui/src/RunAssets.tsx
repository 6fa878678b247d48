/** The asset versions a flow run read and wrote, each linked to its asset's page (nothing when it touched none). */
import { useData } from "./api.ts";
import { Link } from "./router.ts";
import type { RunAssets as Uses } from "./types.ts";

const short = (text: string) => (text.startsWith("sha256:") && text.length > 19 ? `${text.slice(0, 19)}…` : text);

export function RunAssets({ flowRunId }: { flowRunId: string }) {
  const { data } = useData<Uses>(`/flow-runs/${encodeURIComponent(flowRunId)}/assets`);
  if (!data || (data.read.length === 0 && data.written.length === 0)) return null;
  const rows = [...data.read.map((u) => ({ ...u, kind: "read" })), ...data.written.map((u) => ({ ...u, kind: "wrote" }))];
  return (
    <>
      <h2>Assets</h2>
      <table className="runs" data-testid="run-assets">
        <thead>
          <tr>
            <th>Asset</th>
            <th>Version</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {rows.map((u) => (
            <tr key={`${u.kind}:${u.version.id}:${u.taskRunId ?? ""}`} data-testid="run-asset" data-kind={u.kind}>
              <td>
                <Link to={`/assets?key=${encodeURIComponent(u.version.key)}&version=${encodeURIComponent(u.version.version)}`}>{u.version.key}</Link>
              </td>
              <td title={u.version.hash}>{short(u.version.version)}</td>
              <td>{u.kind}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
