/**
 * Alerts end to end on PostgreSQL (issue 10): two real `baton server start` processes on one
 * database, both evaluating automations and running their actions, and a real worker behind
 * one of them. Channels and the automation are made with the CLI; three failed runs of a
 * deployment (`baton deployment run`, through either server) send exactly one e-mail to a real
 * local SMTP listener and one Slack Block Kit POST to a real local HTTP receiver. One server
 * SIGKILLed and restarted delivers nothing again, and a fourth failure alone delivers nothing:
 * after firing, the window started over (README, Automations: "fire once, then the window
 * starts over").
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, ROOT, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { startHttpReceiver, startSmtpListener, type HttpReceiver, type SmtpListener } from "../support/notification-receivers.ts";
import { openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/alert-flows.ts");
const DEPLOYMENT = "nightly-orders";
const PUBLIC_URL = "https://baton.example.test";
const SMTP_PASSWORD = "alerts-smtp-secret";

const AUTOMATION = `
name: orders-failing
trigger:
  event: baton.flow-run.Failed
  match: { related: [{ role: deployment, name: ${DEPLOYMENT} }] }
  threshold: 3
  within: 10m
actions:
  - { type: notify, channel: ops-mail }
  - { type: notify, channel: ops-slack }
`;

/** A raw message's headers unfolded and its quoted-printable body decoded. */
const decoded = (raw: string) =>
  raw
    .replace(/\r?\n[ \t]+/g, " ")
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));

interface Firing {
  id: string;
  events: unknown[];
  event: { resource: { id: string } } | null;
  actions: { type: string; status: string; attempts: number }[];
}

