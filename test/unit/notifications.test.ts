/**
 * The pure parts of notifications: channel specs checked naming the field, settings masked,
 * the notify action's templates and roots, the default messages (a proactive firing has no
 * event, and the defaults must still work) and the Slack and HTML formats.
 */
import { describe, expect, it } from "vitest";
import { AutomationSpecError, compileAutomationSpec } from "../../src/core/automation-spec.ts";
import { compileChannelSpec, maskChannelSettings, NotificationChannelError } from "../../src/core/notification-channels.ts";
import { defaultMessage, defaultSubject, emailHtml, slackMessage } from "../../src/core/notification-messages.ts";
import type { NotificationContext } from "../../src/core/notification-templates.ts";

const channelError = (input: unknown): NotificationChannelError => {
  try {
    compileChannelSpec(input);
  } catch (error) {
    if (error instanceof NotificationChannelError) return error;
    throw error;
  }
  throw new Error("expected a NotificationChannelError");
};

describe("notification channel specs", () => {
  it("accepts each type and keeps only what was written", () => {
    expect(compileChannelSpec({ name: "s", type: "slack", settings: { url: "https://hooks.slack.com/services/T/B/x" } })).toEqual({ name: "s", type: "slack", settings: { url: "https://hooks.slack.com/services/T/B/x" } });
    const email = { name: "e", type: "email", settings: { url: "smtps://u:p@smtp.example.com:465", from: "b@example.com", to: ["a@example.com"], subject: "{{ flow.name }} {{ run.state.name }}" } };
    expect(compileChannelSpec(email)).toEqual(email);
    expect(compileChannelSpec({ name: "w", type: "webhook", settings: { url: "http://h/x", body: { m: "{{ message }}", s: "{{ subject }}" } } }).type).toBe("webhook");
  });

  it("names the field of what cannot deliver", () => {
    expect(channelError({ name: "x", type: "sms", settings: {} }).field).toBe("type");
    expect(channelError({ name: "x", type: "slack", settings: {} }).field).toBe("settings.url");
    expect(channelError({ name: "x", type: "slack", settings: { url: "ftp://h" } }).field).toBe("settings.url");
    expect(channelError({ name: "x", type: "slack", settings: { url: "https://h", text: "{{ message }}" } })).toMatchObject({ field: "settings.text", message: expect.stringMatching(/refers to "message"/) });
    expect(channelError({ name: "x y", type: "slack", settings: { url: "https://h" } }).field).toBe("name");
    expect(channelError({ name: "x", type: "email", settings: { url: "smtp://h", from: "b@e.com", to: [] } }).field).toBe("settings.to");
    expect(channelError({ name: "x", type: "webhook", settings: { url: "https://h", method: "GET" } }).field).toBe("settings.method");
    expect(channelError("slack").field).toBe("spec");
  });

  it("masks passwords, secret parameters, a Slack webhook's path and every header value", () => {
    expect(maskChannelSettings("email", { url: "smtp://u:pw@h:587", from: "f" })).toEqual({ url: "smtp://u:***@h:587", from: "f" });
    expect(maskChannelSettings("slack", { url: "https://hooks.slack.com/services/T/B/secret", text: "t" })).toEqual({ url: "https://hooks.slack.com/***", text: "t" });
    expect(maskChannelSettings("webhook", { url: "https://h/x?token=t&a=1", headers: { authorization: "Bearer x" } })).toEqual({ url: "https://h/x?token=***&a=1", headers: { authorization: "***" } });
  });

  it("takes {{ variables.x }} and {{ secrets.x }} anywhere in settings, and shows them as written", () => {
    const settings = { url: "{{ variables.base }}/x?token={{ secrets.t }}", headers: { authorization: "Bearer {{ secrets.t }}", "x-key": "k{{ secrets.t }}" }, body: { to: "{{ variables.who }}" } };
    expect(compileChannelSpec({ name: "w", type: "webhook", settings }).settings).toEqual(settings);
    expect(compileChannelSpec({ name: "e", type: "email", settings: { url: "smtp://u:{{ secrets.p }}@h:25", from: "{{ variables.from }}", to: ["{{ variables.to }}"] } }).type).toBe("email");
    expect(maskChannelSettings("webhook", settings)).toEqual({ ...settings, url: "{{ variables.base }}/x?token=***", headers: { authorization: "Bearer {{ secrets.t }}", "x-key": "***" } });
    expect(maskChannelSettings("email", { url: "smtp://u:{{ secrets.p }}@h:25" }).url).toBe("smtp://u:***@h:25");
    // A secret in a notify action's message is refused; a variable is fine.
    const spec = (message: string) => ({ name: "a", trigger: { event: "x.y" }, actions: [{ type: "notify", channel: "c", message }] });
    expect(compileAutomationSpec(spec("at {{ variables.site }}")).spec.actions).toHaveLength(1);
    expect(() => compileAutomationSpec(spec("{{ secrets.t }}"))).toThrow(/actions\[0\]\.message: \{\{ secrets\.t \}\} may not be used in a notify action's subject or message/);
  });
});

describe("the notify action", () => {
  const automation = (actions: unknown[], trigger: Record<string, unknown> = { event: "baton.flow-run.Failed" }) => compileAutomationSpec({ name: "a", trigger, actions });
  const error = (actions: unknown[], trigger?: Record<string, unknown>): AutomationSpecError => {
    try {
      automation(actions, trigger);
    } catch (e) {
      if (e instanceof AutomationSpecError) return e;
      throw e;
    }
    throw new Error("expected an AutomationSpecError");
  };

  it("reads the run, its flow, its deployment and the link besides event, automation and firing", () => {
    expect(automation([{ type: "notify", channel: "c", subject: "{{ flow.name }}", message: "{{ run.name }} {{ deployment.name }} {{ url }} {{ event.event }}" }]).spec.actions).toHaveLength(1);
    expect(error([{ type: "notify", channel: "c", message: "{{ secrets.x }}" }])).toMatchObject({ field: "actions[0].message" });
    expect(error([{ type: "notify", channel: "c", colour: "red" }]).field).toBe("actions[0].colour");
    // Other actions do not read runs.
    expect(error([{ type: "emit-event", event: "a.b", resource: { id: "{{ run.id }}" } }]).field).toBe("actions[0].resource.id");
  });

  it("refuses the event's run in a proactive automation, which fires because no event came", () => {
    const e = error([{ type: "notify", channel: "c", message: "{{ run.name }}" }], { event: "x", posture: "proactive", within: "1h" });
    expect(e).toMatchObject({ field: "actions[0].message", message: expect.stringContaining("a proactive trigger fires because no event came") });
    expect(automation([{ type: "notify", channel: "c", message: "{{ automation.name }} {{ url }}" }], { event: "x", posture: "proactive", within: "1h" }).spec.name).toBe("a");
  });
});

describe("notification messages", () => {
  const firing = { id: "f", bucket: "", reason: "threshold", firedAt: 0, windowStart: 0, windowEnd: 0, events: [{}, {}, {}] };
  const run: NotificationContext = {
    automation: { id: "a", name: "etl-failing" },
    firing,
    event: { event: "baton.flow-run.Failed", resource: { id: "r1", name: "brave-otter" } },
    run: { id: "r1", name: "brave-otter", flowName: "etl", state: { name: "Failed" }, error: { message: "boom" } },
    flow: { id: "fl", name: "etl" },
    deployment: { id: "d", name: "etl-prod", workPool: null, tags: [] },
    url: "https://baton.example.com/runs/r1",
  };

  it("says which run of which flow, how often, why, and links it", () => {
    expect(defaultSubject(run)).toBe("[Baton] etl-failing: etl run brave-otter Failed (3 times)");
    expect(defaultMessage(run)).toMatch(/^Flow run brave-otter of flow etl \(deployment etl-prod\) is Failed\.\nError: boom\nAutomation etl-failing fired at .* after 3 matching event\(s\), the last baton\.flow-run\.Failed of brave-otter\.\nhttps:\/\/baton\.example\.com\/runs\/r1$/);
  });

  it("works for a proactive firing, which has no event", () => {
    const absent: NotificationContext = { automation: { id: "a", name: "nightly" }, firing: { ...firing, reason: "absence", events: [] }, url: "https://b/automations/nightly" };
    expect(defaultSubject(absent)).toBe("[Baton] nightly: the expected events did not come");
    expect(defaultMessage(absent)).toMatch(/no matching event came between/);
  });

  it("builds a Block Kit message with a button to the run, and escapes mrkdwn and HTML", () => {
    const m = { subject: "s <1>", message: "a & <b>", url: "https://b/runs/1" };
    expect(slackMessage(m)).toEqual({
      text: "s <1>\na & <b>",
      blocks: [
        { type: "header", text: { type: "plain_text", text: "s <1>", emoji: true } },
        { type: "section", text: { type: "mrkdwn", text: "a &amp; &lt;b&gt;" } },
        { type: "actions", elements: [{ type: "button", text: { type: "plain_text", text: "Open in Baton" }, url: "https://b/runs/1" }] },
      ],
    });
    expect(emailHtml(m)).toContain("<p>a &amp; &lt;b&gt;</p>");
    expect(emailHtml(m)).toContain('<a href="https://b/runs/1">Open in Baton</a>');
  });
});
