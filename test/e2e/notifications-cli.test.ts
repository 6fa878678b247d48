/**
 * `baton notification` end to end on SQLite: on the database (no server), a channel made from
 * YAML is listed and inspected masked and its test message reaches a real local SMTP listener;
 * a bad spec exits 1 naming the field. Through a server (BATON_API_URL) the same commands list
 * it masked and send a Slack test to a real local HTTP receiver; a channel in use cannot be
 * deleted.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, startServerProcess, stopProcess, type Proc } from "../support/processes.ts";
import { startHttpReceiver, startSmtpListener, type HttpReceiver, type SmtpListener } from "../support/notification-receivers.ts";

const PASSWORD = "cli-smtp-secret";

describe("baton notification", () => {
  let home: string;
  let smtp: SmtpListener;
  let hooks: HttpReceiver;
  let server: { proc: Proc; url: string } | undefined;
  const local = () => ({ BATON_HOME: home, BATON_LOG_LEVEL: "warn" });
  const remote = () => ({ BATON_HOME: path.join(home, "client"), BATON_API_URL: `${server!.url}/api`, BATON_LOG_LEVEL: "warn" });
  const write = (file: string, text: string) => {
    fs.writeFileSync(path.join(home, file), text);
    return path.join(home, file);
  };

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-notification-cli-"));
    [smtp, hooks] = await Promise.all([startSmtpListener("bob", PASSWORD), startHttpReceiver()]);
  });
  afterAll(async () => {
    if (server) await stopProcess(server.proc);
    await Promise.all([smtp?.close(), hooks?.close()]);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("creates, lists masked, tests and deletes channels on the database and through a server", async () => {
    const mail = write("mail.yaml", `name: ml-team\ntype: email\nsettings:\n  url: smtp://bob:${PASSWORD}@127.0.0.1:${smtp.port}\n  from: baton@example.com\n  to: [ml-team@example.com]\n`);
    const created = await cli(["notification", "create", "-f", mail], local());
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`Notification channel "ml-team" created (email, ml-team@example.com via smtp://bob:***@127.0.0.1:${smtp.port})`);
    const bad = await cli(["notification", "create", "-f", write("bad.yaml", "name: x\ntype: pager\nsettings: {}\n")], local());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/type must be one of webhook, slack, email/);

    const ls = await cli(["notification", "ls"], local());
    expect(ls.stdout).toMatch(/ml-team\W+email/);
    const inspect = await cli(["notification", "inspect", "ml-team"], local());
    expect(inspect.stdout).toContain(`url: smtp://bob:***@127.0.0.1:${smtp.port}`);
    expect(ls.stdout + inspect.stdout).not.toContain(PASSWORD);
    const tested = await cli(["notification", "test", "ml-team"], local());
    expect(tested.code, tested.stderr).toBe(0);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]).toMatchObject({ user: "bob", to: ["ml-team@example.com"] });

    server = await startServerProcess({ BATON_HOME: home });
    const slack = write("slack.yaml", JSON.stringify({ name: "ml-slack", type: "slack", settings: { url: `${hooks.url}/services/T/B/hook-secret` } }));
    expect((await cli(["notification", "create", "-f", slack], remote())).code).toBe(0);
    const remoteLs = await cli(["notification", "ls", "--json"], remote());
    const listed = JSON.parse(remoteLs.stdout) as { name: string; settings: { url: string } }[];
    expect(listed.map((c) => [c.name, c.settings.url])).toEqual([
      ["ml-slack", `${hooks.url}/***`],
      ["ml-team", `smtp://bob:***@127.0.0.1:${smtp.port}`],
    ]);
    const remoteTest = await cli(["notification", "test", "ml-slack"], remote());
    expect(remoteTest.code, remoteTest.stderr).toBe(0);
    expect(hooks.requests).toHaveLength(1);
    expect(hooks.requests[0]!.body.blocks[0].text.text).toBe("[Baton] a test of notification channel ml-slack");

    const automation = write("automation.yaml", "name: page-ml\ntrigger: { event: baton.flow-run.Failed }\nactions:\n  - type: notify\n    channel: ml-slack\n");
    expect((await cli(["automation", "create", "-f", automation], remote())).code).toBe(0);
    const refused = await cli(["notification", "delete", "ml-slack"], remote());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/used by automation\(s\) page-ml/);
    expect((await cli(["notification", "delete", "ml-team"], remote())).code).toBe(0);
    expect((await cli(["notification", "test", "ml-team"], remote())).stderr).toMatch(/notification channel "ml-team" does not exist/);
  }, 120_000);
});
