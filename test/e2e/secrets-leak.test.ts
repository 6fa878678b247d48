/**
 * The leak test, with real processes on SQLite: a secret set from standard input with
 * the CLI (through a server with API keys), referenced from a deployment's job variables in
 * baton.yaml, read by runs that a real worker (remote mode, worker key, its own BATON_HOME)
 * starts. The runs log it, print it and fail with it in task and flow errors. Afterwards the
 * database file (with its WAL), every GET route of the API, the logs, the events and every
 * process's output are searched for the value: none may hold it, while the run that completed
 * proves it saw the right value (its hash) in code and in its environment. A baton.yaml that
 * references a missing secret is refused naming the field, with nothing stored.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "devalue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, cli, ROOT, startProcess, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";

const SECRET = `leak-canary-${randomBytes(16).toString("hex")}`;
const FLOWS = path.join(ROOT, "test/e2e/fixtures/secret-flows.ts");
const ADMIN_KEY = `admin-${randomBytes(8).toString("hex")}`;
const WORKER_KEY = `worker-${randomBytes(8).toString("hex")}`;

/** `baton ARGS` with `input` on its standard input. */
function cliWithInput(args: string[], env: Record<string, string>, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

const yaml = (secretRef: string) => `deployments:
  - name: secret-dep
    entrypoint: secret-flows.ts:usesSecret
    work_pool: secret-pool
    parameters: { fail: false, region: "{{ variables.region }}" }
    job_variables:
      env: { DB_PASSWORD: "${secretRef}", PLAIN: "not-secret" }
`;

describe("a secret appears nowhere in clear", () => {
  let dir: string;
  let server: { proc: Proc; url: string };
  let worker: Proc;
  let admin: Record<string, string>;
  const outputs: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-leak-"));
    fs.copyFileSync(FLOWS, path.join(dir, "secret-flows.ts"));
    // The copy imports Baton from the checkout.
    const source = fs.readFileSync(FLOWS, "utf8").replace('"../../../src/index.ts"', JSON.stringify(path.join(ROOT, "src/index.ts")));
    fs.writeFileSync(path.join(dir, "secret-flows.ts"), source);
    server = await startServerProcess({
      BATON_HOME: path.join(dir, "server-home"),
      BATON_DATABASE_URL: `sqlite://${path.join(dir, "baton.db")}`,
      BATON_SERVER_API_KEYS: `admin:${ADMIN_KEY},worker:${WORKER_KEY}`,
      BATON_SERVER_LOG_LEVEL: "info",
    });
    admin = { BATON_API_URL: server.url, BATON_API_KEY: ADMIN_KEY, BATON_HOME: path.join(dir, "cli-home") };
  });
  afterAll(async () => {
    if (worker) await stopProcess(worker);
    if (server) await stopProcess(server.proc);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const api = async (route: string, key = ADMIN_KEY): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, text: await res.text() };
  };

  it("is set from stdin, refused on argv, and a missing reference stores nothing", async () => {
    const refused = await cli(["secret", "set", "db", SECRET], admin);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/never taken from the command line/);
    outputs.push(refused.stdout, refused.stderr);
    const set = await cliWithInput(["secret", "set", "db"], admin, `${SECRET}\n`);
    expect(set.code, set.stderr).toBe(0);
    outputs.push(set.stdout, set.stderr);
    for (const args of [["variable", "set", "region", "eu-west-1"], ["work-pool", "create", "secret-pool"]]) {
      const r = await cli(args, admin);
      expect(r.code, r.stderr).toBe(0);
    }
    fs.writeFileSync(path.join(dir, "baton.yaml"), yaml("{{ secrets.missing }}"));
    const bad = await cli(["deploy", "--file", path.join(dir, "baton.yaml")], admin);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('deployments.0.job_variables.env.DB_PASSWORD: secret "missing" does not exist');
    expect((await api("/api/deployments/secret-dep")).status).toBe(404);
    fs.writeFileSync(path.join(dir, "baton.yaml"), yaml("{{ secrets.db }}"));
    const good = await cli(["deploy", "--file", path.join(dir, "baton.yaml")], admin);
    expect(good.code, good.stderr).toBe(0);
    outputs.push(good.stdout, good.stderr);
  });

  it("is read by a worker's runs, which see the right value and leak it nowhere", async () => {
    worker = startProcess([BIN, "worker", "start", "--pool", "secret-pool", "--limit", "2", "--poll-ms", "200", "--heartbeat-ms", "500"], { BATON_API_URL: server.url, BATON_API_KEY: WORKER_KEY, BATON_HOME: path.join(dir, "worker-home"), BATON_LOG_LEVEL: "info" }, dir);
    const createRun = async (parameters: Record<string, unknown>) => {
      const res = await fetch(`${server.url}/api/deployments/secret-dep/runs`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" }, body: JSON.stringify({ parameters }) });
      const body = (await res.json()) as { id: string };
      expect(res.status, JSON.stringify(body)).toBe(201);
      return body.id;
    };
    const ids = [await createRun({}), await createRun({ fail: true })];
    const states = await until(async () => {
      const runs = await Promise.all(ids.map(async (id) => JSON.parse((await api(`/api/flow-runs/${id}`)).text) as { state: { type: string; message: string } }));
      return runs.every((r) => ["COMPLETED", "FAILED", "CRASHED"].includes(r.state.type)) ? runs : undefined;
    }, "both runs to end", 60_000);
    expect(states.map((r) => r.state.type), JSON.stringify(states) + worker.stdout() + worker.stderr()).toEqual(["COMPLETED", "FAILED"]);
    expect(states[1]!.state.message).toContain("login refused for ***");

    // The run saw the value, in code and in its environment, and the variable in its parameters.
    const resultId = (JSON.parse((await api(`/api/flow-runs/${ids[0]}`)).text) as { resultId: string }).resultId;
    const result = parse((JSON.parse((await api(`/api/results/${resultId}`)).text) as { value: string }).value) as unknown;
    expect(result).toMatchObject({ hash: createHash("sha256").update(SECRET).digest("hex"), envMatches: true, region: "eu-west-1", variable: "eu-west-1" });

    // The logs hold the lines, redacted.
    const logs = (await api(`/api/logs?flowRunId=${ids[1]}&limit=1000`)).text;
    expect(logs).toContain("the password is ***");
    expect(logs).toContain("task could not log in with ***");

    // Every GET route of the API (streams aside), with each run, deployment and pool named.
    const openapi = JSON.parse((await api("/api/openapi.json")).text) as { paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>> };
    const taskRuns = JSON.parse((await api(`/api/flow-runs/${ids[1]}/task-runs`)).text) as { items: { id: string }[] };
    const taskRunIds = taskRuns.items.map((t) => t.id);
    expect(taskRunIds.length).toBeGreaterThan(0);
    const fill: Record<string, string[]> = { id: [...ids, ...taskRunIds, resultId], flowRunId: ids, name: ["secret-dep", "secret-pool", "db", "region"], slug: ["none"] };
    const routes: string[] = [];
    for (const [route, methods] of Object.entries(openapi.paths)) {
      if (!methods.get || /stream|live|openapi/.test(route)) continue;
      const params = [...route.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      let urls = [route];
      for (const p of params) urls = urls.flatMap((u) => (fill[p] ?? ["x"]).map((v) => u.replace(`{${p}}`, v)));
      routes.push(...urls.map((u) => (u.includes("{") ? null : u)).filter((u): u is string => u !== null));
    }
    routes.push(`/api/logs?flowRunId=${ids[0]}&limit=1000`, `/api/logs?flowRunId=${ids[1]}&limit=1000`, "/api/events?limit=1000");
    expect(routes.length).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const route of routes) {
      for (const key of [ADMIN_KEY, WORKER_KEY]) {
        const res = await api(route, key);
        // The one door that answers the value: an admin's explicit read.
        if (route === "/api/secrets/db/value") {
          if (key === ADMIN_KEY) expect(res.text).toContain(SECRET);
          else expect(res.status).toBe(403);
          continue;
        }
        if (res.text.includes(SECRET)) leaks.push(`${route} (${key === ADMIN_KEY ? "admin" : "worker"})`);
      }
    }
    expect(leaks).toEqual([]);
    // The dashboard's pages are the same API; its HTML shell holds no data.
    expect((await api("/")).text).not.toContain(SECRET);

    // Events (as a list, above) and the database file with its WAL, byte for byte.
    await stopProcess(worker);
    const files = fs.readdirSync(dir).filter((f) => f.startsWith("baton.db"));
    expect(files).toContain("baton.db");
    for (const file of files) expect(fs.readFileSync(path.join(dir, file)).includes(Buffer.from(SECRET)), file).toBe(false);

    // Every process's output: the CLI's, the worker's (which forwards its runs' output) and the server's.
    outputs.push(worker.stdout(), worker.stderr(), server.proc.stdout(), server.proc.stderr());
    expect(worker.stdout() + worker.stderr()).toContain("raw stdout: ***");
    for (const output of outputs) expect(output).not.toContain(SECRET);
  });
});