describe("alerts with two server processes on PostgreSQL", () => {
  let db: WorkerDatabase;
  let smtp: SmtpListener;
  let slack: HttpReceiver;
  const servers: { proc: Proc; url: string }[] = [];
  let worker: Proc;
  // Info level: each server says when its evaluator committed a firing.
  const serverEnv = (name: string) => ({ BATON_HOME: path.join(db.dir, name), BATON_DATABASE_URL: db.url, BATON_PUBLIC_URL: PUBLIC_URL, BATON_SERVER_LOG_LEVEL: "info" });
  const client = (i: number) => ({ BATON_HOME: path.join(db.dir, "client"), BATON_API_URL: `${servers[i]!.url}/api`, BATON_LOG_LEVEL: "warn" });
  const write = (file: string, text: string) => {
    fs.writeFileSync(path.join(db.dir, file), text);
    return path.join(db.dir, file);
  };
  const runs = async () => db.store.listFlowRuns({ deploymentId: (await db.orchestration.getDeployment(DEPLOYMENT))!.id });
  const failedRuns = async (n: number) => {
    const all = await runs();
    return all.length === n && all.every((r) => r.state.name === "Failed") ? all : undefined;
  };
  const firings = async () => ((await (await fetch(`${servers[0]!.url}/api/automations/orders-failing/firings`)).json()) as { items: Firing[] }).items;
  const firedLines = () => servers.map((s) => s.proc.stdout().split("\n").filter((l) => l.includes("automations fired")).length);
  const runDeployment = async (via: number) => {
    const run = await cli(["deployment", "run", DEPLOYMENT], client(via));
    expect(run.code, run.stderr).toBe(0);
  };
  /** Several evaluator (1 s) and executor (0.5 s) passes of every server. */
  const passes = () => new Promise((r) => setTimeout(r, 3500));

  beforeAll(async () => {
    db = await openWorkerDatabase("postgres");
    [smtp, slack] = await Promise.all([startSmtpListener("ops", SMTP_PASSWORD), startHttpReceiver()]);
    await db.orchestration.upsertWorkPool({ name: "alerts" });
    await db.orchestration.upsertDeployment({ name: DEPLOYMENT, flowName: "loadOrders", entrypoint: `${FLOWS}:loadOrders`, workPool: "alerts" });
    // One after the other: the first applies the migrations.
    servers.push(await startServerProcess(serverEnv("a")));
    servers.push(await startServerProcess(serverEnv("b")));
    worker = startWorkerProcess(db.url, "alerts", { BATON_API_URL: servers[0]!.url });
  });
  afterAll(async () => {
    if (worker) await stopProcess(worker);
    await Promise.all(servers.map((s) => stopProcess(s.proc)));
    await Promise.all([smtp?.close(), slack?.close()]);
    await db?.close();
  });

  it("three failures in ten minutes: one e-mail and one Slack POST; a restarted server and a fourth failure deliver nothing more", async () => {
    const mail = write("ops-mail.yaml", `name: ops-mail\ntype: email\nsettings:\n  url: smtp://ops:${SMTP_PASSWORD}@127.0.0.1:${smtp.port}\n  from: baton@example.com\n  to: [ops@example.com]\n`);
    const hook = write("ops-slack.yaml", JSON.stringify({ name: "ops-slack", type: "slack", settings: { url: `${slack.url}/services/T0/B0/slack-secret` } }));
    for (const created of await Promise.all([mail, hook].map((file) => cli(["notification", "create", "-f", file], client(0))))) expect(created.code, created.stderr).toBe(0);
    const automation = await cli(["automation", "create", "-f", write("automation.yaml", AUTOMATION)], client(1));
    expect(automation.code, automation.stderr).toBe(0);

    // Three runs, made through both servers.
    await Promise.all([runDeployment(0), runDeployment(1), runDeployment(0)]);
    const failed = await until(() => failedRuns(3), "three failed runs", 45_000);
    await until(() => smtp.mails.length >= 1 && slack.requests.length >= 1, "the e-mail and the Slack POST", 20_000);
    await passes();
    expect(smtp.mails).toHaveLength(1);
    expect(slack.requests).toHaveLength(1);
    // Both servers run the evaluator on the same log; exactly one of them logged a committed firing.
    expect(firedLines().sort()).toEqual([0, 1]);

    const [firing, ...more] = await firings();
    expect(more).toHaveLength(0);
    expect(firing!.events).toHaveLength(3);
    expect(firing!.actions).toMatchObject([
      { type: "notify", status: "succeeded", attempts: 1 },
      { type: "notify", status: "succeeded", attempts: 1 },
    ]);
    // The message links the run whose failure completed the window.
    const last = failed.find((r) => r.id === firing!.event?.resource.id);
    if (!last) throw new Error(`the firing's event is not about one of the failed runs: ${JSON.stringify(firing!.event)}`);
    const link = `${PUBLIC_URL}/runs/${last.id}`;

    const email = decoded(smtp.mails[0]!.raw);
    expect(smtp.mails[0]).toMatchObject({ user: "ops", to: ["ops@example.com"] });
    expect(email).toContain(`Subject: [Baton] orders-failing: loadOrders run ${last.name} Failed (3 times)`);
    expect(email).toContain(`Flow run ${last.name} of flow loadOrders (deployment ${DEPLOYMENT}) is Failed.`);
    expect(email).toContain("Error: the orders table is empty");
    expect(email).toContain(link);

    const post = slack.requests[0]!;
    expect(post).toMatchObject({ method: "POST", path: "/services/T0/B0/slack-secret" });
    expect(Object.keys(post.body as object).sort()).toEqual(["blocks", "text"]);
    expect(post.body.text).toContain(`loadOrders run ${last.name} Failed`);
    expect(post.body.blocks).toContainEqual({ type: "actions", elements: [{ type: "button", text: { type: "plain_text", text: "Open in Baton" }, url: link }] });

    // The server the worker is not behind, SIGKILLed and restarted on its port.
    const killed = servers[1]!;
    killed.proc.child.kill("SIGKILL");
    await killed.proc.exit;
    servers[1] = await startServerProcess(serverEnv("b"), [], Number(new URL(killed.url).port));
    await passes();
    expect([smtp.mails.length, slack.requests.length]).toEqual([1, 1]);
    expect(await firings()).toHaveLength(1);

    // A fourth failure alone: the window started over after firing, and holds just this one.
    await runDeployment(1);
    const four = await until(() => failedRuns(4), "the fourth failed run", 30_000);
    const fourth = four.find((r) => !failed.some((f) => f.id === r.id))!;
    await passes();
    expect([smtp.mails.length, slack.requests.length]).toEqual([1, 1]);
    expect(await firings()).toHaveLength(1);
    const buckets = await db.store.db.selectFrom("automation_buckets").select("state").execute();
    expect(buckets.map((b) => (JSON.parse(b.state) as { events: { id: string }[] }).events.length)).toEqual([1]);
    const triggered = await db.store.listEvents({ event: ["baton.automation.triggered"] });
    expect(triggered.items).toHaveLength(1);
    expect(fourth.state.name).toBe("Failed");

    const inspect = await cli(["automation", "inspect", "orders-failing"], client(1));
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain("Last 1 firing(s), newest first:");
    expect(inspect.stdout).toMatch(/threshold {2}3 event\(s\); baton\.flow-run\.Failed/);
    expect(inspect.stdout).toMatch(/0\. notify: succeeded after 1 attempt\(s\)/);
    expect(inspect.stdout).toMatch(/1\. notify: succeeded after 1 attempt\(s\)/);
    expect(inspect.stdout + servers.map((s) => s.proc.stdout() + s.proc.stderr()).join("")).not.toContain(SMTP_PASSWORD);
  }, 90_000);
});
