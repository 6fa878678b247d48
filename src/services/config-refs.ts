/**
 * Checking `{{ variables.name }}` and `{{ secrets.name }}` references before configuration is
 * stored: each must name a variable or secret that exists, and secrets only where the value
 * stays unseen (job variables, whose env reaches only the run's process). The use cases that store
 * or run configuration check here, so every adapter (API, CLI, automations) refuses alike: a bad
 * reference is an InvalidReferenceError naming the field, and nothing is stored.
 */
import { checkTemplateRefs, findTemplateRefs, TemplateRefError } from "../core/template-refs.ts";
import type { SecretStore, VariableStore } from "../store/value-types.ts";
import { ServiceError } from "./errors.ts";

/** A `{{ variables.x }}` or `{{ secrets.x }}` that names nothing, or a secret where it would be shown; the message starts with the field. */
export class InvalidReferenceError extends ServiceError {
  override name = "InvalidReferenceError";
  readonly reason = "invalid";
  readonly code = "VALIDATION_ERROR";
  constructor(
    message: string,
    override readonly details: { field: string },
  ) {
    super(message);
  }
}

/** Whether a variable or secret exists (the database, or the server's lists). */
export interface RefStores {
  hasVariable(name: string): Promise<boolean>;
  hasSecret(name: string): Promise<boolean>;
}

/** Existence checks on the database. */
export function storeRefLookup(variables: Pick<VariableStore, "getVariable">, secrets: Pick<SecretStore, "getSealedSecret">): RefStores {
  return { hasVariable: async (name) => (await variables.getVariable(name)) !== undefined, hasSecret: async (name) => (await secrets.getSealedSecret(name)) !== undefined };
}

/** One value to check: where it is, and whether secrets may be used in it. */
export interface RefCheck {
  value: unknown;
  field: string;
  secrets: boolean;
}

/** Resolves when every reference in `checks` is allowed and exists; an InvalidReferenceError naming the field otherwise. */
export async function checkConfigRefs(stores: RefStores, checks: readonly RefCheck[]): Promise<void> {
  try {
    await checkEach(stores, checks);
  } catch (error) {
    if (error instanceof TemplateRefError) throw new InvalidReferenceError(error.message, { field: error.field });
    throw error;
  }
}

async function checkEach(stores: RefStores, checks: readonly RefCheck[]): Promise<void> {
  for (const check of checks) {
    const refs = findTemplateRefs(check.value, check.field);
    if (!refs.length) continue;
    const variables = new Set<string>();
    const secrets = new Set<string>();
    for (const ref of refs) {
      if (ref.kind === "variables" && (await stores.hasVariable(ref.name))) variables.add(ref.name);
      if (ref.kind === "secrets" && check.secrets && (await stores.hasSecret(ref.name))) secrets.add(ref.name);
    }
    checkTemplateRefs(check.value, check.field, { variables, secrets: check.secrets ? secrets : null, secretsWhy: "it is stored and shown in clear" });
  }
}

/** The checks of a deployment's (or a run's) parameters and job variables, under `prefix` (`body.` or `deployments.0.`). */
export function deploymentRefChecks(input: { parameters?: unknown; jobVariables?: unknown }, fields: { parameters: string; jobVariables: string }): RefCheck[] {
  return [
    { value: input.parameters ?? null, field: fields.parameters, secrets: false },
    { value: input.jobVariables ?? null, field: fields.jobVariables, secrets: true },
  ];
}

/** The check of job variables (a pool's, a run's): secrets allowed, their env reaching only the run's process. */
export function jobVariablesRefCheck(jobVariables: unknown, field: string): RefCheck[] {
  return [{ value: jobVariables ?? null, field, secrets: true }];
}
