/**
 * Notification channels and the notify action on SQLite and PostgreSQL, delivering to a real
 * local HTTP receiver (generic webhook, Slack incoming webhook) and a real local SMTP listener
 * (smtp-server) started here: channels are stored, answered masked, and refused naming the
 * field when they cannot deliver; a test message goes through each type; three real failing
 * runs of a flow within ten minutes send one e-mail and one Slack-format POST, linking the
 * run's page; an unreachable SMTP server is a retried, recorded failure with its event.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configure, flow, shutdown } from "../../src/index.ts";
import { newId } from "../../src/core/ids.ts";
import type { AutomationFiring } from "../../src/store/automation-types.ts";
import { randomBytes } from "node:crypto";
import { makeSecretKey } from "../../src/core/secret-cipher.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import { DIALECTS } from "../support/databases.ts";
import { closedPort, startHttpReceiver, startSmtpListener, type HttpReceiver, type SmtpListener } from "../support/notification-receivers.ts";

const HOUR = 3_600_000;
const MANUAL = { evaluateMs: HOUR, actionMs: HOUR, actionBackoffMs: 20, actionBackoffMaxMs: 100, actionAttempts: 3 };
const PUBLIC_URL = "https://baton.example.com";
const SECRET = "s3cret-smtp-pass";
const SLACK_PATH = "/services/T0001/B0001/slack-secret-token";
const KEY = randomBytes(32);
const HOOK_TOKEN = "hook-t0ken-1f9a";
const PATH_TOKEN = "path-t0ken-77c2";

/** A message as text: quoted-printable soft line breaks and escapes undone. */
const decoded = (raw: string) => raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));

const etl = flow(async function nightlyEtl() {
  throw new Error("the warehouse is unreachable");
});
const other = flow(async function otherFlow() {
  throw new Error("unrelated");
});

