/**
 * References to variables and secrets inside configuration: `{{ variables.name }}` and
 * `{{ secrets.name }}` in any string of a JSON value (deployment parameters, job variables,
 * notification channel settings). Stored as written and resolved only where the value is used
 * (a run's process env, its parameters), so a secret's value never lands in a stored record.
 *
 * A string that is one reference and nothing else becomes the variable's JSON value itself (a
 * number stays a number in parameters); a reference inside a longer string is replaced by the
 * value's text (strings as they are, other values as JSON). Pure: callers fetch the values.
 */
import { BatonError } from "./errors.ts";

export type TemplateRefKind = "variables" | "secrets";

export interface TemplateRef {
  kind: TemplateRefKind;
  name: string;
  /** Where the reference is, e.g. `job_variables.env.DB_PASSWORD`. */
  field: string;
}

/** What a variable or secret name may be. */
export const VALUE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;

/** A reference, anywhere in a string (global). */
export const TEMPLATE_REF = /\{\{\s*(variables|secrets)\.([A-Za-z0-9_][A-Za-z0-9_.-]*?)\s*\}\}/g;
const REF = TEMPLATE_REF;
const WHOLE_REF = /^\{\{\s*(variables|secrets)\.([A-Za-z0-9_][A-Za-z0-9_.-]*?)\s*\}\}$/;

const singular = (kind: TemplateRefKind) => (kind === "secrets" ? "secret" : "variable");

/** A reference to a variable or secret that does not exist (or may not be used there); names the field. */
export class TemplateRefError extends BatonError {
  override name = "TemplateRefError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export function missingRefError(ref: TemplateRef): TemplateRefError {
  const how = ref.kind === "secrets" ? `baton secret set ${ref.name}` : `baton variable set ${ref.name} VALUE`;
  return new TemplateRefError(ref.field, `${singular(ref.kind)} "${ref.name}" does not exist; create it first (${how})`);
}

const fieldOf = (field: string, key: string) => (/^[A-Za-z_$][\w$-]*$/.test(key) ? `${field}.${key}` : `${field}[${JSON.stringify(key)}]`);

/** Every reference in the strings of `value`, each with its field. */
export function findTemplateRefs(value: unknown, field: string): TemplateRef[] {
  const found: TemplateRef[] = [];
  const walk = (v: unknown, at: string) => {
    if (typeof v === "string") {
      for (const m of v.matchAll(REF)) found.push({ kind: m[1] as TemplateRefKind, name: m[2]!, field: at });
    } else if (Array.isArray(v)) v.forEach((item, i) => walk(item, `${at}[${i}]`));
    else if (v !== null && typeof v === "object") for (const [k, item] of Object.entries(v)) walk(item, fieldOf(at, k));
  };
  walk(value, field);
  return found;
}

/**
 * Checks that each reference is allowed where it is and names something that exists.
 * `secrets: null`: secrets may not be used in this value (it is stored and shown in clear).
 */
export function checkTemplateRefs(value: unknown, field: string, known: { variables: ReadonlySet<string>; secrets: ReadonlySet<string> | null; secretsWhy?: string }): void {
  for (const ref of findTemplateRefs(value, field)) {
    if (ref.kind === "secrets" && known.secrets === null)
      throw new TemplateRefError(ref.field, `{{ secrets.${ref.name} }} may not be used here (${known.secretsWhy ?? "this value is stored and shown in clear"}); use it in job variables' env`);
    const names = ref.kind === "secrets" ? known.secrets! : known.variables;
    if (!names.has(ref.name)) throw missingRefError(ref);
  }
}

/** The values references resolve to; a kind left out may not be used. */
export interface TemplateValues {
  variables?: ReadonlyMap<string, unknown>;
  secrets?: ReadonlyMap<string, string>;
}

const asText = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/**
 * `value` with every reference replaced by what it names; a missing one is a TemplateRefError
 * naming its field. The one resolver of references: job variables, parameters, channel settings.
 */
export function resolveTemplateRefs<T>(value: T, values: TemplateValues, field = "value"): T {
  const lookup = (kind: TemplateRefKind, name: string, at: string): unknown => {
    const source = kind === "secrets" ? values.secrets : values.variables;
    if (!source) throw new TemplateRefError(at, `{{ ${kind}.${name} }} may not be used here`);
    if (!source.has(name)) throw missingRefError({ kind, name, field: at });
    return source.get(name);
  };
  const walk = (v: unknown, at: string): unknown => {
    if (typeof v === "string") {
      const whole = WHOLE_REF.exec(v);
      if (whole) return lookup(whole[1] as TemplateRefKind, whole[2]!, at);
      return v.includes("{{") ? v.replace(REF, (_m, kind: TemplateRefKind, name: string) => asText(lookup(kind, name, at))) : v;
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${at}[${i}]`));
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, fieldOf(at, k))]));
    return v;
  };
  return walk(value, field) as T;
}

/** Whether `text` holds a reference. */
export const hasTemplateRef = (text: string): boolean => new RegExp(REF.source).test(text);

/**
 * `value` with every reference replaced by `standIn`: what other checks (template paths, URLs,
 * addresses) see of a value whose references are resolved later.
 */
export function withoutTemplateRefs<T>(value: T, standIn = "x"): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return v.includes("{{") ? v.replace(REF, standIn) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item)]));
    return v;
  };
  return walk(value) as T;
}

/**
 * A function replacing each of `values` (at least `minLength` characters), as written and as
 * percent-encoded in a URL, by `***` in a text: for errors and records that a resolved secret
 * may have reached.
 */
export function secretRedactor(values: readonly string[], minLength = 1): (text: string) => string {
  const forms = new Set<string>();
  for (const value of values.filter((v) => v.length >= minLength)) forms.add(value).add(encodeURIComponent(value)).add(encodeURI(value));
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  if (!sorted.length) return (text) => text;
  return (text) => sorted.reduce((out, value) => (out.includes(value) ? out.split(value).join("***") : out), text);
}
