/**
 * Delivering one notification through a channel: the subject and message are the notify
 * action's templates, else the channel's, else the defaults (core/notification-messages.ts);
 * every template goes through renderNotificationTemplate. Then by type: a webhook gets the
 * channel's body template (default: the message with its context) as JSON; a Slack incoming
 * webhook a Block Kit message; an e-mail plain text with an HTML copy.
 *
 * A delivery error is a NotificationDeliveryError, which the automation executor retries with
 * backoff (an unreachable SMTP server, a webhook answering 503); a template with no value
 * (TemplateError) is not retried. Errors name URLs masked: attempts are stored and shown.
 */
import { BatonError } from "../core/errors.ts";
import { excerpt } from "../core/excerpt.ts";
import { maskChannelSettings, type NotificationChannelSpec } from "../core/notification-channels.ts";
import { defaultMessage, defaultSubject, emailHtml, slackMessage, type NotificationMessage } from "../core/notification-messages.ts";
import { renderNotificationTemplate, type NotificationContext } from "../core/notification-templates.ts";
import { sendEmail } from "./notification-email.ts";

/** A channel did not take a notification; retrying may help. */
export class NotificationDeliveryError extends BatonError {
  override name = "NotificationDeliveryError";
}

/** How long a webhook or Slack may take to answer. */
const HTTP_TIMEOUT_MS = 10_000;

/** The subject and message templates that win over the channel's (a notify action's own). */
export interface MessageTemplates {
  subject?: string;
  message?: string;
}

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
 * answer), stored with the attempt. `field` prefixes template errors (`actions[1]`).
 */
export async function deliverNotification(
  channel: NotificationChannelSpec,
  context: NotificationContext,
  templates: MessageTemplates,
  field: string,
  defaults: { subject(c: NotificationContext): string; message(c: NotificationContext): string } = { subject: defaultSubject, message: defaultMessage },
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
  const shownUrl = String(maskChannelSettings(channel.type, s).url);
  // The channel's own settings also read the message made above (a webhook's body, say).
  const full: NotificationContext = { ...context, subject: message.subject, message: message.message };
  const url = String(await renderNotificationTemplate(s.url, full, `channel ${channel.name}: settings.url`));
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
        return await sendEmail(url, { from: channel.settings.from, to: channel.settings.to, subject: message.subject, text: message.message, html: emailHtml(message) });
      } catch (error) {
        throw new NotificationDeliveryError(`channel ${channel.name}: e-mail through ${shownUrl} failed: ${(error as Error).message}`, { cause: error });
      }
  }
}
