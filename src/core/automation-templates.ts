/**
 * Templates in automation actions: any string of an action's templated fields may hold
 * `{{ path }}` placeholders, resolved when the action runs against `{ event, automation,
 * firing }` — `{{ event.payload.key }}`, `{{ event.resource.labels.state-name }}`,
 * `{{ event.related[0].name }}`, `{{ firing.id }}`. A string that is exactly one placeholder
 * takes the value's JSON type (a number stays a number, an object an object); placeholders
 * inside longer text are written out (objects as JSON). A path that leads nowhere fails the
 * action with the path named: a run started with an empty parameter is worse than no run.
 * Pure.
 */
import { BatonError } from "./errors.ts";

/** The values a template may read. */
export const TEMPLATE_ROOTS = ["event", "automation", "firing"] as const;
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number];

const PLACEHOLDER = /\{\{\s*(.*?)\s*\}\}/g;
const WHOLE = /^\s*\{\{\s*(.*?)\s*\}\}\s*$/;
/** `root.key.key[0].key`: keys of letters, digits, `_` and `-`. */
const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+|\[\d+\])*$/;

/** An action's template could not be filled in: the field and the path are named. */
export class TemplateError extends BatonError {
  override name = "TemplateError";
}

/** Each placeholder in `value` (strings, arrays and objects, walked), with the field it is in. */
export function placeholders(value: unknown, field: string): { field: string; path: string }[] {
  if (typeof value === "string") return [...value.matchAll(PLACEHOLDER)].map((m) => ({ field, path: m[1]! }));
  if (Array.isArray(value)) return value.flatMap((item, i) => placeholders(item, `${field}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([key, item]) => placeholders(item, `${field}.${key}`));
  return [];
}

/**
 * Why the placeholders of `value` cannot work, one message per bad one: a path that is not a
 * path, or one that starts outside `roots` (a proactive automation has no event to read).
 */
export function templateProblems(value: unknown, field: string, roots: readonly string[] = TEMPLATE_ROOTS): { field: string; message: string }[] {
  return placeholders(value, field).flatMap(({ field: at, path }) => {
    if (!PATH.test(path)) return [{ field: at, message: `${at}: "{{ ${path.slice(0, 80)} }}" is not a template path; write e.g. {{ event.payload.key }}` }];
    const root = path.split(/[.[]/)[0]!;
    if (!roots.includes(root))
      return [{ field: at, message: `${at}: "{{ ${path.slice(0, 80)} }}" refers to "${root}", which templates here cannot read; they read ${roots.join(", ")}` }];
    return [];
  });
}

/** The segments of `a.b[0].c`: ["a", "b", 0, "c"]. */
function segments(path: string): (string | number)[] {
  return [...path.matchAll(/([A-Za-z0-9_-]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

/** The value at `path` in `context`; a TemplateError naming the field and how far the path got. */
export function resolvePath(context: Record<string, unknown>, path: string, field: string): unknown {
  let value: unknown = context;
  const walked: string[] = [];
  for (const segment of segments(path)) {
    const next = value !== null && typeof value === "object" ? (value as Record<string | number, unknown>)[segment] : undefined;
    walked.push(typeof segment === "number" ? `[${segment}]` : walked.length ? `.${segment}` : segment);
    if (next === undefined) throw new TemplateError(`${field}: {{ ${path} }} has no value: ${walked.join("")} is missing in this firing`);
    value = next;
  }
  return value;
}

const asText = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** `value` with every placeholder filled in from `context` (see the module's header). */
export function renderTemplate(value: unknown, context: Record<string, unknown>, field: string): unknown {
  if (typeof value === "string") {
    const whole = WHOLE.exec(value);
    if (whole && !whole[1]!.includes("}}")) return resolvePath(context, whole[1]!, field);
    return value.replace(PLACEHOLDER, (_m, path: string) => asText(resolvePath(context, path, field)));
  }
  if (Array.isArray(value)) return value.map((item, i) => renderTemplate(item, context, `${field}[${i}]`));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderTemplate(item, context, `${field}.${key}`)]));
  return value;
}
