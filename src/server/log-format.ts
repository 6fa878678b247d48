/**
 * `baton server start --log-format pretty`: pino's JSON lines as one readable line each
 * (`14:02:11.532 INFO  POST /api/deployments 201 4 ms`), without a worker-thread transport or
 * another package. Fields beyond the message follow as key=value; an error's stack goes on the
 * next lines.
 */
const LEVEL_NAMES: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
/** Fields every line has, or that the request line's message already says. */
const OMITTED = new Set(["level", "time", "pid", "hostname", "msg", "reqId", "v", "method", "url", "status", "ms"]);

function fieldText(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

/** One pino JSON line as a readable line; a line that is not JSON is returned as it is. */
export function prettyLogLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.replace(/\n$/, "");
  }
  const time = typeof entry.time === "number" ? new Date(entry.time).toISOString().slice(11, 23) : "";
  const level = (LEVEL_NAMES[entry.level as number] ?? String(entry.level)).padEnd(5);
  const err = entry.err as { message?: string; stack?: string } | undefined;
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED.has(key) && key !== "err")
    .map(([key, value]) => `${key}=${fieldText(value)}`);
  const msg = String(entry.msg ?? err?.message ?? "");
  return `${time} ${level} ${msg}${fields.length ? `  ${fields.join(" ")}` : ""}${err?.stack ? `\n${err.stack}` : ""}`;
}

/** A destination for pino (Fastify's `logger.stream`) writing pretty lines to `out`. */
export function prettyLogStream(out: NodeJS.WritableStream = process.stdout): { write(chunk: string): void } {
  return { write: (chunk) => void out.write(`${prettyLogLine(chunk)}\n`) };
}
