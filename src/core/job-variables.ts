/**
 * Job variables: how the infrastructure starts a flow run's process — extra environment
 * variables and a working directory. Work pools, deployments and single runs each may set them;
 * a run gets pool ← deployment ← run, later layers winning (env merged key by key).
 *
 * Some environment variables change how the run's process loads code (NODE_OPTIONS=--import=…
 * runs any module on the worker's host before the flow) or where it reports (BATON_*): anyone
 * who may create a run could otherwise run code on every worker of its pool. Those are refused
 * unless the work pool allows them by name or `PREFIX_*` pattern (`allowEnv`), by every door
 * that takes job variables (compileJobVariables for the CLI, YAML and code; the API routes) and
 * again when a worker claims the run (store/claims.ts), which a row written into the database
 * by other means cannot get around.
 */
import { excerpt } from "./excerpt.ts";

export interface JobVariables {
  /** Environment variables of the run's process (on top of the worker's own). */
  env?: Record<string, string>;
  /** Working directory of the run's process; relative paths are read from the worker's. */
  cwd?: string;
}

/** What an environment variable name may be (POSIX portable names). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Environment variables a run may set only if its work pool allows them, each family with why.
 * Names compare in upper case: Windows reads `node_options` as NODE_OPTIONS.
 *
 * PATH is not among them: the run's process is started by the absolute path of the worker's
 * Node and Baton starts nothing by name, so PATH does not change how the runtime loads code —
 * only which programs the flow's own code finds, as cwd does, and pointing it at code needs a
 * file on the worker's host already. Setting it (a virtualenv, a tool's directory) is a common
 * reason for job variables. The same holds for other programs' settings (PYTHONPATH, BASH_ENV):
 * they matter only to programs a flow chooses to start.
 */
const RUNTIME_ENV: readonly { pattern: string; except?: string; why: string }[] = [
  // Every NODE_ setting, not a list: each Node release adds some (NODE_COMPILE_CACHE...), and
  // NODE_OPTIONS alone takes any flag. NODE_ENV is read by libraries, never by Node.
  { pattern: "NODE_*", except: "NODE_ENV", why: "Node.js reads it (NODE_OPTIONS can load any module, NODE_PATH moves imports, NODE_EXTRA_CA_CERTS changes whom TLS trusts)" },
  { pattern: "LD_*", why: "the dynamic linker loads libraries into the process from it" },
  { pattern: "DYLD_*", why: "the dynamic linker loads libraries into the process from it" },
  { pattern: "GCONV_PATH", why: "glibc loads modules into the process from it" },
  { pattern: "TSX_*", why: "tsx, which loads the flow's TypeScript, reads it (TSX_TSCONFIG_PATH remaps imports)" },
  { pattern: "BATON_*", why: "Baton's own settings point the run at another database, API, results directory or worker" },
];

/** What an `allowEnv` entry may be: a name, or a prefix followed by `*`. */
export const ALLOW_ENV_ENTRY = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

function matches(pattern: string, name: string): boolean {
  const upper = name.toUpperCase();
  return pattern.endsWith("*") ? upper.startsWith(pattern.slice(0, -1).toUpperCase()) : upper === pattern.toUpperCase();
}

/** Why `name` changes how a run's process loads code, or null when it does not. */
export function runtimeEnvReason(name: string): string | null {
  const rule = RUNTIME_ENV.find((r) => matches(r.pattern, name) && !(r.except && matches(r.except, name)));
  return rule?.why ?? null;
}

/** The first variable of `env` that changes how the process loads code and `allowEnv` does not allow, or null. */
export function refusedEnvName(env: Record<string, string> | undefined, allowEnv: readonly string[]): string | null {
  for (const name of Object.keys(env ?? {})) if (runtimeEnvReason(name) !== null && !allowEnv.some((entry) => matches(entry, name))) return name;
  return null;
}

/**
 * Why job variables at `field` may not set `name` in `pool` (null: a run without a pool, which
 * allows nothing), and how to allow it.
 */
export function refusedEnvMessage(field: string, name: string, pool: string | null): string {
  const how = `baton work-pool create ${pool ?? "POOL"} --allow-env ${name}, or allowEnv in POST /api/work-pools`;
  return pool === null
    ? `${field}.env.${name} is refused: ${runtimeEnvReason(name)}; only a run of a work pool that allows it may set it (${how})`
    : `${field}.env.${name} is refused: ${runtimeEnvReason(name)}; work pool "${pool}" does not allow it (allow it with ${how})`;
}

/** Validates a work pool's `allowEnv` (names or `PREFIX_*` patterns); the error names the field. */
export function compileAllowEnv(input: unknown, field = "allowEnv"): string[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) throw new TypeError(`${field} must be a list of environment variable names or PREFIX_* patterns`);
  return input.map((entry, i) => {
    if (typeof entry !== "string" || !ALLOW_ENV_ENTRY.test(entry))
      throw new TypeError(`${field}[${i}] must be an environment variable name or a PREFIX_* pattern, got ${excerpt(String(JSON.stringify(entry)))}`);
    return entry;
  });
}

/**
 * Validates job variables from user input (YAML, flags, code); the error names the field.
 * Numbers and booleans in `env` become strings (YAML reads `PORT: 8080` as a number). `pool` is
 * the work pool the variables are for (null: none): variables that change how the run's
 * process loads code must be in its `allowEnv`.
 */
export function compileJobVariables(input: unknown, field = "job_variables", pool: { name: string; allowEnv: readonly string[] } | null = null): JobVariables {
  if (input === undefined || input === null) return {};
  if (typeof input !== "object" || Array.isArray(input)) throw new TypeError(`${field} must be an object with env and/or cwd`);
  const out: JobVariables = {};
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    if (key === "env") {
      if (value === undefined || value === null) continue;
      if (typeof value !== "object" || Array.isArray(value)) throw new TypeError(`${field}.env must be an object of NAME: value`);
      const env: Record<string, string> = {};
      for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
        if (!ENV_NAME.test(name)) throw new TypeError(`${field}.env: "${name}" is not a valid environment variable name`);
        if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") throw new TypeError(`${field}.env.${name} must be a string, got ${v === null ? "null" : typeof v}`);
        env[name] = String(v);
      }
      const refused = refusedEnvName(env, pool?.allowEnv ?? []);
      if (refused) throw new TypeError(refusedEnvMessage(field, refused, pool?.name ?? null));
      out.env = env;
    } else if (key === "cwd") {
      if (value === undefined || value === null) continue;
      if (typeof value !== "string" || !value.trim()) throw new TypeError(`${field}.cwd must be a non-empty path`);
      out.cwd = value;
    } else {
      throw new TypeError(`${field} has an unknown field "${key}"; expected env and/or cwd`);
    }
  }
  return out;
}

/** Merges layers, later ones winning: pool, deployment, run. */
export function mergeJobVariables(...layers: (JobVariables | null | undefined)[]): JobVariables {
  const out: JobVariables = {};
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.env) out.env = { ...out.env, ...layer.env };
    if (layer.cwd) out.cwd = layer.cwd;
  }
  return out;
}