describe.each(DIALECTS)("notifications on %s", (dialect) => {
  let api: ApiHarness;
  let hooks: HttpReceiver;
  let smtp: SmtpListener;
  let home: string;
  const service = () => api.server.automationService!;
  const firings = async (name: string): Promise<AutomationFiring[]> => (await api.call("GET", `/api/automations/${name}/firings`)).body.items;
  const post = async (url: string, body: unknown, status = 201) => {
    const res = await api.call("POST", url, body);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body;
  };
  const emailChannel = (name: string, url: string) => ({ name, type: "email", settings: { url, from: "Baton <baton@example.com>", to: ["ml-team@example.com"] } });

  beforeAll(async () => {
    [hooks, smtp] = await Promise.all([startHttpReceiver(), startSmtpListener("alice", SECRET)]);
    api = await apiHarness(dialect, { automationService: MANUAL, publicUrl: PUBLIC_URL, secretKey: () => makeSecretKey(KEY, "test") });
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-notifications-"));
    await configure({ databaseUrl: api.url, resultsDir: path.join(home, "results"), logLevel: "silent" });
    await post("/api/notification-channels", emailChannel("ml-team", `smtp://alice:${SECRET}@127.0.0.1:${smtp.port}`));
    await post("/api/notification-channels", { name: "ml-slack", type: "slack", settings: { url: `${hooks.url}${SLACK_PATH}` } });
  });
  afterAll(async () => {
    await shutdown();
    await api?.server.automationService?.stop();
    await api?.close();
    await Promise.all([hooks?.close(), smtp?.close()]);
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it("stores channels and answers them with their credentials masked, everywhere", async () => {
    const webhook = await post("/api/notification-channels", {
      name: "ops-hook",
      type: "webhook",
      settings: { url: `${hooks.url}/ops?token=abc123`, headers: { authorization: "Bearer top-secret" }, body: { text: "{{ subject }}", run: "{{ run.id }}" } },
    });
    expect(webhook.settings).toEqual({ url: `${hooks.url}/ops?token=***`, headers: { authorization: "***" }, body: { text: "{{ subject }}", run: "{{ run.id }}" } });
    const listed = (await api.call("GET", "/api/notification-channels")).body.items;
    expect(listed.map((c: { name: string }) => c.name)).toEqual(["ml-slack", "ml-team", "ops-hook"]);
    const text = JSON.stringify(listed);
    for (const secret of [SECRET, "slack-secret-token", "top-secret", "abc123"]) expect(text).not.toContain(secret);
    expect((await api.call("GET", "/api/notification-channels/ml-team")).body.settings.url).toBe(`smtp://alice:***@127.0.0.1:${smtp.port}`);
    expect((await api.call("GET", "/api/notification-channels/ml-slack")).body.settings.url).toBe(`${hooks.url}/***`);
    // Replaced, then deleted; a second one of the same name is a conflict.
    expectError(await api.call("POST", "/api/notification-channels", { name: "ops-hook", type: "slack", settings: { url: hooks.url } }), 409, /already exists/);
    const replaced = await api.call("PUT", "/api/notification-channels/ops-hook", { name: "ops-hook", type: "webhook", settings: { url: `${hooks.url}/ops2`, method: "PUT" } });
    expect(replaced.body.settings).toEqual({ url: `${hooks.url}/ops2`, method: "PUT" });
    expect((await api.call("DELETE", "/api/notification-channels/ops-hook")).status).toBe(204);
    expect((await api.call("GET", "/api/notification-channels/ops-hook")).status).toBe(404);
  });

  it("refuses a channel that cannot deliver with a 400 naming the field, and stores nothing", async () => {
    const good = emailChannel("bad", `smtp://127.0.0.1:${smtp.port}`);
    const cases: [unknown, string, RegExp][] = [
      [{ ...good, type: "pager" }, "body.type", /^body\.type must be one of webhook, slack, email/],
      [{ ...good, settings: { ...good.settings, url: "not a url" } }, "body.settings.url", /^body\.settings\.url must be an SMTP server's URL/],
      [{ ...good, settings: { ...good.settings, url: "http://mail.example.com" } }, "body.settings.url", /^body\.settings\.url must be an SMTP server's URL/],
      [{ name: "bad", type: "slack", settings: { url: "hooks.slack.com/x" } }, "body.settings.url", /^body\.settings\.url must be a Slack incoming webhook's https URL/],
      [{ ...good, settings: { ...good.settings, subject: "{{ nope.x }} failed" } }, "body.settings.subject", /^body\.settings\.subject: "\{\{ nope\.x \}\}" refers to "nope"/],
      [{ ...good, settings: { ...good.settings, body: "{{ run..name }}" } }, "body.settings.body", /is not a template path/],
      [{ ...good, settings: { ...good.settings, to: ["nobody"] } }, "body.settings.to[0]", /must be an e-mail address/],
      [{ ...good, settings: { ...good.settings, colour: "red" } }, "body.settings.colour", /^body\.settings\.colour is not a field here/],
      [{ name: "bad", type: "webhook", settings: { url: hooks.url, body: { x: "{{ secrets }}" } } }, "body.settings.body.x", /refers to "secrets"/],
    ];
    for (const [spec, field, message] of cases) {
      const res = await api.call("POST", "/api/notification-channels", spec);
      expectError(res, 400, message);
      expect(res.body.error.details.field).toBe(field);
    }
    expect((await api.call("GET", "/api/notification-channels/bad")).status).toBe(404);
    // An automation naming a channel that does not exist is refused the same way.
    const unknown = await api.call("POST", "/api/automations", { name: "x", trigger: { event: "x.y" }, actions: [{ type: "emit-event", event: "a.b", resource: { id: "r" } }, { type: "notify", channel: "nobody" }] });
    expectError(unknown, 400, /^body\.actions\[1\]\.channel: notification channel "nobody" does not exist/);
    expect(unknown.body.error.details.field).toBe("body.actions[1].channel");
  });

  it("sends a test message through each channel type", async () => {
    await post("/api/notification-channels", { name: "hook", type: "webhook", settings: { url: `${hooks.url}/generic`, headers: { "x-token": "t" } } });
    const before = { mails: smtp.mails.length, requests: hooks.requests.length };
    for (const name of ["ml-team", "ml-slack", "hook"]) {
      const res = await post(`/api/notification-channels/${name}/test`, undefined, 200);
      expect(res, name).toMatchObject({ channel: name, ok: true });
    }
    const [mail, ...moreMail] = smtp.mails.slice(before.mails);
    expect(moreMail).toEqual([]);
    expect(mail).toMatchObject({ from: "baton@example.com", to: ["ml-team@example.com"], user: "alice" });
    expect(decoded(mail!.raw)).toMatch(/Subject: \[Baton\] a test of notification channel ml-team/);
    const [slack, generic] = hooks.requests.slice(before.requests);
    expect(slack).toMatchObject({ method: "POST", path: SLACK_PATH, body: { text: expect.stringContaining("a test of notification channel ml-slack") } });
    expect(slack!.body.blocks.map((b: { type: string }) => b.type)).toEqual(["header", "section", "actions"]);
    expect(generic).toMatchObject({ method: "POST", path: "/generic", headers: { "x-token": "t" }, body: { subject: "[Baton] a test of notification channel hook", event: { event: "baton.notification.test" } } });
    // A failing channel: the answer says why, nothing is thrown.
    hooks.status = 503;
    const failed = await post("/api/notification-channels/hook/test", undefined, 200);
    hooks.status = 200;
    expect(failed).toMatchObject({ ok: false, error: `channel hook: POST ${hooks.url}/generic answered 503: failing on purpose` });
    expect((await api.call("POST", "/api/notification-channels/nobody/test")).status).toBe(404);
  });

  it("three failures of a flow within ten minutes send one e-mail and one Slack-format POST", async () => {
    await post("/api/automations", {
      name: "etl-failing",
      trigger: { event: "baton.flow-run.Failed", threshold: 3, within: "10m", for_each: "related.flow" },
      actions: [
        { type: "notify", channel: "ml-team" },
        { type: "notify", channel: "ml-slack", message: "*{{ flow.name }}* failed 3 times; the last run {{ run.name }}: {{ run.error.message }}" },
      ],
    });
    // A channel in use be deleted out from under the automation.
    expectError(await api.call("DELETE", "/api/notification-channels/ml-team"), 409, /used by automation\(s\) etl-failing/);
    const before = { mails: smtp.mails.length, requests: hooks.requests.length };
    const runs = [];
    for (let i = 0; i < 3; i++) {
      runs.push(await etl.run());
      // Another flow's failure counts in its own window (for_each: related.flow).
      if (i === 0) await other.run();
      await service().evaluate();
      await service().execute();
    }
    expect(runs.map((r) => r.state.name)).toEqual(["Failed", "Failed", "Failed"]);
    const last = runs[2]!;
    const mails = smtp.mails.slice(before.mails);
    const posts = hooks.requests.slice(before.requests);
    expect(mails).toHaveLength(1);
    expect(posts).toHaveLength(1);

    const mail = decoded(mails[0]!.raw);
    expect(mails[0]).toMatchObject({ to: ["ml-team@example.com"], user: "alice" });
    expect(mail).toMatch(new RegExp(`Subject: \\[Baton\\] etl-failing: nightlyEtl run ${last.name ?? ""}`));
    expect(mail).toContain("(3 times)");
    expect(mail).toContain("Error: the warehouse is unreachable");
    expect(mail).toContain(`${PUBLIC_URL}/runs/${last.id}`);
    expect(mail).toMatch(/Content-Type: text\/html/);
    expect(mail).toContain(`<a href=3D"${PUBLIC_URL}/runs/${last.id}">`.replace(/=3D/g, "="));

    const slack = posts[0]!;
    expect(slack.path).toBe(SLACK_PATH);
    expect(slack.headers["content-type"]).toBe("application/json");
    expect(slack.body.blocks).toEqual([
      { type: "header", text: { type: "plain_text", text: expect.stringContaining("etl-failing: nightlyEtl run"), emoji: true } },
      { type: "section", text: { type: "mrkdwn", text: `*nightlyEtl* failed 3 times; the last run ${last.name}: the warehouse is unreachable` } },
      { type: "actions", elements: [{ type: "button", text: { type: "plain_text", text: "Open in Baton" }, url: `${PUBLIC_URL}/runs/${last.id}` }] },
    ]);
    expect(slack.body.text).toContain("failed 3 times");

    const [firing, ...more] = await firings("etl-failing");
    expect(more).toEqual([]);
    expect(firing!.actions).toMatchObject([
      { type: "notify", status: "succeeded", attempts: 1, outcomes: [{ ok: true, result: { channel: "ml-team", accepted: ["ml-team@example.com"] } }] },
      { type: "notify", status: "succeeded", attempts: 1, outcomes: [{ ok: true, result: { channel: "ml-slack", status: 200 } }] },
    ]);
    // A fourth failure starts a new window: nothing is sent.
    await etl.run();
    await service().evaluate();
    await service().execute();
    expect(smtp.mails.length - before.mails).toBe(1);
    expect(hooks.requests.length - before.requests).toBe(1);
    await api.call("DELETE", "/api/automations/etl-failing");
  });

  it("an unreachable SMTP server is a recorded, retried delivery failure, not a crash", async () => {
    const port = await closedPort();
    await post("/api/notification-channels", emailChannel("dead-smtp", `smtp://alice:${SECRET}@127.0.0.1:${port}`));
    const a = await post("/api/automations", { name: "to-dead-smtp", trigger: { event: "dead.smtp" }, actions: [{ type: "notify", channel: "dead-smtp", subject: "about {{ event.payload.key }}" }] });
    await api.store.emitEvents([{ id: newId(), occurred: Date.now(), event: "dead.smtp", resource: { id: "r" }, related: [], payload: { key: "k" } }]);
    await service().evaluate();
    const deadline = Date.now() + 20_000;
    let status = "pending";
    while (status !== "failed" && Date.now() < deadline) {
      await service().execute();
      status = (await firings("to-dead-smtp"))[0]!.actions[0]!.status;
      await new Promise((r) => setTimeout(r, 30));
    }
    const action = (await firings("to-dead-smtp"))[0]!.actions[0]!;
    expect(action).toMatchObject({ status: "failed", attempts: 3 });
    for (const outcome of action.outcomes) {
      expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(new RegExp(`^channel dead-smtp: e-mail through smtp://alice:\\*\\*\\*@127\\.0\\.0\\.1:${port} failed: .*ECONNREFUSED`)) });
      expect(outcome.error).not.toContain(SECRET);
    }
    const failed = (await api.store.listEvents({ event: ["baton.automation.action-failed"], resource: a.id })).items;
    expect(failed).toHaveLength(1);
    expect(failed[0]!.payload).toMatchObject({ type: "notify", attempts: 3, error: expect.stringContaining("ECONNREFUSED") });
    expect((await api.call("GET", "/api/health")).status).toBe(200);
    // `notification test` against it answers the failure.
    expect(await post("/api/notification-channels/dead-smtp/test", undefined, 200)).toMatchObject({ ok: false, error: expect.stringContaining("ECONNREFUSED") });
  });

  it("resolves {{ variables.x }} and {{ secrets.x }} in channel settings at delivery, and never shows a secret's value", async () => {
    const put = async (url: string, body: unknown) => expect((await api.call("PUT", url, body)).status).toBeLessThan(202);
    await put("/api/variables/hook-base", { value: hooks.url });
    await put("/api/secrets/hook-token", { value: HOOK_TOKEN });
    await put("/api/secrets/path-token", { value: PATH_TOKEN });
    await put("/api/secrets/smtp-pass", { value: SECRET });
    const spec = { name: "ref-hook", type: "webhook", settings: { url: "{{ variables.hook-base }}/hook", headers: { Authorization: "Bearer {{ secrets.hook-token }}" } } };

    // A reference to a secret that does not exist: 400 naming the field, nothing stored.
    const missing = await api.call("POST", "/api/notification-channels", { ...spec, settings: { ...spec.settings, headers: { Authorization: "Bearer {{ secrets.nope-token }}" } } });
    expectError(missing, 400, /^body\.settings\.headers\.Authorization: secret "nope-token" does not exist/);
    expect(missing.body.error.details.field).toBe("body.settings.headers.Authorization");
    expect((await api.call("GET", "/api/notification-channels/ref-hook")).status).toBe(404);
    // A secret in a notify action's message is refused: the automation is shown in clear.
    const inMessage = await api.call("POST", "/api/automations", { name: "leaky", trigger: { event: "x.y" }, actions: [{ type: "notify", channel: "ml-slack", message: "token {{ secrets.hook-token }}" }] });
    expectError(inMessage, 400, /^body\.actions\[0\]\.message: \{\{ secrets\.hook-token \}\} may not be used in a notify action's subject or message/);

    // Stored with its references, answered with them (never values).
    const created = await post("/api/notification-channels", spec);
    expect(created.settings).toEqual(spec.settings);
    expect((await api.call("GET", "/api/notification-channels/ref-hook")).body.settings).toEqual(spec.settings);

    // `test` delivers with the URL and header resolved.
    let before = hooks.requests.length;
    expect(await post("/api/notification-channels/ref-hook/test", undefined, 200)).toMatchObject({ ok: true, result: { status: 200 } });
    const [tested] = hooks.requests.slice(before);
    expect(tested).toMatchObject({ path: "/hook", headers: { authorization: `Bearer ${HOOK_TOKEN}` } });

    // An automation's notify goes through it; its message may read variables.
    await post("/api/automations", { name: "via-refs", trigger: { event: "refs.ping" }, actions: [{ type: "notify", channel: "ref-hook", subject: "ping from {{ variables.hook-base }}" }] });
    before = hooks.requests.length;
    await api.store.emitEvents([{ id: newId(), occurred: Date.now(), event: "refs.ping", resource: { id: "r" }, related: [], payload: {} }]);
    await service().evaluate();
    await service().execute();
    const [notified] = hooks.requests.slice(before);
    expect(notified).toMatchObject({ path: "/hook", headers: { authorization: `Bearer ${HOOK_TOKEN}` }, body: { subject: `ping from ${hooks.url}` } });
    expect((await firings("via-refs"))[0]!.actions[0]).toMatchObject({ status: "succeeded", outcomes: [{ ok: true, result: { channel: "ref-hook", status: 200 } }] });

    // A failing delivery whose answer repeats the secret in its URL: no secret value in attempts, events, test results.
    await post("/api/notification-channels", { name: "ref-fail", type: "webhook", settings: { url: "{{ variables.hook-base }}/fail/{{ secrets.path-token }}", headers: { Authorization: "Bearer {{ secrets.hook-token }}" } } });
    const a = await post("/api/automations", { name: "via-refs-failing", trigger: { event: "refs.fail" }, actions: [{ type: "notify", channel: "ref-fail" }] });
    hooks.status = 500;
    hooks.echoPath = true;
    try {
      await api.store.emitEvents([{ id: newId(), occurred: Date.now(), event: "refs.fail", resource: { id: "r" }, related: [], payload: {} }]);
      await service().evaluate();
      const deadline = Date.now() + 20_000;
      while ((await firings("via-refs-failing"))[0]!.actions[0]!.status !== "failed" && Date.now() < deadline) {
        await service().execute();
        await new Promise((r) => setTimeout(r, 30));
      }
      const tested = await post("/api/notification-channels/ref-fail/test", undefined, 200);
      expect(tested).toMatchObject({ ok: false, error: "channel ref-fail: POST {{ variables.hook-base }}/fail/{{ secrets.path-token }} answered 500: failing on purpose: /fail/***" });
      const action = (await firings("via-refs-failing"))[0]!.actions[0]!;
      expect(action).toMatchObject({ status: "failed", attempts: 3 });
      expect(action.outcomes[0]).toMatchObject({ ok: false, error: expect.stringContaining("answered 500: failing on purpose: /fail/***") });
      expect(hooks.requests.at(-1)).toMatchObject({ path: `/fail/${PATH_TOKEN}`, headers: { authorization: `Bearer ${HOOK_TOKEN}` } });
      const events = (await api.store.listEvents({ event: ["baton.automation.action-failed"], resource: a.id })).items;
      expect(events).toHaveLength(1);
      const answers = [
        tested,
        events,
        (await api.call("GET", "/api/automations/via-refs-failing/firings")).body,
        (await api.call("GET", `/api/automations/via-refs-failing`)).body,
        (await api.call("GET", "/api/notification-channels")).body,
        (await api.call("GET", "/api/events?limit=200")).body,
      ];
      const text = JSON.stringify(answers);
      for (const secret of [HOOK_TOKEN, PATH_TOKEN]) expect(text).not.toContain(secret);
    } finally {
      hooks.status = 200;
      hooks.echoPath = false;
    }

    // An e-mail channel whose SMTP password is a secret.
    const mail = await post("/api/notification-channels", emailChannel("ref-mail", `smtp://alice:{{ secrets.smtp-pass }}@127.0.0.1:${smtp.port}`));
    expect(mail.settings.url).toBe(`smtp://alice:***@127.0.0.1:${smtp.port}`);
    const mails = smtp.mails.length;
    expect(await post("/api/notification-channels/ref-mail/test", undefined, 200)).toMatchObject({ ok: true });
    expect(smtp.mails.slice(mails)).toMatchObject([{ user: "alice", to: ["ml-team@example.com"] }]);
    for (const name of ["via-refs", "via-refs-failing"]) await api.call("DELETE", `/api/automations/${name}`);
  });
});
