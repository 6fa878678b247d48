/**
 * Workers on other hosts: three network namespaces stand for three machines that reach the
 * server only over their veth links to this one (the hub, with PostgreSQL and the server), over
 * HTTPS with a private CA and a worker API key, as machines on a real network would. Deployment
 * runs are shared by the hosts' workers; a host whose link is cut for 10 s while it runs tasks
 * carries on when it is back: every run Completed, no finished task run again, none stuck. A
 * map of 30 trials with `workPool: "gpu"` is spread over the gpu workers of the three hosts and
 * survives one host dying (every process on it SIGKILLed); a 5 MB result written on one host is
 * read by a resume and a cache hit on another, and by the dashboard's API.
 */
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import S3rver from "s3rver";
import { deserialize } from "../../src/core/serializer.ts";
import type { Deployment } from "../../src/store/types.ts";
import { makeCertificates } from "../support/certificates.ts";
import { makeNetwork, netnsUnavailable, type Host, type Network } from "../support/netns.ts";
import { ROOT, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { openWorkerDatabase, type WorkerDatabase } from "./worker-harness.ts";
import { FULL } from "../support/databases.ts";

/** The full suite's only (`npm run test:full`): the cut link is also the chaos suite's, and the storages' own tests read and write them. */
const itFull = FULL ? it : it.skip;

const FLOWS = path.join(ROOT, "test/e2e/fixtures/host-flows.ts");
const WORKER_KEY = "multi-host-worker-key-01";
const unavailable = netnsUnavailable();

describe.skipIf(unavailable !== null)(`workers on three other hosts (network namespaces), PostgreSQL and the server on this one${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let net: Network;
  let db: WorkerDatabase;
  let server: { proc: Proc; url: string } | undefined;
  const workers: Proc[] = [];
  let log: string;
  let deployment: Deployment;
  let workerEnv: (host: Host) => Record<string, string>;

  beforeAll(async () => {
    net = await makeNetwork(3);
    db = await openWorkerDatabase("postgres");
    log = path.join(db.dir, "steps.log");
    await db.orchestration.upsertWorkPool({ name: "hosts" });
    await db.orchestration.upsertWorkPool({ name: "gpu" });
    deployment = await db.orchestration.upsertDeployment({ name: "on-host", flowName: "onHost", entrypoint: `${FLOWS}:onHost`, workPool: "hosts" });
    const certs = makeCertificates(db.dir, [net.hub]);
    server = await startServerProcess({ BATON_DATABASE_URL: db.url, BATON_HOME: path.join(db.dir, "hub"), BATON_SERVER_API_KEYS: `worker:${WORKER_KEY}` }, [
      "--host", net.hub, "--tls-cert", certs.cert, "--tls-key", certs.key,
    ]);
    // Heartbeats every 5 s: three missed (15 s) crash a run, so a 10 s cut must not.
    workerEnv = (host) => ({
      BATON_API_URL: `${server!.url}/api`,
      BATON_API_KEY: WORKER_KEY,
      BATON_CA_FILE: certs.ca,
      BATON_HOME: path.join(db.dir, host.name),
      BATON_HEARTBEAT_MS: "5000",
      BATON_LOG_LEVEL: "warn",
      E2E_LOG: log,
      E2E_HOST: host.name,
    });
    for (const host of net.hosts) workers.push(host.baton(["worker", "start", "--pool", "hosts", "--limit", "3", "--poll-ms", "200", "--heartbeat-ms", "5000"], workerEnv(host)));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => stopProcess(w)));
    if (server) await stopProcess(server.proc);
    await db?.close();
    await net?.destroy();
  });

  const steps = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : []);
  const startRuns = (n: number, parameters: Record<string, unknown>) => Promise.all(Array.from({ length: n }, () => db.createRun(deployment, parameters)));
  const allEnded = (ids: string[]) =>
    until(async () => {
      const runs = await Promise.all(ids.map((id) => db.store.getFlowRun(id)));
      return runs.every((r) => r && ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"].includes(r.state.type)) && runs.map((r) => r!);
    }, `${ids.length} runs to end`, 150_000).catch(async (error: Error) => {
      const states = await Promise.all(ids.map(async (id) => (await db.store.getFlowRun(id))?.state.name));
      throw new Error(`${error.message}: ${states.join(", ")}\nworkers:\n${workers.map((w) => w.stderr().slice(-3000)).join("\n---\n")}`);
    });

  it("the hosts cannot reach the hub's loopback: only its address on their links", async () => {
    // Over https with the CA: 200 from the hub's address; the hub's loopback is not this host's.
    const probe = (url: string) =>
      `const https = require("node:https"); https.get(${JSON.stringify(url)}, { agent: false, ca: require("node:fs").readFileSync(${JSON.stringify(path.join(db.dir, "ca.pem"))}) }, (r) => { console.log(r.statusCode); r.resume(); }).on("error", (e) => console.log(e.code))`;
    const port = new URL(server!.url).port;
    const [viaLink, viaLoopback] = await Promise.all(
      [`${server!.url}/api/health`, `https://127.0.0.1:${port}/api/health`].map(async (url) => {
        const p = net.hosts[0]!.start(["-e", probe(url)], {});
        await p.exit;
        return p.stdout().trim();
      }),
    );
    expect(viaLink).toBe("200");
    expect(viaLoopback).toBe("ECONNREFUSED");
  });

  it("every host's worker takes a share of the runs, each run once", async () => {
    const runs = await startRuns(12, { steps: 2, ms: 300 });
    const ended = await allEnded(runs.map((r) => r.id));
    expect(ended.map((r) => r.state.name)).toEqual(runs.map(() => "Completed"));
    const lines = steps().filter((l) => runs.some((r) => l.includes(r.id)));
    expect(lines).toHaveLength(24);
    expect(new Set(lines).size).toBe(24);
    const hostsUsed = new Set(lines.map((l) => l.split(" ")[3]));
    expect(hostsUsed).toEqual(new Set(net.hosts.map((h) => h.name)));
  }, 180_000);

  itFull("a host cut off for 10 s while it runs tasks carries on when it is back: all Completed, no finished task ran again", async () => {
    const runs = await startRuns(4, { steps: 3, ms: 1500 });
    // The host cut is one whose run is mid-way: Running, with a finished task (whichever host
    // the claims happened to favour).
    const cutHost = await until(async () => {
      const mine = await Promise.all(runs.map((r) => db.store.getFlowRun(r.id)));
      const running = mine.filter((r) => r!.state.type === "RUNNING").map((r) => r!.id);
      const line = steps().find((l) => running.some((id) => l.includes(id)));
      return line ? net.hosts.find((h) => line.endsWith(` ${h.name}`)) : undefined;
    }, "a Running run to have finished a task", 60_000);
    await cutHost!.cut(10_000);
    const ended = await allEnded(runs.map((r) => r.id));
    expect(ended.map((r) => `${r.id} ${r.state.name} ${r.state.message ?? ""}`)).toEqual(runs.map((r) => `${r.id} Completed `));
    const lines = steps().filter((l) => runs.some((r) => l.includes(r.id)));
    // Each run's three steps once, whichever host ran them: a task that finished is never run again.
    const perStep = lines.map((l) => l.split(" ").slice(0, 3).join(" "));
    expect(perStep).toHaveLength(12);
    expect(new Set(perStep).size).toBe(12);
    expect(lines.some((l) => l.endsWith(cutHost!.name))).toBe(true);
  }, 240_000);

  it("a map of 30 trials with workPool runs on the gpu workers of the three hosts, and survives one host dying", async () => {
    const gpu = net.hosts.map((host) => host.baton(["worker", "start", "--pool", "gpu", "--limit", "4", "--poll-ms", "200", "--heartbeat-ms", "2000"], { ...workerEnv(host), BATON_HEARTBEAT_MS: "2000" }));
    workers.push(...gpu);
    const search = await db.orchestration.upsertDeployment({ name: "search", flowName: "search", entrypoint: `${FLOWS}:search`, workPool: "hosts", retries: 3, retryDelayMs: 0 });
    const parent = await db.createRun(search, { n: 30, ms: 1500 });
    const done = () => steps().filter((l) => l.startsWith("done ")).map((l) => l.split(" "));
    // Each host has finished trials of its own; then the last host dies, trials in flight on it.
    await until(() => net.hosts.every((h) => done().some(([, , host]) => host === h.name)), "every host to finish a trial", 180_000).catch(async (error: Error) => {
      const children = await db.store.listFlowRuns({ parentFlowRunId: parent.id, limit: 200 });
      const states = children.map((c) => c.state.name).join(" ");
      const p = (await db.store.getFlowRun(parent.id))!;
      const errors = (await db.store.listLogs({ flowRunId: parent.id, minLevel: 40, limit: 5 })).map((l) => l.message).join(" | ");
      throw new Error(`${error.message}: parent ${p.state.name} ${p.state.message ?? ""} (${errors}); trials done per host ${net.hosts.map((h) => done().filter(([, , host]) => host === h.name).length)}; children ${states}\ngpu workers:\n${gpu.map((w) => w.stderr().slice(-2000)).join("\n---\n")}`);
    });
    const dead = net.hosts[2]!;
    const sharesBefore = net.hosts.map((h) => done().filter(([, , host]) => host === h.name).length);
    expect(await dead.kill()).toBeGreaterThan(0);
    // Counted once every process of the host is gone (a trial may finish while the kill goes on).
    const deadShare = done().filter(([, , host]) => host === dead.name).length;
    const [ended] = await allEnded([parent.id]);
    expect(`${ended!.state.name} ${ended!.state.message ?? ""}`).toBe("Completed ");
    const valueOf = async (run: { resultId: string | null }) => deserialize((await db.store.getResult(run.resultId!))!.value!) as number;
    const squares = Array.from({ length: 30 }, (_, i) => i * i);
    expect(await valueOf(ended!)).toBe(squares.reduce((a, b) => a + b, 0));
    expect(sharesBefore.every((n) => n > 0)).toBe(true);
    // Every trial completed once: one Completed child run per trial, and none begun again after it.
    const children = (await db.store.listFlowRuns({ parentFlowRunId: parent.id, limit: 200 })).filter((c) => c.state.type === "COMPLETED");
    const values = await Promise.all(children.map(valueOf));
    expect([...values].sort((a, b) => a - b)).toEqual(squares);
    const begins = steps().filter((l) => l.startsWith("begin ")).map((l) => l.split(" "));
    children.forEach((c, k) => {
      const again = begins.filter(([, item, at]) => Number(item) ** 2 === values[k] && Number(at) > (c.endTime ?? c.state.timestamp));
      expect(again, `trial ${Math.sqrt(values[k]!)} began again after it completed`).toEqual([]);
    });
    // The dead host ran none after it died; the others carried on.
    expect(done().filter(([, , host]) => host === dead.name).length).toBe(deadShare);
  }, 300_000);

  itFull.each(["s3", "file"] as const)("a 5 MB result in %s storage written on one host is read by a resume and a cache hit on another, and by a server", async (kind) => {
    // The storage every process shares: an S3-compatible server on the hub's address, or a
    // folder all hosts mount (here: the same disk, as a network share would be).
    const s3 = kind === "s3" ? new S3rver({ address: net.hub, port: 0, directory: path.join(db.dir, "s3"), silent: true, configureBuckets: [{ name: "baton-results", configs: [] }] }) : null;
    const storage: Record<string, string> = s3
      ? { BATON_RESULTS_URL: "s3://baton-results/multi-host/", AWS_ENDPOINT_URL_S3: `http://${net.hub}:${(await s3.run()).port}`, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" }
      : { BATON_RESULTS_URL: `file://${path.join(db.dir, "shared-results")}` };
    const seed = kind === "s3" ? 101 : 102;
    const pool = `big-${kind}`;
    await db.orchestration.upsertWorkPool({ name: pool });
    const [first, second] = net.hosts;
    const bigWorker = (host: Host) =>
      host.baton(["worker", "start", "--pool", pool, "--limit", "2", "--poll-ms", "200", "--heartbeat-ms", "2000", "--shutdown-grace-ms", "500"], { ...workerEnv(host), BATON_HEARTBEAT_MS: "2000", ...storage });
    const deploy = (name: string, flowName: string) => db.orchestration.upsertDeployment({ name: `${name}-${kind}`, flowName, entrypoint: `${FLOWS}:${flowName}`, workPool: pool, retries: 2, retryDelayMs: 0 });
    const gate = path.join(db.dir, `big-${kind}.gate`);
    const bigRuns = () => steps().filter((l) => l.startsWith("big "));
    const before = bigRuns().length;
    const writer = bigWorker(first!);
    let reader: Proc | undefined;
    let server: { proc: Proc; url: string } | undefined;
    try {
      const run = await db.createRun(await deploy("big-then-wait", "bigThenWait"), { gate, seed });
      await until(async () => (await db.store.listTaskRuns(run.id)).some((t) => t.taskName === "big" && t.state.type === "COMPLETED"), "the 5 MB task to complete on the first host", 120_000);
      // The first host's worker stops (its waiting run Crashed, retried); the second resumes it.
      reader = bigWorker(second!);
      await stopProcess(writer);
      fs.writeFileSync(gate, "");
      const [resumed] = await allEnded([run.id]);
      expect(`${resumed!.state.name} ${resumed!.state.message ?? ""}`).toBe("Completed ");
      const again = await db.createRun(await deploy("big-again", "bigAgain"), { seed });
      const [hit] = await allEnded([again.id]);
      expect(`${hit!.state.name} ${hit!.state.message ?? ""}`).toBe("Completed ");
      for (const r of [resumed!, hit!]) expect(deserialize((await db.store.getResult(r.resultId!))!.value!)).toBe(5 * 1024 * 1024 + String(seed).length);
      // The body ran once, on the first host.
      expect(bigRuns().slice(before)).toEqual([`big ${first!.name}`]);
      // A server of this storage on this machine (the dashboard's) serves the bytes.
      server = await startServerProcess({ BATON_DATABASE_URL: db.url, BATON_HOME: path.join(db.dir, `reader-${kind}`), ...storage });
      const [task] = (await db.store.listTaskRuns(run.id)).filter((t) => t.taskName === "big");
      const record = (await (await fetch(`${server.url}/api/results/${task!.resultId}`)).json()) as { value: string | null; path: string };
      expect(record.value).toBeNull();
      const blob = await fetch(`${server.url}/api/result-blobs/${record.path.slice(0, 64)}`);
      expect(blob.status).toBe(200);
      expect((await blob.arrayBuffer()).byteLength).toBeGreaterThan(5 * 1024 * 1024);
    } finally {
      await stopProcess(writer);
      if (reader) await stopProcess(reader);
      if (server) await stopProcess(server.proc);
      await s3?.close();
    }
  }, 300_000);

  it("a 5 MB result written on one host is read by a resume and a cache hit on another, and by the dashboard's API", async () => {
    // Hosts 0 and 1 (host 2 died above). Results go to the database, through the API.
    await db.orchestration.upsertWorkPool({ name: "big" });
    const [first, second] = net.hosts;
    const bigWorker = (host: Host) => host.baton(["worker", "start", "--pool", "big", "--limit", "2", "--poll-ms", "200", "--heartbeat-ms", "2000"], { ...workerEnv(host), BATON_HEARTBEAT_MS: "2000", BATON_RESULTS_URL: "db" });
    workers.push(bigWorker(first!));
    const deploy = (name: string, flowName: string) => db.orchestration.upsertDeployment({ name, flowName, entrypoint: `${FLOWS}:${flowName}`, workPool: "big", retries: 2, retryDelayMs: 0 });
    const gate = path.join(db.dir, "big.gate");
    const run = await db.createRun(await deploy("big-then-wait", "bigThenWait"), { gate });
    const earlier = steps().filter((l) => l.startsWith("big ")).length; // the other storages' tests
    const bigRuns = () => steps().filter((l) => l.startsWith("big ")).slice(earlier);
    await until(async () => (await db.store.listTaskRuns(run.id)).some((t) => t.taskName === "big" && t.state.type === "COMPLETED"), "the 5 MB task to complete on the first host", 120_000);
    expect(bigRuns()).toEqual([`big ${first!.name}`]);
    // The first host dies with the run waiting; the second resumes it.
    workers.push(bigWorker(second!));
    await first!.kill();
    fs.writeFileSync(gate, "");
    const [resumed] = await allEnded([run.id]);
    expect(`${resumed!.state.name} ${resumed!.state.message ?? ""}`).toBe("Completed ");
    expect(deserialize((await db.store.getResult(resumed!.resultId!))!.value!)).toBe(5 * 1024 * 1024 + 1);
    // A cache hit on the second host reads it too.
    const again = await db.createRun(await deploy("big-again", "bigAgain"), {});
    const [hit] = await allEnded([again.id]);
    expect(`${hit!.state.name} ${hit!.state.message ?? ""}`).toBe("Completed ");
    expect(deserialize((await db.store.getResult(hit!.resultId!))!.value!)).toBe(5 * 1024 * 1024 + 1);
    // The body ran once, on the first host: the resume and the cache hit read the stored bytes.
    expect(bigRuns()).toEqual([`big ${first!.name}`]);
    // The dashboard reads it through the API (this machine, not the host that wrote it).
    const [task] = (await db.store.listTaskRuns(run.id)).filter((t) => t.taskName === "big");
    const record = JSON.parse(await httpsGet(`${server!.url}/api/results/${task!.resultId}`)) as { value: string | null; path: string };
    expect(record.value).toBeNull();
    const blob = await httpsGet(`${server!.url}/api/result-blobs/${record.path.slice(0, 64)}`);
    expect(blob.length).toBeGreaterThan(5 * 1024 * 1024);
  }, 300_000);

  /** GET over HTTPS trusting the test's CA, with the worker key (the server's only key). */
  function httpsGet(url: string): Promise<string> {
    return new Promise((resolve, reject) => {
      https
        .get(url, { ca: fs.readFileSync(path.join(db.dir, "ca.pem")), headers: { authorization: `Bearer ${WORKER_KEY}` } }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body.slice(0, 300)}`))));
        })
        .on("error", reject);
    });
  }
});
