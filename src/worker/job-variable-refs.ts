/**
 * Resolving a claimed run's job variables just before its process starts: `{{ variables.x }}`
 * and `{{ secrets.x }}` become values in the process's environment and nowhere else (the
 * stored job variables keep the references). The run's process is told which of its env
 * variables hold secrets (BATON_SECRET_ENV, names only) so it redacts their values from its
 * logs and errors, and the worker redacts them from the output it forwards.
 */
import { loadSecretKey } from "../config/secret-key.ts";
import type { JobVariables } from "../core/job-variables.ts";
import { findTemplateRefs, resolveTemplateRefs, secretRedactor } from "../core/template-refs.ts";
import { RemoteSecrets, RemoteVariables } from "../client/remote-values.ts";
import type { RemoteStore } from "../client/remote-store.ts";
import type { KyselyStore } from "../store/kysely-store.ts";
import { KyselySecretStore } from "../store/secret-store.ts";
import { KyselyVariableStore } from "../store/variable-store.ts";
import type { RunStore } from "../store/types.ts";
import { SecretNotFoundError, SecretVault } from "../services/secrets.ts";

/** The env variable naming (comma-separated) the run's env variables that hold secrets. */
export const SECRET_ENV_NAMES = "BATON_SECRET_ENV";

/** Where a worker reads the values its runs' job variables reference. */
export interface RunValueSource {
  /** The variable's value, or undefined when there is none. */
  variable(name: string): Promise<{ value: unknown } | undefined>;
  /** The secret's value for run `flowRunId`; a SecretNotFoundError when there is none. */
  secret(name: string, flowRunId: string): Promise<string>;
}

/** The worker's store's variables and secrets: the database (with this process's key), or the server. */
export function runValueSource(store: RunStore, direct: boolean): RunValueSource {
  if (direct) {
    const base = store as unknown as KyselyStore;
    const variables = new KyselyVariableStore(base);
    const vault = new SecretVault(new KyselySecretStore(base), () => loadSecretKey());
    return { variable: (name) => variables.getVariable(name), secret: (name) => vault.reveal(name) };
  }
  const api = (store as unknown as RemoteStore).api;
  const variables = new RemoteVariables(api);
  const secrets = new RemoteSecrets(api);
  return { variable: (name) => variables.get(name), secret: (name, flowRunId) => secrets.reveal(name, flowRunId) };
}

export interface ResolvedJobVariables {
  jobVariables: JobVariables;
  /** Env variables whose values came from secrets. */
  secretEnvNames: string[];
  /** The secret values resolved, to redact from the run's output. */
  secretValues: string[];
}

/** The job variables with their references resolved; a TemplateRefError naming the field when one names nothing. */
export async function resolveJobVariables(jobVariables: JobVariables, source: RunValueSource, flowRunId: string): Promise<ResolvedJobVariables> {
  const refs = findTemplateRefs(jobVariables, "job_variables");
  if (!refs.length) return { jobVariables, secretEnvNames: [], secretValues: [] };
  const variables = new Map<string, unknown>();
  const secrets = new Map<string, string>();
  for (const ref of refs) {
    if (ref.kind === "variables" && !variables.has(ref.name)) {
      const found = await source.variable(ref.name);
      if (found) variables.set(ref.name, found.value);
    }
    if (ref.kind === "secrets" && !secrets.has(ref.name)) {
      try {
        secrets.set(ref.name, await source.secret(ref.name, flowRunId));
      } catch (error) {
        if (!(error instanceof SecretNotFoundError)) throw error;
      }
    }
  }
  const resolved = resolveTemplateRefs(jobVariables, { variables, secrets }, "job_variables");
  // Env values are text: a variable holding a number or an object becomes its JSON.
  const env = resolved.env ? Object.fromEntries(Object.entries(resolved.env).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])) : undefined;
  const secretEnvNames = Object.entries(jobVariables.env ?? {})
    .filter(([, v]) => findTemplateRefs(v, "").some((r) => r.kind === "secrets"))
    .map(([k]) => k);
  return { jobVariables: { ...resolved, ...(env ? { env } : {}) }, secretEnvNames, secretValues: [...secrets.values()] };
}

/** A function replacing each of `values` (of 4 characters or more) in a line by `***`. */
export function redactorOf(values: readonly string[]): (text: string) => string {
  return secretRedactor(values, 4);
}
