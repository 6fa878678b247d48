/**
 * What a notification channel is, as its author writes it (YAML for the CLI, JSON for the API):
 *
 *   name: ml-team
 *   type: email                       # webhook | slack | email
 *   settings:
 *     url: smtp://user:pass@smtp.example.com:587   # STARTTLS when offered; smtps:// for implicit TLS
 *     from: baton@example.com
 *     to: [ml-team@example.com]
 *     subject: "{{ flow.name }} failed"            # optional: a default is made from the firing
 *     body: "Run {{ run.name }}: {{ url }}"
 *
 * - webhook: `url` (http/https), `method` (POST, PUT or PATCH), `headers`, `body` (any JSON
 *   value whose strings are templates; default `{ subject, message, event, run, flow, ... }`).
 * - slack: `url` (an incoming webhook), `text` (the message; a Block Kit message is built around it).
 * - email: `url` (smtp:// or smtps://), `from`, `to`, `subject`, `body` (plain text; an HTML
 *   copy is made from it).
 *
 * Any string of the settings may hold `{{ variables.name }}` and `{{ secrets.name }}` references
 * (core/template-refs.ts), stored as written and resolved only at delivery; whether they exist is
 * checked by the use case that stores the channel. A URL or address that starts with one is
 * checked once resolved, at delivery.
 *
 * The schema is strict and every template is checked here, so a channel that cannot deliver is
 * refused naming its field before anything is stored. Settings hold credentials (an SMTP
 * password, a Slack webhook's URL, which is its secret, an Authorization header): everything
 * that leaves the server shows them masked (`maskChannelSettings`). Pure.
 */
import { z } from "zod";
import { issueMessage } from "./automation-spec.ts";
import { BatonError } from "./errors.ts";
import { redactUrl } from "./redact-url.ts";
import { BODY_ROOTS, MESSAGE_ROOTS, notificationTemplateProblems } from "./notification-templates.ts";
import { hasTemplateRef, TEMPLATE_REF, withoutTemplateRefs } from "./template-refs.ts";

/** A channel spec that cannot be a channel; `field` is the first offending path (`settings.url`). */
export class NotificationChannelError extends BatonError {
  override name = "NotificationChannelError";
  constructor(
    readonly field: string,
    message: string,
    readonly problems: readonly { field: string; message: string }[] = [{ field, message }],
  ) {
    super(message);
  }
}

/** A channel of this name exists already. */
export class NotificationChannelExistsError extends BatonError {
  override name = "NotificationChannelExistsError";
  constructor(readonly channel: string) {
    super(`name: a notification channel named "${channel}" already exists; choose another name, or replace it (PUT /api/notification-channels/${channel}, baton notification create --replace)`);
  }
}

export const CHANNEL_TYPES = ["webhook", "slack", "email"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

const name = z.string().min(1).max(200).regex(/^[A-Za-z0-9_.:@-]+$/, "must be letters, digits and _ . : @ - (it is used in URLs and CLI arguments)");
const template = z.string().max(20_000);
const url = z.string().min(1).max(4000);

export const WEBHOOK_SETTINGS = z.strictObject({
  url,
  method: z.enum(["POST", "PUT", "PATCH"]).optional(),
  headers: z.record(z.string().min(1).max(200), z.string().max(4000)).optional(),
  body: z.unknown().optional(),
});
export const SLACK_SETTINGS = z.strictObject({ url, text: template.optional() });
export const EMAIL_SETTINGS = z.strictObject({
  url,
  from: z.string().min(3).max(500),
  to: z.array(z.string().min(3).max(500)).min(1).max(100),
  subject: template.max(2000).optional(),
  body: template.optional(),
});

/** Each type's settings (strict): the API's record declares a channel with them (schemas/notification-channel.ts). */
export type WebhookSettings = z.infer<typeof WEBHOOK_SETTINGS>;
export type SlackSettings = z.infer<typeof SLACK_SETTINGS>;
export type EmailSettings = z.infer<typeof EMAIL_SETTINGS>;

export type NotificationChannelSpec = { name: string; description?: string } & (
  | { type: "webhook"; settings: WebhookSettings }
  | { type: "slack"; settings: SlackSettings }
  | { type: "email"; settings: EmailSettings }
);

const SETTINGS: Record<ChannelType, z.ZodType> = { webhook: WEBHOOK_SETTINGS, slack: SLACK_SETTINGS, email: EMAIL_SETTINGS };

const specShape = z.strictObject({
  name,
  description: z.string().max(10_000).optional(),
  type: z.string(),
  settings: z.record(z.string(), z.unknown()),
});

function parseWith<T>(schema: z.ZodType<T>, input: unknown, prefix: string): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => issueMessage(issue, prefix));
  throw new NotificationChannelError(problems[0]!.field, problems.map((p) => p.message).join("; "), problems);
}

/** The URL with its placeholders stood in for, parsed; null when it is not one. */
function parsedUrl(text: string): URL | null {
  try {
    return new URL(text.replace(/\{\{.*?\}\}/g, "x"));
  } catch {
    return null;
  }
}

