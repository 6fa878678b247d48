/**
 * Finds the flow to run in a user's module. The module is imported under the hooks of
 * flow-loader.ts (tsx, then engine/flow-module-hooks.mjs): TypeScript, and loaded as a module in
 * a package without "type": "module" when it has import or export statements.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BatonError } from "../core/errors.ts";
import type { Flow } from "../sdk/flow.ts";
import { ensureFlowLoader } from "./flow-loader.ts";

export type AnyFlow = Flow<any, unknown>;

export function isFlow(value: unknown): value is AnyFlow {
  return typeof value === "function" && typeof (value as AnyFlow).run === "function" && typeof (value as AnyFlow).flowName === "string";
}

/**
 * Flow modules imported ahead of their run (a worker's warm spare, src/cli/spare.ts), by
 * absolute path: their run takes them from here instead of asking the loader's thread to resolve
 * the file again. Whoever preloads checks that the files are unchanged before the run.
 */
const preloaded = new Map<string, Record<string, unknown>>();

/** Imports `file` (under the flow loader) ahead of its run; rejects as the import does. */
export async function preloadFlowModule(file: string): Promise<void> {
  const resolved = path.resolve(file);
  await ensureFlowLoader();
  preloaded.set(resolved, (await import(pathToFileURL(resolved).href)) as Record<string, unknown>);
}

export function isPreloaded(file: string): boolean {
  return preloaded.has(path.resolve(file));
}

/** Imports the user's module `file` under the flow loader (or takes it preloaded): its exports. */
export async function importFlowModule(file: string): Promise<Record<string, unknown>> {
  const resolved = path.resolve(file);
  if (!fs.existsSync(resolved)) throw new Error(`flow file ${resolved} does not exist`);
  const module = preloaded.get(resolved);
  if (module) return module;
  await ensureFlowLoader();
  try {
    return (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
  } catch (error) {
    throw explainCommonJs(error, resolved) ?? error;
  }
}

/** Imports `file` and picks the flow named by `name` (export name or flow name), or the only one. */
export async function loadFlow(file: string, name?: string): Promise<AnyFlow> {
  const module = await importFlowModule(file);
  const flows = Object.entries(module).filter((entry): entry is [string, AnyFlow] => isFlow(entry[1]));
  if (name) {
    const match = flows.find(([exportName, f]) => exportName === name || f.flowName === name);
    if (!match) throw new Error(`no flow "${name}" in ${file}; it exports: ${describe(flows)}`);
    return match[1];
  }
  const distinct = [...new Set(flows.map(([, f]) => f))];
  if (distinct.length === 1) return distinct[0]!;
  if (distinct.length === 0) throw new Error(`${file} exports no flow; export one created with flow(...)`);
  const byDefault = flows.find(([exportName]) => exportName === "default");
  if (byDefault) return byDefault[1];
  throw new Error(`${file} exports several flows (${describe(flows)}); choose one with --flow NAME`);
}

/** What Node says when a CommonJS module requires an ES module it cannot (Baton is ESM only). */
const COMMONJS_FAILURES = new Set(["ERR_REQUIRE_CYCLE_MODULE", "ERR_REQUIRE_ESM", "ERR_REQUIRE_ASYNC_MODULE", "ERR_PACKAGE_PATH_NOT_EXPORTED"]);

/**
 * One line saying what to change when `file` (or a module it imports) was loaded as CommonJS and
 * so could not import Baton — a package that says "type": "commonjs", or a file without import
 * or export statements that requires Baton — or null for any other failure.
 */
function explainCommonJs(error: unknown, file: string): BatonError | null {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !COMMONJS_FAILURES.has(code)) return null;
  if (code === "ERR_PACKAGE_PATH_NOT_EXPORTED" && !/[/\\]baton[/\\]package\.json/.test((error as Error).message)) return null;
  const manifest = nearestPackageJson(path.dirname(file));
  const where = manifest ? `add "type": "module" to ${manifest}` : `add a package.json with "type": "module" beside it`;
  const message =
    code === "ERR_PACKAGE_PATH_NOT_EXPORTED"
      ? `${file} (or a module it imports) loads Baton with require(), but Baton is an ES module: import it (import { flow } from "baton") instead, and ${where} or rename the file to .mts (${code})`
      : `${file} was loaded as CommonJS, which cannot import Baton (an ES module): ${where}, or rename it to .mts (${code})`;
  return new BatonError(message, { cause: error });
}

function nearestPackageJson(dir: string): string | null {
  for (let at = dir; ; at = path.dirname(at)) {
    if (fs.existsSync(path.join(at, "package.json"))) return path.join(at, "package.json");
    if (path.dirname(at) === at) return null;
  }
}

function describe(flows: [string, AnyFlow][]): string {
  return flows.length ? flows.map(([e, f]) => (e === f.flowName ? e : `${e} (${f.flowName})`)).join(", ") : "none";
}

/** Parses `--param key=value` pairs: values are JSON when they parse as JSON, else strings. */
export function parseParams(pairs: readonly string[], json?: string): Record<string, unknown> {
  let params: Record<string, unknown> = {};
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      throw new Error(`--params-json is not valid JSON: ${(error as Error).message}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("--params-json must be a JSON object");
    params = parsed as Record<string, unknown>;
  }
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`--param expects key=value, got "${pair}"`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the string
    }
    params[key] = value;
  }
  return params;
}
