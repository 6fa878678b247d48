/** Finds the flow to run in a user's module. */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Flow } from "../sdk/flow.ts";

export type AnyFlow = Flow<any, unknown>;

export function isFlow(value: unknown): value is AnyFlow {
  return typeof value === "function" && typeof (value as AnyFlow).run === "function" && typeof (value as AnyFlow).flowName === "string";
}

/** Imports `file` and picks the flow named by `name` (export name or flow name), or the only one. */
export async function loadFlow(file: string, name?: string): Promise<AnyFlow> {
  const resolved = path.resolve(file);
  if (!fs.existsSync(resolved)) throw new Error(`flow file ${resolved} does not exist`);
  const module = (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
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
