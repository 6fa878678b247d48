/**
 * Creates a notification channel from a YAML or JSON spec, or replaces the one of the same
 * name (its settings given in full: the list shows them masked, so they cannot be edited in
 * place). Each type's example shows the settings it takes; the server checks the spec and its
 * refusal, naming the field, is shown beside the editor.
 */
import { useState } from "react";
import YAML from "yaml";
import { post, put } from "./api.ts";
import type { ChannelType, NotificationChannel } from "./automations.ts";
import { useSubmit } from "./submit.ts";

const EXAMPLES: Record<ChannelType, string> = {
  webhook: `name: ops-hook
type: webhook
settings:
  url: https://hooks.example.com/baton
  method: POST                      # POST, PUT or PATCH
  headers: { Authorization: "Bearer TOKEN" }
  # body: a JSON template; the default is the message with its context
`,
  slack: `name: ml-slack
type: slack
settings:
  url: https://hooks.slack.com/services/T000/B000/XXXX   # an incoming webhook
  text: "{{ flow.name }}: run {{ run.name }} {{ run.state.name }}"
`,
  email: `name: ml-team
type: email
settings:
  url: smtp://user:pass@smtp.example.com:587   # smtps://host:465 for TLS
  from: baton@example.com
  to: [ml-team@example.com]
  subject: "{{ flow.name }}: run {{ run.name }} {{ run.state.name }}"
`,
};

export function ChannelForm({ existing, onSaved }: { existing: readonly string[]; onSaved(channel: NotificationChannel, replaced: boolean): void }) {
  const [type, setType] = useState<ChannelType>("webhook");
  const [text, setText] = useState(EXAMPLES.webhook);
  const { onSubmit, busy, error } = useSubmit(async () => {
    let spec: unknown;
    try {
      spec = YAML.parse(text) as unknown;
    } catch (e) {
      throw new Error(`The spec is not YAML or JSON: ${(e as Error).message}`);
    }
    const name = (spec as { name?: unknown } | null)?.name;
    const replacing = typeof name === "string" && existing.includes(name);
    const saved = replacing ? await put<NotificationChannel>(`/notification-channels/${encodeURIComponent(name)}`, spec) : await post<NotificationChannel>("/notification-channels", spec);
    onSaved(saved, replacing);
  });
  return (
    <form className="card run-form" data-testid="channel-form" onSubmit={onSubmit}>
      <label>
        <span>Type</span>
        <select
          aria-label="channel type"
          value={type}
          onChange={(e) => {
            const next = e.target.value as ChannelType;
            setType(next);
            setText(EXAMPLES[next]);
          }}
        >
          <option value="webhook">webhook</option>
          <option value="slack">slack</option>
          <option value="email">email</option>
        </select>
      </label>
      <label>
        <span>
          Spec <span className="muted">(YAML or JSON; a channel of the same name is replaced — see the README's Notifications section)</span>
        </span>
        <textarea aria-label="channel spec" rows={9} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
      </label>
      {error && (
        <p className="error" data-testid="channel-error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Saving…" : "Save channel"}
      </button>
    </form>
  );
}
