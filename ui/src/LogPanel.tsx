/**
 * Live logs of a flow run (or of one task run): level filter and search (both in the URL),
 * follow (keep the newest line in view), a virtualised list, and paging.
 *
 * Nothing is lost or shown twice between the first fetch and the live stream: the panel
 * subscribes first and fetches once the stream is connected (see live.ts), then merges both
 * by log id. The first fetch reads the oldest PAGE lines; if there were more, a "load more"
 * row marks the gap between them and the live lines, and fetches the next page into it. After
 * a reconnection the panel fetches what it missed while disconnected.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { get } from "./api.ts";
import { useLiveEvents } from "./live.ts";
import { LEVELS } from "./format.ts";
import { replaceQuery } from "./router.ts";
import type { LogLine } from "./types.ts";
import { VirtualRows, type VirtualRowsHandle } from "./VirtualRows.tsx";

export const LOG_PAGE = 5000;
const LINE_H = 18;

/** The log lines loaded so far, in id order, and where the unloaded ones are. */
class LogBuffer {
  lines: LogLine[] = [];
  private ids = new Set<number>();
  /** Logs with ids between this one and the next loaded line are not loaded yet. */
  gapAfter: number | null = null;
  started = false;

  add(lines: readonly LogLine[]): void {
    let sorted = true;
    for (const l of lines) {
      if (this.ids.has(l.id)) continue;
      this.ids.add(l.id);
      if (this.lines.length && this.lines[this.lines.length - 1]!.id > l.id) sorted = false;
      this.lines.push(l);
    }
    if (!sorted) this.lines.sort((a, b) => a.id - b.id);
    this.lines = this.lines.slice(); // a new array: memoised views recompute
  }

  get lastId(): number {
    return this.lines.at(-1)?.id ?? 0;
  }

  /** The first loaded id after `id`, if any. */
  nextAfter(id: number): number | null {
    let lo = 0;
    let hi = this.lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lines[mid]!.id <= id) lo = mid + 1;
      else hi = mid;
    }
    return this.lines[lo]?.id ?? null;
  }
}

type Row = LogLine | { gap: true };

export function LogPanel({ flowRunId, taskRunId, url, names }: { flowRunId: string; taskRunId?: string; url: URL; names?: { get(taskRunId: string): string | undefined } }) {
  const level = Number(url.searchParams.get("level") ?? "20");
  const search = url.searchParams.get("q") ?? "";
  const [follow, setFollow] = useState(true);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const buffer = useRef(new LogBuffer());
  const list = useRef<VirtualRowsHandle>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const query = `/logs?flowRunId=${encodeURIComponent(flowRunId)}${taskRunId ? `&taskRunId=${encodeURIComponent(taskRunId)}` : ""}&limit=${LOG_PAGE}`;

  // Many lines a second re-render the panel about ten times a second, not once per line.
  const changed = useCallback(() => {
    if (!timer.current) timer.current = setTimeout(() => ((timer.current = null), setVersion((v) => v + 1)), 100);
  }, []);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);

  const fetchPage = async (afterId: number | null): Promise<LogLine[]> => (await get<{ items: LogLine[] }>(`${query}${afterId ? `&afterId=${afterId}` : ""}`)).items;

  useLiveEvents(
    flowRunId,
    (event) => {
      if (event.kind !== "log" || (taskRunId && event.taskRunId !== taskRunId)) return;
      buffer.current.add([event]);
      changed();
    },
    () => {
      const b = buffer.current;
      const first = !b.started;
      b.started = true;
      void (async () => {
        try {
          if (first) {
            const page = await fetchPage(null);
            b.add(page);
            if (page.length === LOG_PAGE) b.gapAfter = page.at(-1)!.id;
          } else if (b.gapAfter === null) {
            // Reconnected: fetch what was written while the stream was down.
            for (let i = 0; i < 4; i++) {
              const page = await fetchPage(b.lastId);
              b.add(page);
              if (page.length < LOG_PAGE) break;
            }
          }
          setError(null);
        } catch (e) {
          setError((e as Error).message);
        }
        changed();
      })();
    },
  );

  const loadMore = async () => {
    const b = buffer.current;
    if (b.gapAfter === null) return;
    setLoading(true);
    try {
      const next = b.nextAfter(b.gapAfter);
      const page = await fetchPage(b.gapAfter);
      b.add(page);
      const last = page.at(-1)?.id ?? 0;
      b.gapAfter = page.length === LOG_PAGE && (next === null || last < next) ? last : null;
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
      changed();
    }
  };

  const lines = buffer.current.lines;
  const gapAfter = buffer.current.gapAfter;
  const rows = useMemo(() => {
    const needle = search.toLowerCase();
    const out: Row[] = [];
    let gapShown = gapAfter === null;
    for (const l of lines) {
      if (!gapShown && l.id > gapAfter!) {
        out.push({ gap: true });
        gapShown = true;
      }
      if (l.level >= level && (!needle || l.message.toLowerCase().includes(needle))) out.push(l);
    }
    if (!gapShown) out.push({ gap: true });
    return out;
    // `version` stands for the buffer's contents
  }, [lines, gapAfter, level, search, version]);

  useEffect(() => {
    if (follow) list.current?.scrollToEnd();
  }, [rows, follow]);

  const heightOf = useCallback((r: Row) => ("gap" in r ? 28 : LINE_H * (1 + countNewlines(r.message))), []);
  const source = (l: LogLine) => (l.taskRunId ? (taskRunId ? "" : `${names?.get(l.taskRunId) ?? "task"} - `) : "flow - ");

  return (
    <div className="log-panel">
      <div className="toolbar">
        <select value={level} onChange={(e) => replaceQuery({ level: e.target.value === "20" ? null : e.target.value })} aria-label="log level">
          {[10, 20, 30, 40, 50].map((l) => (
            <option key={l} value={l}>
              {LEVELS[l]} and above
            </option>
          ))}
        </select>
        <input placeholder="search" value={search} onChange={(e) => replaceQuery({ q: e.target.value })} aria-label="search logs" />
        <label>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} aria-label="follow logs" /> follow
        </label>
        <span className="muted" data-testid="log-count">
          {lines.length.toLocaleString("en")} lines loaded{gapAfter !== null ? ", more to load" : ""}
        </span>
      </div>
      {error && <p className="error">{error}</p>}
      {rows.length === 0 ? (
        <pre className="logs" data-testid="logs">
          {lines.length ? "No lines match." : "No logs."}
        </pre>
      ) : (
        <VirtualRows
          ref={list}
          items={rows}
          rowHeight={LINE_H}
          heightOf={heightOf}
          height={360}
          className="logs"
          testId="logs"
          onScroll={() => {
            // Scrolling up stops following; scrolling back to the end follows again.
            const atEnd = list.current?.atEnd() ?? true;
            if (atEnd !== follow) setFollow(atEnd);
          }}
          render={(r) =>
            "gap" in r ? (
              <button className="log-gap" onClick={() => void loadMore()} disabled={loading} data-testid="load-more-logs">
                {loading ? "Loading…" : `Load the next ${LOG_PAGE.toLocaleString("en")} lines`}
              </button>
            ) : (
              <div className={`log-line level-${r.level}`} data-log-id={r.id}>
                {new Date(r.timestamp).toISOString().slice(11, 23)} {(LEVELS[r.level] ?? String(r.level)).padEnd(8)} {source(r)}
                {r.message}
              </div>
            )
          }
        />
      )}
    </div>
  );
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}
