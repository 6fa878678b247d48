/**
 * Delivering one notification through a channel: the subject and message are the notify
 * action's templates, else the channel's, else the defaults (core/notification-messages.ts);
 * every template goes through renderNotificationTemplate. Then by type: a webhook gets the
 * channel's body template (default: the message with its context) as JSON; a Slack incoming
 * webhook a Block Kit message; an e-mail plain text with an HTML copy.
 *
 * The channel's `{{ variables.x }}` and `{{ secrets.x }}` references are resolved first
 * (channel-values.ts), for this delivery only; every secret value resolved is masked in what
 * it answers and throws.
 *
 * A delivery error is a NotificationDeliveryError, which the automation executor retries with
 * backoff (an unreachable SMTP server, a webhook answering 503); a template with no value
 * (TemplateError) is not retried. Errors name URLs masked: attempts are stored and shown.
 */
import { BatonError } from "../core/errors.ts";
import { excerpt } from "../core/excerpt.ts";
import { maskChannelSettings, NotificationChannelError, urlProblem, type NotificationChannelSpec } from "../core/notification-channels.ts";
import { defaultMessage, defaultSubject, emailHtml, slackMessage, type NotificationMessage } from "../core/notification-messages.ts";
import { renderNotificationTemplate, type NotificationContext } from "../core/notification-templates.ts";
import { redactedError, resolveNotificationRefs, type ChannelValues, type MessageTemplates } from "./channel-values.ts";

export type { MessageTemplates } from "./channel-values.ts";

/** A channel did not take a notification; retrying may help. */
export class NotificationDeliveryError extends BatonError {
  override name = "NotificationDeliveryError";
}

/** How long a webhook or Slack may take to answer. */
const HTTP_TIMEOUT_MS = 10_000;

const text = async (template: string | undefined, fallback: () => string, context: NotificationContext, field: string): Promise<string> => {
  if (template === undefined) return fallback();
  const value = await renderNotificationTemplate(template, context, field);
  return typeof value === "string" ? value : JSON.stringify(value);
};

async function post(channel: string, method: string, url: string, shownUrl: string, headers: Record<string, string>, body: unknown): Promise<{ status: number }> {
  let response: Response;
  try {
    response = await fetch(url, { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  } catch (error) {
    const reason = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${HTTP_TIMEOUT_MS} ms` : String((error as Error & { cause?: Error }).cause?.message ?? (error as Error).message);
    throw new NotificationDeliveryError(`channel ${channel}: ${method} ${shownUrl} failed: ${reason}`, { cause: error });
  }
  const answer = await response.text().catch(() => "");
  if (!response.ok) throw new NotificationDeliveryError(`channel ${channel}: ${method} ${shownUrl} answered ${response.status}: ${excerpt(answer, 200)}`);
  return { status: response.status };
}

/**
 * Sends one notification through `channel`; what it did (the HTTP status, the SMTP server's
 * answer), stored with the attempt. `field` prefixes template errors (`actions[1]`); `values`
 * are what the references of the channel and the templates name.
 */
export async function deliverNotification(
  channel: NotificationChannelSpec,
  context: NotificationContext,
  templates: MessageTemplates,
  field: string,
  values: ChannelValues,
  defaults: { subject(c: NotificationContext): string; message(c: NotificationContext): string } = { subject: defaultSubject, message: defaultMessage },
): Promise<Record<string, unknown>> {
  // Shown URLs are the stored settings' (references, not values), masked.
  const shownUrl = String(maskChannelSettings(channel.type, channel.settings as Record<string, unknown>).url);
  const resolved = await resolveNotificationRefs(channel, templates, field, values);
  try {
    const result = await deliverResolved(resolved.channel, context, resolved.templates, field, defaults, shownUrl);
    return JSON.parse(resolved.redact(JSON.stringify(result))) as Record<string, unknown>;
  } catch (error) {
    throw redactedError(error, resolved.redact);
  }
}

async function deliverResolved(
  channel: NotificationChannelSpec,
  context: NotificationContext,
  templates: MessageTemplates,
  field: string,
  defaults: { subject(c: NotificationContext): string; message(c: NotificationContext): string },
  shownUrl: string,
): Promise<Record<string, unknown>> {
  const s = channel.settings as Record<string, unknown>;
  const own = channel.type === "email" ? { subject: s.subject as string | undefined, message: s.body as string | undefined } : channel.type === "slack" ? { message: s.text as string | undefined } : {};
  // Template errors name where the template was written: the action's field, or the channel's.
  const ownField = { subject: "subject", message: channel.type === "email" ? "body" : "text" } as const;
  const at = (key: "subject" | "message") => (templates[key] !== undefined ? `${field}.${key}` : `channel ${channel.name}: settings.${ownField[key]}`);
  const message: NotificationMessage = {
    subject: await text(templates.subject ?? own.subject, () => defaults.subject(context), context, at("subject")),
    message: await text(templates.message ?? own.message, () => defaults.message(context), context, at("message")),
    url: context.url,
  };
  // The channel's own settings also read the message made above (a webhook's body, say).
  const full: NotificationContext = { ...context, subject: message.subject, message: message.message };
  const url = String(await renderNotificationTemplate(s.url, full, `channel ${channel.name}: settings.url`));
  // A URL given by a reference could not be checked when the channel was stored.
  const protocols = channel.type === "email" ? ["smtp:", "smtps:"] : ["http:", "https:"];
  const bad = urlProblem(url, protocols, channel.type === "email" ? "an SMTP server's URL (smtp:// or smtps://)" : "an http or https URL");
  if (bad) throw new NotificationChannelError("settings.url", `channel ${channel.name}: ${bad}`);
  switch (channel.type) {
    case "webhook": {
      const headers = (await renderNotificationTemplate(channel.settings.headers ?? {}, full, `channel ${channel.name}: settings.headers`)) as Record<string, string>;
      const body = channel.settings.body === undefined ? full : await renderNotificationTemplate(channel.settings.body, full, `channel ${channel.name}: settings.body`);
      return post(channel.name, channel.settings.method ?? "POST", url, shownUrl, headers, body);
    }
    case "slack":
      return post(channel.name, "POST", url, shownUrl, {}, slackMessage(message));
    case "email":
      try {
        // Loaded on first use: pulling in nodemailer costs every CLI call and server start that sends no mail.
        const { sendEmail } = await import("./notification-email.ts");
        return await sendEmail(url, { from: channel.settings.from, to: channel.settings.to, subject: message.subject, text: message.message, html: emailHtml(message) });
      } catch (error) {
        throw new NotificationDeliveryError(`channel ${channel.name}: e-mail through ${shownUrl} failed: ${(error as Error).message}`, { cause: error });
      }
  }
}
