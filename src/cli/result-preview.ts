/**
 * What `inspect` shows of a run's result and artifacts: a preview cut at a stated length (the
 * cut is said, with how to see all of it), never a silent truncation.
 */
import { deserialize } from "../core/serializer.ts";
import { loadSettings } from "../config/settings.ts";
import { ResultStore } from "../engine/result-store.ts";
import { databaseResultStorage, remoteResultStorage } from "../config/result-storage.ts";
import { KyselyStore } from "../store/kysely-store.ts";
import { RemoteStore } from "../client/remote-store.ts";
import type { Artifact, RunStore } from "../store/types.ts";
import { jsonReplacer } from "./format.ts";

/** Characters of a result shown by `inspect`. */
export const RESULT_PREVIEW_CHARS = 2000;

/** `value` as indented JSON, arrays of scalars on one line (a confusion matrix stays readable). */
export function jsonText(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value, jsonReplacer, 2) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.replace(/\[\s*((?:-?[\d.e+-]+|"[^"\n]*"|true|false|null)(?:,\s*(?:-?[\d.e+-]+|"[^"\n]*"|true|false|null))*)\s*\]/g, (_m, items: string) => `[${items.replace(/\s*\n\s*/g, " ")}]`);
}

/** `text` cut to `max` characters, saying how much was left out and where to see it. */
export function cut(text: string, max: number, whereAll: string): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…\n(truncated: ${(text.length - max).toLocaleString("en")} more characters; ${whereAll})`;
}

/**
 * A result's value: inline ones decoded, large ones read from the result storage BATON_RESULTS_URL
 * names (through the API: the server's with `db`, the object store with `s3://`).
 */
export async function readResult(store: Pick<RunStore, "getResult" | "dialect">, resultId: string): Promise<{ value: unknown } | { unavailable: string }> {
  const record = await store.getResult(resultId);
  if (!record) return { unavailable: `result ${resultId} is missing` };
  if (record.value != null) return { value: deserialize(record.value) };
  const settings = loadSettings();
  const storage =
    store instanceof KyselyStore ? databaseResultStorage(settings, store, settings.resultsDir.value) : store instanceof RemoteStore ? remoteResultStorage(settings, store.api) : null;
  if (!storage?.blobs) return { unavailable: `${record.size.toLocaleString("en")} bytes in the server's result storage (set BATON_RESULTS_URL as the server's to read it here)` };
  try {
    return { value: await new ResultStore(store, storage.blobs, settings.inlineResultBytes.value, storage.legacy).decode(record) };
  } catch (error) {
    return { unavailable: (error as Error).message };
  }
}

/** A value as `inspect` and `run` show it, cut at RESULT_PREVIEW_CHARS; `wholeWith` is the command that prints all of it. */
export function previewValue(value: unknown, wholeWith: string): string {
  return cut(jsonText(value), RESULT_PREVIEW_CHARS, `the whole result: ${wholeWith}`);
}

/** The Result section of `inspect`: a preview, or why the value cannot be shown here. */
export function resultSection(result: { value: unknown } | { unavailable: string }, wholeWith: string): string {
  return `\nResult${"value" in result ? `\n${previewValue(result.value, wholeWith)}` : `: ${result.unavailable}`}`;
}

/** One line per artifact: its key or type, and a short view of its data. */
export function artifactLine(a: Artifact): string {
  const data = a.data as Record<string, unknown> | unknown[] | string | number | null;
  let view: string;
  if (a.type === "markdown") view = String(data).split("\n").find((l) => l.trim())?.trim() ?? "";
  else if (a.type === "table") view = `${Array.isArray(data) ? data.length : 0} rows`;
  else if (a.type === "link") view = String((data as { url?: string })?.url ?? "");
  else if (a.type === "progress") view = `${String(data)}%`;
  else if (a.type === "image") view = String((data as { url?: string; mimeType?: string })?.url ?? (data as { mimeType?: string })?.mimeType ?? "image");
  else view = JSON.stringify(data);
  const name = a.key ?? a.id;
  return `${a.type.padEnd(8)} ${name}${a.description ? ` - ${a.description}` : ""}: ${view.length > 100 ? `${view.slice(0, 99)}…` : view}`;
}
