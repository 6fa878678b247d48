/**
 * The `{{ variables.x }}` and `{{ secrets.x }}` references of a notification, resolved just
 * before it is delivered: the channel's settings may read both, a notify action's subject and
 * message only variables (they are stored with the automation and shown). The resolved settings
 * live for one delivery and are never stored; what it answers or throws has every resolved
 * secret value replaced by `***` (`redact`), since attempts, test results, events and logs keep it.
 */
import type { NotificationChannelSpec } from "../core/notification-channels.ts";
import { findTemplateRefs, resolveTemplateRefs, secretRedactor } from "../core/template-refs.ts";
import { SecretNotFoundError, type SecretReader } from "../services/secrets.ts";
import type { VariableStore } from "../store/value-types.ts";

/** Where a delivery reads the values its references name. */
export interface ChannelValues {
  /** The variable's value, or undefined when there is none. */
  variable(name: string): Promise<{ value: unknown } | undefined>;
  /** The secret's value, or undefined when there is none. */
  secret(name: string): Promise<string | undefined>;
}

/** The database's variables, and its secrets opened with this process's key. */
export function storeChannelValues(variables: Pick<VariableStore, "getVariable">, secrets: SecretReader): ChannelValues {
  return {
    variable: (name) => variables.getVariable(name),
    secret: async (name) => {
      try {
        return await secrets.reveal(name);
      } catch (error) {
        if (error instanceof SecretNotFoundError) return undefined;
        throw error;
      }
    },
  };
}

/** The subject and message templates that win over the channel's (a notify action's own). */
export interface MessageTemplates {
  subject?: string;
  message?: string;
}

export interface ResolvedNotification {
  channel: NotificationChannelSpec;
  templates: MessageTemplates;
  /** `text` with every resolved secret value (and its URL-encoded forms) replaced by `***`. */
  redact(text: string): string;
}

/**
 * The channel and templates with their references replaced by values; a TemplateRefError naming
 * the field (`channel hook: settings.headers.Authorization`, `actions[0].message`) when one names nothing.
 */
export async function resolveNotificationRefs(channel: NotificationChannelSpec, templates: MessageTemplates, field: string, values: ChannelValues): Promise<ResolvedNotification> {
  const settingsField = `channel ${channel.name}: settings`;
  const refs = [...findTemplateRefs(channel.settings, settingsField), ...findTemplateRefs(templates, field)];
  if (!refs.length) return { channel, templates, redact: (text) => text };
  const variables = new Map<string, unknown>();
  const secrets = new Map<string, string>();
  for (const ref of refs) {
    if (ref.kind === "variables" && !variables.has(ref.name)) {
      const found = await values.variable(ref.name);
      if (found) variables.set(ref.name, found.value);
    }
    if (ref.kind === "secrets" && !secrets.has(ref.name)) {
      const found = await values.secret(ref.name);
      if (found !== undefined) secrets.set(ref.name, found);
    }
  }
  const redact = secretRedactor([...secrets.values()]);
  return {
    channel: { ...channel, settings: resolveTemplateRefs(channel.settings, { variables, secrets }, settingsField) } as NotificationChannelSpec,
    // No secrets map: a secret in an action's templates is refused (automation-spec.ts), and would be here.
    templates: resolveTemplateRefs(templates, { variables }, field),
    redact,
  };
}

/** `error` (and its causes) with `redact` applied to their messages and stacks, in place. */
export function redactedError(error: unknown, redact: (text: string) => string): unknown {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    e.message = redact(e.message);
    if (e.stack) e.stack = redact(e.stack);
  }
  return error;
}
