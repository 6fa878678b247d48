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
