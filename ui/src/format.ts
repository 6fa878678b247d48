export function duration(start: number | null, end: number | null): string {
  if (start == null) return "–";
  const ms = (end ?? Date.now()) - start;
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function time(ms: number | null): string {
  return ms == null ? "–" : new Date(ms).toLocaleString();
}

export const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARNING", 50: "ERROR", 60: "CRITICAL" };

/** What a run used, as the run and task pages show it (src/core/resources.ts says what each figure is). */
export interface ResourceFigures {
  wallMs: number;
  cpuUserMs: number | null;
  cpuSystemMs: number | null;
  peakMemoryBytes: number | null;
  retriedWallMs: number;
}

const ms = (n: number): string => (n < 1000 ? `${n} ms` : n < 60_000 ? `${(n / 1000).toFixed(2)} s` : `${Math.floor(n / 60_000)} min ${Math.round((n % 60_000) / 1000)} s`);

/** "1.18 s (user 1.10 s, system 80 ms) over 1.20 s of wall time", or "–". */
export function cpuText(r: ResourceFigures | null | undefined): string {
  if (!r || (r.cpuUserMs == null && r.cpuSystemMs == null)) return "–";
  const user = r.cpuUserMs ?? 0;
  const system = r.cpuSystemMs ?? 0;
  return `${ms(user + system)} (user ${ms(user)}, system ${r.cpuSystemMs == null ? "not measured" : ms(system)}) over ${ms(r.wallMs)} of wall time${r.retriedWallMs > 0 ? `; ${ms(r.retriedWallMs)} in retried attempts` : ""}`;
}

/** "312 MB", or "–". */
export function memoryText(r: ResourceFigures | null | undefined): string {
  if (r?.peakMemoryBytes == null) return "–";
  const mb = r.peakMemoryBytes / (1024 * 1024);
  return mb >= 1024 ? `${(mb / 1024).toFixed(2)} GB` : `${mb.toFixed(mb < 10 ? 1 : 0)} MB`;
}
