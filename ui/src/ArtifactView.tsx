/**
 * One artifact, drawn by its type: markdown (sanitised: markdown.ts), a table sortable by any
 * column, a progress bar, an image, a link. Used by a run's page and the Artifacts page. An
 * image's bytes are shown with <img> from the server's sandboxed content URL: an SVG's scripts
 * never run in an <img>, and never in the dashboard's document.
 */
import { useMemo, useState } from "react";
import { time } from "./format.ts";
import { markdownHtml } from "./markdown.ts";

export interface Artifact {
  id: string;
  key: string | null;
  type: string;
  data: unknown;
  description: string | null;
  flowRunId: string;
  createdAt: number;
  updatedAt?: number | null;
}

function MarkdownArtifact({ text }: { text: string }) {
  const html = useMemo(() => markdownHtml(text), [text]);
  return <div className="markdown" data-testid="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}

const cell = (v: unknown) => (v !== null && typeof v === "object" ? JSON.stringify(v) : String(v ?? ""));

/** Numbers as numbers, the rest as text; empty cells last either way. */
function compareCells(a: unknown, b: unknown): number {
  if (a === undefined || a === null) return b === undefined || b === null ? 0 : 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return cell(a).localeCompare(cell(b), undefined, { numeric: true });
}

function ArtifactTable({ rows }: { rows: Record<string, unknown>[] }) {
  const [sort, setSort] = useState<{ column: string; descending: boolean } | null>(null);
  // Every row's columns, in first-seen order: appended rows may bring new ones.
  const columns = useMemo(() => [...new Set(rows.flatMap((r) => Object.keys(r)))], [rows]);
  const sorted = useMemo(() => {
    if (!sort) return rows;
    const out = rows.slice().sort((a, b) => compareCells(a[sort.column], b[sort.column]));
    return sort.descending ? out.reverse() : out;
  }, [rows, sort]);
  const toggle = (column: string) => setSort((s) => (s?.column === column ? { column, descending: !s.descending } : { column, descending: false }));
  return (
    <table className="runs artifact-table" data-testid="artifact-table">
      <thead>
        <tr>
          {columns.map((k) => (
            <th key={k} onClick={() => toggle(k)} aria-sort={sort?.column === k ? (sort.descending ? "descending" : "ascending") : "none"} className="sortable">
              {k} {sort?.column === k ? (sort.descending ? "▼" : "▲") : ""}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {sorted.slice(0, 500).map((row, i) => (
          <tr key={i}>
            {columns.map((k) => (
              <td key={k}>{cell(row[k])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ProgressBar({ value }: { value: number }) {
  const pct = Math.max(0, Math.min(100, value));
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} data-testid="progress">
      <div className="progress-fill" style={{ width: `${pct}%` }} />
      <span className="progress-label">{Math.round(pct * 10) / 10}%</span>
    </div>
  );
}

/** Only http(s) links are drawn as links: the server refuses others, and old rows are not trusted. */
const safeUrl = (url: unknown) => (typeof url === "string" && /^https?:\/\//i.test(url) ? url : null);

export function ArtifactBody({ artifact: a }: { artifact: Artifact }) {
  if (a.type === "markdown") return <MarkdownArtifact text={String(a.data)} />;
  if (a.type === "table" && Array.isArray(a.data)) return <ArtifactTable rows={a.data as Record<string, unknown>[]} />;
  if (a.type === "progress" && typeof a.data === "number") return <ProgressBar value={a.data} />;
  if (a.type === "image") {
    const url = safeUrl((a.data as { url?: unknown } | null)?.url);
    const src = url ?? `/api/artifacts/${encodeURIComponent(a.id)}/content`;
    return <img className="artifact-image" src={src} alt={a.description ?? a.key ?? "image artifact"} data-testid="artifact-image" referrerPolicy="no-referrer" />;
  }
  if (a.type === "link") {
    const d = (a.data ?? {}) as { url?: unknown; title?: unknown };
    const url = safeUrl(d.url);
    const title = typeof d.title === "string" ? d.title : String(d.url ?? "");
    return <p>{url ? <a href={url} target="_blank" rel="noopener noreferrer">{title}</a> : title}</p>;
  }
  return <pre>{JSON.stringify(a.data, null, 2)}</pre>;
}

/** An artifact in a card: its key or type, description, times and body. */
export function ArtifactCard({ artifact: a }: { artifact: Artifact }) {
  return (
    <div className="card" data-artifact={a.key ?? a.id} data-type={a.type}>
      <b>{a.key ?? a.type}</b> {a.description && <span className="muted">— {a.description}</span>}{" "}
      <span className="muted small">
        {a.type} · created {time(a.createdAt)}
        {a.updatedAt ? ` · updated ${time(a.updatedAt)}` : ""}
      </span>
      <ArtifactBody artifact={a} />
    </div>
  );
}
