/**
 * Artifacts across runs: the latest artifact of each key, with its run and time; choosing a key
 * (kept in the URL, `?key=`) shows its latest version drawn in full and its history, newest
 * first, a page at a time. Updates arrive live (the server announces each artifact write).
 */
import { useEffect, useState } from "react";
import { get, useData } from "./api.ts";
import { ArtifactCard, type Artifact } from "./ArtifactView.tsx";
import { time } from "./format.ts";
import { useResourceReload } from "./live.ts";
import { Link, replaceQuery } from "./router.ts";

interface ArtifactWithRun extends Artifact {
  flowRunName: string | null;
  flowName: string | null;
}

const HISTORY_PAGE = 20;

function RunLink({ a }: { a: ArtifactWithRun }) {
  return (
    <Link to={`/runs/${encodeURIComponent(a.flowRunId)}`} onClick={(e) => e.stopPropagation()}>
      {a.flowName ? `${a.flowName} / ` : ""}
      {a.flowRunName ?? a.flowRunId.slice(0, 8)}
    </Link>
  );
}

function History({ artifactKey, reload }: { artifactKey: string; reload: number }) {
  const [pages, setPages] = useState<{ items: ArtifactWithRun[]; nextCursor: string | null; error: string | null }>({ items: [], nextCursor: null, error: null });
  const load = async (cursor: string | null) => {
    try {
      const page = await get<{ items: ArtifactWithRun[]; nextCursor: string | null }>(
        `/artifacts/${encodeURIComponent(artifactKey)}/history?limit=${HISTORY_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      setPages((p) => ({ items: cursor ? [...p.items, ...page.items] : page.items, nextCursor: page.nextCursor, error: null }));
    } catch (e) {
      setPages((p) => ({ ...p, error: (e as Error).message }));
    }
  };
  useEffect(() => {
    void load(null);
    // The first page again on a key change or a live update.
  }, [artifactKey, reload]);
  const [latest, ...older] = pages.items;
  return (
    <section data-testid="artifact-history">
      {pages.error && <p className="error">{pages.error}</p>}
      {latest && <ArtifactCard artifact={latest} />}
      <h2>History of {artifactKey}</h2>
      <table className="runs">
        <thead>
          <tr>
            <th>Created</th>
            <th>Updated</th>
            <th>Run</th>
            <th>Type</th>
          </tr>
        </thead>
        <tbody>
          {pages.items.map((a) => (
            <tr key={a.id} data-testid="history-row">
              <td>{time(a.createdAt)}</td>
              <td>{time(a.updatedAt ?? null)}</td>
              <td>
                <RunLink a={a} />
              </td>
              <td>{a.type}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pages.nextCursor && (
        <button onClick={() => void load(pages.nextCursor)} data-testid="history-more">
          Older versions
        </button>
      )}
      {older.length > 0 && (
        <details>
          <summary>Older versions drawn ({older.length})</summary>
          {older.map((a) => (
            <ArtifactCard key={a.id} artifact={a} />
          ))}
        </details>
      )}
    </section>
  );
}

export function ArtifactsPage({ url }: { url: URL }) {
  const reload = useResourceReload(["artifacts"]);
  const selected = url.searchParams.get("key");
  const latest = useData<{ items: ArtifactWithRun[] }>("/artifacts?latest=true&limit=500", reload);
  return (
    <div>
      <h1>Artifacts</h1>
      <p className="muted">The latest artifact of each key, across runs. Choose one to see it and its history.</p>
      {latest.error && <p className="error">{latest.error}</p>}
      {latest.data && latest.data.items.length === 0 && <p className="muted">No artifact has a key yet: give one with createMarkdownArtifact(text, {"{ key }"}) and the like.</p>}
      {latest.data && latest.data.items.length > 0 && (
        <table className="runs" data-testid="artifacts-latest">
          <thead>
            <tr>
              <th>Key</th>
              <th>Type</th>
              <th>Description</th>
              <th>Run</th>
              <th>Created</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {latest.data.items.map((a) => (
              <tr key={a.id} className={a.key === selected ? "selected" : ""} onClick={() => replaceQuery({ key: a.key })} data-testid="artifact-row" data-key={a.key ?? ""}>
                <td>
                  <b>{a.key}</b>
                </td>
                <td>{a.type}</td>
                <td className="muted">{a.description ?? ""}</td>
                <td>
                  <RunLink a={a} />
                </td>
                <td>{time(a.createdAt)}</td>
                <td>{time(a.updatedAt ?? null)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && <History key={selected} artifactKey={selected} reload={reload} />}
    </div>
  );
}
