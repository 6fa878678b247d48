/**
 * Job variables hold secrets (a token in `env` for the run's process), and deployments and work
 * pools are readable with any key. Only a caller who may change them — an admin, the only role
 * that may POST deployments and pools — sees their `env` values; everyone else sees the names
 * with the values masked. Workers get the real values where they need them: in the answer to
 * their claim, never through these reads.
 */
import type { JobVariables } from "../core/job-variables.ts";
import type { CallerRole } from "./api-keys.ts";

export const MASKED_VALUE = "********";

/** `record` as `role` may see it: with its job variables' env values masked unless `role` may edit them. */
export function withJobVariablesFor<T extends { jobVariables: JobVariables }>(role: CallerRole, record: T): T {
  const env = record.jobVariables.env;
  if (role === "admin" || !env) return record;
  return { ...record, jobVariables: { ...record.jobVariables, env: Object.fromEntries(Object.keys(env).map((name) => [name, MASKED_VALUE])) } };
}
