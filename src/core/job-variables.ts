/**
 * Job variables: how the infrastructure starts a flow run's process — extra environment
 * variables and a working directory. Work pools, deployments and single runs each may set them;
 * a run gets pool ← deployment ← run, later layers winning (env merged key by key).
 */

export interface JobVariables {
  /** Environment variables of the run's process (on top of the worker's own). */
  env?: Record<string, string>;
  /** Working directory of the run's process; relative paths are read from the worker's. */
  cwd?: string;
}

/** What an environment variable name may be (POSIX portable names). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Validates job variables from user input (YAML, flags, code); the error names the field.
 * Numbers and booleans in `env` become strings (YAML reads `PORT: 8080` as a number).
 */
export function compileJobVariables(input: unknown, field = "job_variables"): JobVariables {
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

