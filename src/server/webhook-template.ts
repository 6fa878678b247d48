/**
 * Webhook templates: a JSONata expression (https://jsonata.org) that maps an incoming request to
 * an event. It is evaluated over the request's JSON body, with `$headers` (lower-case names;
 * no authorization or cookie) and `$query` bound, and must give an object with at least
 * `event` and `resource: { id }`, as POST /api/events takes it. JSON is JSONata, so a template
 * is mostly the event written out with paths where values come from the body:
 *
 *   { "event": "data.arrived",
 *     "resource": { "id": Records[0].s3.object.key, "name": Records[0].s3.bucket.name },
 *     "payload": { "key": Records[0].s3.object.key, "size": Records[0].s3.object.size } }
 *
 * A template that does not parse is refused when the webhook is made (its position named); a
 * body it cannot turn into a valid event is refused with the field that is missing or wrong.
 * JSONata is loaded on first use: a server without webhooks never loads it.
 */
import { Ajv, type ErrorObject } from "ajv";
import type jsonata from "jsonata";
import { BatonError } from "../core/errors.ts";
import { completeEvent, userEventNameProblem, type EventInput } from "../core/event-input.ts";
import type { NewEvent } from "../core/event-records.ts";
import type { Webhook } from "../store/types.ts";
import { describeIssues, type AjvIssue } from "../core/schema-issues.ts";
import { EventInputSchema } from "../schemas/event.ts";
import { componentSchema } from "../schemas/json-schema.ts";

type Expression = jsonata.Expression;
type JsonataError = jsonata.JsonataError;

/** A template that cannot be used, or a request it cannot turn into an event: the message says why. */
export class WebhookTemplateError extends BatonError {
  override name = "WebhookTemplateError";
}

let loading: Promise<(text: string) => Expression> | null = null;

function loadJsonata(): Promise<(text: string) => Expression> {
  loading ??= import("jsonata").then(
    (m) => m.default,
    (error: unknown) => {
      loading = null;
      throw new BatonError(`webhook templates need the jsonata package, which cannot be loaded: ${(error as Error).message}`, { cause: error });
    },
  );
  return loading;
}

/** JSONata throws plain objects with a code (S0211, T1006...), not Errors. */
const isJsonataError = (error: unknown): error is JsonataError =>
  typeof error === "object" && error !== null && typeof (error as Partial<JsonataError>).code === "string" && typeof (error as Partial<JsonataError>).message === "string";

/** "at position 12 (near "}")": where JSONata stopped. */
const where = (error: JsonataError) => (typeof error.position === "number" ? ` at position ${error.position}${error.token ? ` (near "${String(error.token).slice(0, 40)}")` : ""}` : "");

/** The template parsed; a WebhookTemplateError naming `field`, the position and the problem if it does not. */
export async function compileTemplate(text: string, field = "template"): Promise<Expression> {
  const jsonata = await loadJsonata();
  try {
    return jsonata(text);
  } catch (error) {
    if (!isJsonataError(error)) throw error;
    throw new WebhookTemplateError(`${field} is not a valid JSONata expression${where(error)}: ${error.message} (${error.code})`);
  }
}

const validateInput = new Ajv({ strict: false, allErrors: true }).compile<EventInput>({ ...componentSchema(EventInputSchema), $id: undefined });

/** Headers a template may read: never the caller's credentials. */
function readableHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && name !== "authorization" && name !== "cookie") out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}

export interface WebhookRequest {
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
}

/** The event a request to `webhook` gives, related to the webhook; a WebhookTemplateError says what is wrong with it. */
export async function eventFromRequest(webhook: Webhook, request: WebhookRequest, now = Date.now()): Promise<NewEvent> {
  const expression = await compileTemplate(webhook.template);
  let result: unknown;
  try {
    result = await expression.evaluate(request.body ?? null, { headers: readableHeaders(request.headers), query: request.query });
  } catch (error) {
    if (!isJsonataError(error)) throw error;
    throw new WebhookTemplateError(`the template of webhook "${webhook.name}" failed on this request${where(error)}: ${error.message} (${error.code})`);
  }
  if (result === undefined || result === null) throw new WebhookTemplateError(`the template of webhook "${webhook.name}" gave nothing for this body: does the body have the fields it reads?`);
  if (typeof result !== "object" || Array.isArray(result)) throw new WebhookTemplateError(`the template of webhook "${webhook.name}" must give an object { event, resource, payload? }, got ${Array.isArray(result) ? "an array" : typeof result}`);
  // JSONata's results carry internal markers (sequences): plain JSON from here on.
  const plain = JSON.parse(JSON.stringify(result)) as unknown;
  if (!validateInput(plain)) {
    const { message } = describeIssues((validateInput.errors ?? []) as ErrorObject[] as AjvIssue[], "event");
    throw new WebhookTemplateError(`the template of webhook "${webhook.name}" gave an invalid event for this body: ${message}`);
  }
  const problem = userEventNameProblem(plain.event, "event.event");
  if (problem) throw new WebhookTemplateError(`the template of webhook "${webhook.name}" gave an invalid event for this body: ${problem}`);
  const event = completeEvent(plain, now);
  return { ...event, related: [...event.related, { role: "webhook", id: webhook.id, name: webhook.name }] };
}
