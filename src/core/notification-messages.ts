/**
 * The messages notifications carry: a default subject and text made from a firing (used when
 * neither the channel nor the notify action gives a template — and the defaults must work for
 * every firing, a proactive one without an event included, so they are code, not templates),
 * and the formats the channels send: a Slack Block Kit message and an e-mail's HTML. Pure.
 */
import type { NotificationContext } from "./notification-templates.ts";

/** A notification, rendered: what every channel sends in its own format. */
export interface NotificationMessage {
  subject: string;
  message: string;
  /** The run's page (else the automation's) on the dashboard. */
  url: string;
}

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

function runLine(context: NotificationContext): string | null {
  const run = context.run;
  if (!run) return null;
  const state = (run.state as { name?: string } | undefined)?.name ?? "changed";
  const deployment = context.deployment ? ` (deployment ${context.deployment.name})` : "";
  const error = str((run.error as { message?: unknown } | null | undefined)?.message);
  return `Flow run ${str(run.name) ?? str(run.id)} of flow ${context.flow?.name ?? str(run.flowName) ?? "?"}${deployment} is ${state}.${error ? `\nError: ${error.slice(0, 500)}` : ""}`;
}

export function defaultSubject(context: NotificationContext): string {
  const count = Array.isArray(context.firing.events) ? context.firing.events.length : 0;
  const times = count > 1 ? ` (${count} times)` : "";
  const run = context.run;
  if (run) return `[Baton] ${context.automation.name}: ${context.flow?.name ?? str(run.flowName) ?? "flow"} run ${str(run.name) ?? ""} ${(run.state as { name?: string } | undefined)?.name ?? ""}${times}`.replace(/ {2,}/g, " ");
  if (context.event) return `[Baton] ${context.automation.name}: ${str(context.event.event) ?? "event"}${times}`;
  return `[Baton] ${context.automation.name}: the expected events did not come`;
}

export function defaultMessage(context: NotificationContext): string {
  const f = context.firing;
  const count = Array.isArray(f.events) ? f.events.length : 0;
  const when = typeof f.firedAt === "number" ? new Date(f.firedAt).toISOString() : "";
  const why =
    f.reason === "absence"
      ? `Automation ${context.automation.name} fired at ${when}: no matching event came between ${new Date(Number(f.windowStart)).toISOString()} and ${new Date(Number(f.windowEnd)).toISOString()}.`
      : `Automation ${context.automation.name} fired at ${when} after ${count} matching event(s)${context.event ? `, the last ${str(context.event.event)} of ${str((context.event.resource as { name?: string; id?: string } | undefined)?.name) ?? str((context.event.resource as { id?: string } | undefined)?.id)}` : ""}.`;
  return [runLine(context), why, context.url].filter(Boolean).join("\n");
}

/** Slack's mrkdwn treats &, < and > as markup. */
const slackEscape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** An incoming webhook's body: `text` (the fallback of notifications) and Block Kit blocks with a link to the run. */
export function slackMessage(m: NotificationMessage): { text: string; blocks: unknown[] } {
  return {
    text: `${m.subject}\n${m.message}`.slice(0, 3000),
    blocks: [
      { type: "header", text: { type: "plain_text", text: m.subject.slice(0, 150), emoji: true } },
      { type: "section", text: { type: "mrkdwn", text: slackEscape(m.message).slice(0, 3000) } },
      { type: "actions", elements: [{ type: "button", text: { type: "plain_text", text: "Open in Baton" }, url: m.url }] },
    ],
  };
}

const htmlEscape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A simple HTML copy of the plain-text body, with a link to the run. */
export function emailHtml(m: NotificationMessage): string {
  const paragraphs = m.message
    .split(/\n{2,}/)
    .map((p) => `<p>${htmlEscape(p).replace(/\n/g, "<br>")}</p>`)
    .join("\n");
  return `<!doctype html>\n<html><body style="font-family: sans-serif">\n<h3>${htmlEscape(m.subject)}</h3>\n${paragraphs}\n<p><a href="${htmlEscape(m.url)}">Open in Baton</a></p>\n</body></html>\n`;
}
