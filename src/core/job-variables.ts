/**
 * Job variables: how the infrastructure starts a flow run's process — extra environment
 * variables and a working directory, and for Docker pools the container's image, volumes,
 * resources, network and pull policy. Work pools, deployments and single runs each may set them;
 * a run gets pool ← deployment ← run, later layers winning (env merged key by key, volumes by
 * their path in the container).
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
  /** Docker pools: the image of the run's container. */
  image?: string;
  /** Docker pools: bind mounts `HOST_PATH:CONTAINER_PATH` or `HOST_PATH:CONTAINER_PATH:ro`. */
  volumes?: string[];
  /** Docker pools: CPUs the container may use (1.5: one and a half). */
  cpus?: number;
  /** Docker pools: the container's memory limit, bytes or a size like `512m`, `2g`. */
  memory?: number | string;
  /** Docker pools: GPUs given to the container: `all` or how many. */
  gpus?: "all" | number;
  /** Docker pools: the container's network (default `host`: it reaches the database or API the worker does). */
  network?: string;
  /** Docker pools: when the image is pulled: `never`, `missing` (default) or `always`. */
  pull?: PullPolicy;
}

/** When a Docker pool's worker pulls a run's image. */
export const PULL_POLICIES = ["never", "missing", "always"] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** The job variables a work pool of each type reads (the others are kept but mean nothing there). */
export const JOB_VARIABLE_FIELDS = ["env", "cwd", "image", "volumes", "cpus", "memory", "gpus", "network", "pull"] as const;

/** A memory size: bytes, or a number with a unit b, k, m, g (powers of 1024), as `docker run --memory` takes. */
export const MEMORY_SIZE = /^(\d+(?:\.\d+)?)\s*([bkmg])?b?$/i;

/** `memory` in bytes; a TypeError naming `field` when it is no size. */
export function memoryBytes(value: number | string, field = "memory"): number {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 6 * 1024 * 1024) throw new TypeError(`${field} must be at least 6 MiB (6291456 bytes; Docker's minimum), got ${value}`);
    return value;
  }
  const match = MEMORY_SIZE.exec(value.trim());
  if (!match) throw new TypeError(`${field} must be a byte count or a size like 512m or 2g, got ${excerpt(JSON.stringify(value))}`);
  const unit = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? "b").toLowerCase() as "b" | "k" | "m" | "g"];
  return memoryBytes(Math.floor(Number(match[1]) * unit), field);
}

/** A bind mount: an absolute host path, an absolute container path, and optionally `ro` or `rw`. */
export const VOLUME = /^(\/[^:]*):(\/[^:]*)(?::(ro|rw))?$/;

/** The name of a Docker image: `[registry/]name[:tag][@digest]`, no spaces. */
export const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;

/** A Docker network name, or host, bridge, none. */
export const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

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
  if (typeof input !== "object" || Array.isArray(input)) throw new TypeError(`${field} must be an object with ${JOB_VARIABLE_FIELDS.join(", ")}`);
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
    } else if (value === undefined || value === null) {
      if (!(JOB_VARIABLE_FIELDS as readonly string[]).includes(key)) throw unknownField(field, key);
    } else if (key === "image") {
      if (typeof value !== "string" || !IMAGE_NAME.test(value)) throw new TypeError(`${field}.image must be a Docker image name like node:22 or registry.example.com/team/flows:1.2, got ${excerpt(JSON.stringify(value))}`);
      out.image = value;
    } else if (key === "volumes") {
      if (!Array.isArray(value)) throw new TypeError(`${field}.volumes must be a list of HOST_PATH:CONTAINER_PATH[:ro] bind mounts`);
      out.volumes = value.map((v: unknown, i) => {
        if (typeof v !== "string" || !VOLUME.test(v))
          throw new TypeError(`${field}.volumes[${i}] must be HOST_PATH:CONTAINER_PATH or HOST_PATH:CONTAINER_PATH:ro with absolute paths, got ${excerpt(JSON.stringify(v))}`);
        return v;
      });
    } else if (key === "cpus") {
      if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > 1024) throw new TypeError(`${field}.cpus must be a number of CPUs above 0 (1.5: one and a half), got ${excerpt(JSON.stringify(value))}`);
      out.cpus = value;
    } else if (key === "memory") {
      if (typeof value !== "number" && typeof value !== "string") throw new TypeError(`${field}.memory must be a byte count or a size like 512m or 2g, got ${typeof value}`);
      memoryBytes(value, `${field}.memory`);
      out.memory = value;
    } else if (key === "gpus") {
      if (value !== "all" && !(typeof value === "number" && Number.isInteger(value) && value > 0)) throw new TypeError(`${field}.gpus must be "all" or a number of GPUs (1 or more), got ${excerpt(JSON.stringify(value))}`);
      out.gpus = value;
    } else if (key === "network") {
      if (typeof value !== "string" || !NETWORK_NAME.test(value)) throw new TypeError(`${field}.network must be a Docker network name (host, bridge, none or one you created), got ${excerpt(JSON.stringify(value))}`);
      out.network = value;
    } else if (key === "pull") {
      if (!(PULL_POLICIES as readonly unknown[]).includes(value)) throw new TypeError(`${field}.pull must be one of ${PULL_POLICIES.join(", ")}, got ${excerpt(JSON.stringify(value))}`);
      out.pull = value as PullPolicy;
    } else {
      throw unknownField(field, key);
    }
  }
  return out;
}

function unknownField(field: string, key: string): TypeError {
  return new TypeError(`${field} has an unknown field "${key}"; expected ${JOB_VARIABLE_FIELDS.join(", ")}`);
}

/** The container path of a bind mount (what a later layer's mount replaces). */
const mountTarget = (volume: string): string => VOLUME.exec(volume)?.[2] ?? volume;

/** Merges layers, later ones winning: pool, deployment, run. */
export function mergeJobVariables(...layers: (JobVariables | null | undefined)[]): JobVariables {
  const out: JobVariables = {};
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.env) out.env = { ...out.env, ...layer.env };
    if (layer.cwd) out.cwd = layer.cwd;
    if (layer.volumes) {
      const targets = new Set(layer.volumes.map(mountTarget));
      out.volumes = [...(out.volumes ?? []).filter((v) => !targets.has(mountTarget(v))), ...layer.volumes];
    }
    for (const key of ["image", "cpus", "memory", "gpus", "network", "pull"] as const) if (layer[key] !== undefined) (out as Record<string, unknown>)[key] = layer[key];
  }
  return out;
}