/** Why `text` is not a URL of one of `protocols`; null when it is, or when a reference gives its start (checked at delivery). */
export function urlProblem(text: string, protocols: readonly string[], what: string): string | null {
  if (/^\s*\{\{\s*(variables|secrets)\./.test(text)) return null;
  const parsed = parsedUrl(text);
  if (parsed && protocols.includes(parsed.protocol) && parsed.hostname) return null;
  return `settings.url must be ${what}, got ${JSON.stringify(redactUrl(text).slice(0, 120))}`;
}

/** The spec checked: its type, its settings for that type, its URL, and every template; a NotificationChannelError naming the field otherwise. */
export function compileChannelSpec(input: unknown): NotificationChannelSpec {
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw new NotificationChannelError("spec", "a notification channel spec is an object: { name, type, settings }");
  const base = parseWith(specShape, input, "");
  if (!(CHANNEL_TYPES as readonly string[]).includes(base.type)) throw new NotificationChannelError("type", `type must be one of ${CHANNEL_TYPES.join(", ")}, got ${JSON.stringify(base.type.slice(0, 80))}`);
  const type = base.type as ChannelType;
  const settings = parseWith(SETTINGS[type], base.settings, "settings") as Record<string, unknown>;
  // Template paths are checked with the references stood in for: they are resolved before templates are filled in.
  const templates = withoutTemplateRefs(settings);
  const problems: { field: string; message: string }[] = [];
  const bad = (field: string, message: string | null) => message && problems.push({ field, message });
  if (type === "email") {
    bad("settings.url", urlProblem(settings.url as string, ["smtp:", "smtps:"], "an SMTP server's URL: smtp://user:password@host:587 (STARTTLS) or smtps://...:465 (TLS)"));
    const addresses = [["settings.from", settings.from], ...(settings.to as string[]).map((to, i) => [`settings.to[${i}]`, to])] as [string, string][];
    for (const [field, address] of addresses) if (!hasTemplateRef(address) && !/\S@\S/.test(address)) bad(field, `${field} must be an e-mail address (name@example.com or "Name <name@example.com>"), got ${JSON.stringify(address.slice(0, 80))}`);
    problems.push(...notificationTemplateProblems(templates.url, "settings.url"), ...notificationTemplateProblems({ subject: templates.subject, body: templates.body }, "settings"));
  } else {
    bad("settings.url", urlProblem(settings.url as string, ["http:", "https:"], type === "slack" ? "a Slack incoming webhook's https URL" : "an http or https URL"));
    if (type === "slack") problems.push(...notificationTemplateProblems(templates.url, "settings.url"), ...notificationTemplateProblems({ text: templates.text }, "settings"));
    else problems.push(...notificationTemplateProblems({ url: templates.url, headers: templates.headers, body: templates.body }, "settings", BODY_ROOTS));
  }
  if (problems.length) throw new NotificationChannelError(problems[0]!.field, problems.map((p) => p.message).join("; "), problems);
  return { name: base.name, ...(base.description === undefined ? {} : { description: base.description }), type, settings } as NotificationChannelSpec;
}

/** What the subject and message templates of a notify action may read. */
export const NOTIFY_ROOTS = MESSAGE_ROOTS;

export const MASK = "***";

/** A URL masked (see maskChannelSettings), its references kept as written: they name values, they are none. */
function maskUrl(type: string, text: string): string {
  const refs: string[] = [];
  let stood = text.replace(TEMPLATE_REF, (ref) => `batonref${refs.push(ref) - 1}z`);
  // A URL whose start is a reference is masked as if on a host of that name.
  const leading = /^\s*batonref\d+z/.test(stood);
  if (leading) stood = `http://${stood.trim()}`;
  const parsed = parsedUrl(stood);
  let masked = type === "slack" ? (parsed ? `${parsed.origin}/${MASK}` : MASK) : redactUrl(stood);
  if (leading) masked = masked.replace(/^http:\/\//, "");
  return masked.replace(/batonref(\d+)z/g, (token, i: string) => refs[Number(i)] ?? token);
}

/** A header value that is references and at most an auth scheme (`Bearer {{ secrets.token }}`) shows nothing secret. */
const onlyRefs = (value: unknown) => typeof value === "string" && hasTemplateRef(value) && /^\s*([A-Za-z][\w-]*\s+)?$/.test(withoutTemplateRefs(value, ""));

/**
 * `settings` as anyone may see them: the password and secret query parameters of every URL
 * masked, a Slack webhook's path (its secret) masked, and every header value masked (headers
 * are where webhooks carry tokens) but one that is only references. References stay as written.
 */
export function maskChannelSettings(type: string, settings: Record<string, unknown>): Record<string, unknown> {
  const masked: Record<string, unknown> = { ...settings };
  if (typeof settings.url === "string") masked.url = maskUrl(type, settings.url);
  if (settings.headers && typeof settings.headers === "object") masked.headers = Object.fromEntries(Object.entries(settings.headers).map(([key, value]) => [key, onlyRefs(value) ? value : MASK]));
  return masked;
}
