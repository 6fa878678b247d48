/**
 * Templates of notifications: the `{{ path }}` placeholders of automation templates
 * (automation-templates.ts), reading more. A message sees `event`, `automation` and `firing`
 * like any action, and — where the firing's event concerns a flow run — `run` (the flow run),
 * `flow`, `deployment`, and always `url` (the run's page on the dashboard, else the
 * automation's). A webhook's body and headers also see the `subject` and `message` made from
 * the other templates.
 *
 * Every template of a channel and of a notify action is filled in by `renderNotificationTemplate`,
 * and only by it. `{{ variables.x }}` and `{{ secrets.x }}` are not roots here: they are
 * resolved before (core/template-refs.ts, server/channel-values.ts). Async so that a root read
 * from the store can be added. Pure.
 */
import { renderTemplate, templateProblems, TEMPLATE_ROOTS } from "./automation-templates.ts";

/** What a message's templates may read. */
export const MESSAGE_ROOTS = [...TEMPLATE_ROOTS, "run", "flow", "deployment", "url"] as const;
/** What a webhook channel's url, headers and body may read: the message's values, and the message. */
export const BODY_ROOTS = [...MESSAGE_ROOTS, "subject", "message"] as const;

/** The values a notification's templates read (see the header); `run`, `flow`, `deployment` only for a flow run's event. */
export interface NotificationContext {
  automation: { id: string; name: string };
  firing: Record<string, unknown>;
  event?: Record<string, unknown>;
  run?: Record<string, unknown>;
  flow?: { id: string; name: string };
  deployment?: { id: string; name: string; workPool: string | null; tags: string[] };
  url: string;
  subject?: string;
  message?: string;
}

/** `value` with its placeholders filled in from `context`; a TemplateError naming `field` and the path otherwise. */
export async function renderNotificationTemplate(value: unknown, context: NotificationContext, field: string): Promise<unknown> {
  return renderTemplate(value, context as unknown as Record<string, unknown>, field);
}

/** Why the placeholders of `value` cannot work (each naming its field), for checks before anything is stored. */
export function notificationTemplateProblems(value: unknown, field: string, roots: readonly string[] = MESSAGE_ROOTS): { field: string; message: string }[] {
  return templateProblems(value, field, roots);
}
