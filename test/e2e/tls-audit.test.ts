/**
 * HTTPS end to end with a private CA made by openssl here: `baton server start --tls-cert
 * --tls-key` (HTTP/1.1 and HTTP/2), a worker and the CLI trusting the CA through BATON_CA_FILE,
 * a clear refusal without it; a deployment run executed by that worker and its compliance report
 * (trigger, source and lock-file hashes, task hashes, audit entries) rendered the same twice in
 * every format; `baton audit ls` and `baton audit verify`, which exits 1 naming a row edited in
 * the database.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import http2 from "node:http2";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../src/client/api-client.ts";
import { FlowRunSchema } from "../../src/schemas/flow-run.ts";
import { RunReportSchema } from "../../src/schemas/run-report.ts";
import { cli, ROOT, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { startWorkerProcess } from "./worker-harness.ts";
import { makeCertificates } from "../support/certificates.ts";

const ADMIN = "tls-admin-key-0001";
const WORKER = "tls-worker-key-0001";
const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

const FLOW_SOURCE = (root: string) => `import { flow, task } from ${JSON.stringify(path.join(root, "src/index.ts"))};
const double = task(async function double(n: number) { return n * 2; });
const add = task(async function add(a: number, b: number) { return a + b; });
export const reported = flow(async function reported(params: { n: number }) {
  return add.submit(double.submit(params.n), 1).result();
});
`;

describe("HTTPS, the audit log and compliance reports end to end", () => {
  let dir: string;
  let project: string;
  let certs: { ca: string; cert: string; key: string };
  let server: { proc: Proc; url: string };
  let worker: Proc | undefined;
  let api: ApiClient;
  let runId: string;
  let env: Record<string, string>;
  const dbFile = () => path.join(dir, "baton.db");

  /** A GET over HTTPS trusting the CA: status, headers and body bytes. */
  const httpsGet = (route: string) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = https.get(`${server.url}${route}`, { ca: fs.readFileSync(certs.ca), headers: { authorization: `Bearer ${ADMIN}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on("error", reject);
    });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-tls-"));
    certs = makeCertificates(dir);
    project = path.join(dir, "project");
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "reported", version: "1.0.0", private: true }));
    fs.writeFileSync(path.join(project, "package-lock.json"), JSON.stringify({ name: "reported", lockfileVersion: 3, requires: true, packages: {} }));
    fs.writeFileSync(path.join(project, "flows.ts"), FLOW_SOURCE(ROOT));
    server = await startServerProcess(
      { BATON_HOME: path.join(dir, "server-home"), BATON_DATABASE_URL: `sqlite://${dbFile()}`, BATON_SERVER_API_KEYS: `admin:${ADMIN},worker:${WORKER}` },
      ["--host", "127.0.0.1", "--tls-cert", certs.cert, "--tls-key", certs.key],
    );
    env = { BATON_API_URL: server.url, BATON_API_KEY: ADMIN, BATON_CA_FILE: certs.ca, BATON_HOME: path.join(dir, "cli-home") };
    api = new ApiClient({ baseUrl: server.url, apiKey: ADMIN, caFile: certs.ca, maxRetryMs: 2000 });
  }, 180_000);
  afterAll(async () => {
    api?.close();
    if (worker) await stopProcess(worker);
    if (server) await stopProcess(server.proc);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serves HTTPS with security headers, and HTTP/2 to a client that asks for it", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await httpsGet("/api/health");
    expect(health.status).toBe(200);
    expect(health.headers).toMatchObject({ "x-content-type-options": "nosniff", "x-frame-options": "DENY", "cache-control": "no-store", "strict-transport-security": expect.stringMatching(/max-age=\d+/) });
    const session = http2.connect(server.url, { ca: fs.readFileSync(certs.ca) });
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ":path": "/api/health", ":method": "GET" });
        let status = 0;
        let body = "";
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.on("data", (chunk: Buffer) => (body += chunk.toString()));
        stream.on("end", () => resolve({ status, body }));
        stream.on("error", reject);
        stream.end();
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ status: "ok" });
    } finally {
      session.close();
    }
  });

  it("a worker trusting the CA (BATON_CA_FILE) runs a deployment run over HTTPS", async () => {
    await api.request("POST", "/api/work-pools", { name: "tls" });
    await api.request("POST", "/api/deployments", { name: "reported", flowName: "reported", entrypoint: `${path.join(project, "flows.ts")}:reported`, workPool: "tls", version: "v7" });
    runId = ((await api.request("POST", "/api/deployments/reported/runs", { parameters: { n: 20 } })) as { id: string }).id;
    // Heartbeats every 5 s: a run's process starting on a loaded machine must not be taken for crashed.
    const workerEnv = { BATON_API_URL: server.url, BATON_API_KEY: WORKER, BATON_CA_FILE: certs.ca, BATON_HOME: path.join(dir, "worker-home"), BATON_HEARTBEAT_MS: "5000" };
    worker = startWorkerProcess("sqlite:///nowhere.db", "tls", workerEnv, ["--heartbeat-ms", "5000"]);
    const done = await until(async () => {
      const run = await api.request("GET", `/api/flow-runs/${runId}`, undefined, FlowRunSchema);
      return ["COMPLETED", "FAILED", "CRASHED"].includes(run.state.type) && run;
    }, "the deployment run to finish", 120_000);
    expect(done.state.name, worker.stderr()).toBe("Completed");
  }, 180_000);

  it("without the CA the CLI fails at once with an error naming BATON_CA_FILE; plain http to another machine is refused", async () => {
    const { BATON_CA_FILE: _ca, ...withoutCa } = env;
    const refused = await cli(["flow-run", "ls"], withoutCa);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/does not trust .*set BATON_CA_FILE/);
    const insecure = await cli(["flow-run", "ls"], { ...withoutCa, BATON_API_URL: "http://192.0.2.10:4200" });
    expect(insecure.code).toBe(1);
    expect(insecure.stderr).toMatch(/plain http:\/\/ to another machine.*BATON_ALLOW_INSECURE=1/);
  }, 120_000);

  it("the run's report lists its trigger, source and lock-file hashes, task hashes and audit entries, the same bytes every time", async () => {
    const [md1, md2] = [await cli(["flow-run", "report", runId], env), await cli(["flow-run", "report", runId, "--format", "md"], env)];
    expect(md1.code, md1.stderr).toBe(0);
    expect(md2.stdout).toBe(md1.stdout);
    const json = await cli(["flow-run", "report", runId, "--format", "json"], env);
    expect(json.code, json.stderr).toBe(0);
    const report = RunReportSchema.parse(JSON.parse(json.stdout));
    expect((await cli(["flow-run", "report", runId, "--format", "json"], env)).stdout).toBe(json.stdout);
    expect(report.trigger).toMatchObject({ kind: "caller", action: "POST /api/deployments/:name/runs", actor: { kind: "static-key", role: "admin" } });
    expect(report.deployment).toMatchObject({ name: "reported", flowVersion: "v7", entrypoint: `${path.join(project, "flows.ts")}:reported` });
    expect(report.source).toMatchObject({ sourceSha256: sha256(path.join(project, "flows.ts")), lockFile: "package-lock.json", lockSha256: sha256(path.join(project, "package-lock.json")) });
    expect(report.parameters).toEqual({ n: 20 });
    const [double, add] = report.tasks;
    expect(double).toMatchObject({ taskName: "double", state: { name: "Completed" }, attempts: 1, output: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(add!.inputs).toEqual([{ upstreamTaskRunId: double!.id, taskKey: double!.taskKey, sha256: double!.output!.sha256 }]);
    // (Late in between when the worker was slow to start on a loaded machine.)
    expect(report.stateHistory.map((s) => s.name).filter((n) => n !== "Late")).toEqual(["Scheduled", "Pending", "Running", "Completed"]);
    expect(report.audit.entries.map((e) => e.action)).toContain("POST /api/deployments/:name/runs");
    expect(report.audit.chain).toMatchObject({ ok: true, broken: null });
    expect(md1.stdout).toContain(report.source!.sourceSha256);
    expect(md1.stdout).toContain("Audit chain: **verifies**");
    // PDF: the CLI's twice, and the server's, byte for byte.
    const pdfs = [path.join(dir, "a.pdf"), path.join(dir, "b.pdf")];
    for (const file of pdfs) expect((await cli(["flow-run", "report", runId, "--format", "pdf", "--output", file], env)).code).toBe(0);
    const [a, b] = pdfs.map((f) => fs.readFileSync(f));
    expect(a!.subarray(0, 5).toString()).toBe("%PDF-");
    expect(a!.equals(b!)).toBe(true);
    const served = await httpsGet(`/api/flow-runs/${runId}/report?format=pdf`);
    expect(served.headers["content-type"]).toBe("application/pdf");
    expect(served.headers["content-disposition"]).toMatch(/attachment; filename="baton-run-.*\.pdf"/);
    expect(served.body.equals(a!)).toBe(true);
  }, 300_000);

  it("baton audit ls lists who did what; baton audit verify exits 1 naming a row edited in the database", async () => {
    const ls = await cli(["audit", "ls", "--since", "1d", "--limit", "1000", "--json"], env);
    expect(ls.code, ls.stderr).toBe(0);
    const items = JSON.parse(ls.stdout) as { seq: number; actor: { id: string; role: string }; action: string }[];
    expect(items.map((e) => e.action)).toEqual(expect.arrayContaining(["POST /api/work-pools", "POST /api/deployments", "POST /api/deployments/:name/runs"]));
    const workerId = items.find((e) => e.actor.role === "worker")!.actor.id;
    const mine = JSON.parse((await cli(["audit", "ls", "--actor", workerId, "--json"], env)).stdout) as typeof items;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => e.actor.id === workerId)).toBe(true);
    const table = await cli(["audit", "ls", "--action", "/runs"], env);
    expect(table.stdout).toMatch(/POST \/api\/deployments\/:name\/runs/);

    const ok = await cli(["audit", "verify"], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Audit log verifies: \d+ rows/);
    const db = new Database(dbFile());
    db.prepare("update audit_log set client_ip = '10.6.6.6' where seq = 2").run();
    db.close();
    const broken = await cli(["audit", "verify"], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/the audit log does not verify: row 2: .*edited/);
    // On the database itself, without the server: the same verdict.
    const local = await cli(["audit", "verify", "--json"], { BATON_DATABASE_URL: `sqlite://${dbFile()}`, BATON_HOME: path.join(dir, "cli-home") });
    expect(local.code).toBe(1);
    expect(JSON.parse(local.stdout)).toMatchObject({ ok: false, checked: 1, broken: { seq: 2 } });
  }, 300_000);
});
