/**
 * `baton model serve` as a real process, serving a registry alias while a steady load runs: 200
 * requests/s for 10 s on loopback (each request sent on its schedule, not after the previous
 * answer), the alias moved half way with `baton model promote`; not one request may fail, every
 * answer must be the one its named version gives, and the switch must show in the answers, in
 * /metrics and in the process's log. Then the same, shorter, through a server (BATON_API_URL) on
 * PostgreSQL, and the refusals: a handler without predict, a model without the alias.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabaseUrl } from "../support/databases.ts";
import { cli, ROOT, startProcess, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";

const FLOWS = path.join(ROOT, "test/e2e/fixtures/model-serve-flows.ts");
const HANDLER = path.join(ROOT, "test/e2e/fixtures/model-handler.ts");
const NO_PREDICT = path.join(ROOT, "test/e2e/fixtures/model-handler-no-predict.ts");
/** Each version's value is `{ factor }`: v1 doubles, v2 triples. */
const FACTOR: Record<number, number> = { 1: 2, 2: 3 };

/** Starts `baton model serve NAME --port 0 --poll 200` and waits for its "serving … at URL" line. */
async function serve(name: string, env: Record<string, string>): Promise<{ proc: Proc; url: string }> {
  const proc = startProcess([path.join(ROOT, "bin/baton.js"), "model", "serve", name, "--handler", HANDLER, "--port", "0", "--poll", "200"], env);
  const url = await until(
    () => / at (http:\/\/\S+)\/predict/.exec(proc.stdout())?.[1] ?? (proc.child.exitCode !== null ? Promise.reject(new Error(`baton model serve exited: ${proc.stderr()}`)) : undefined),
    "the model server",
    90_000,
  );
  return { proc, url };
}

interface Answer {
  /** When the request was due, ms after the load started. */
  due: number;
  /** When it was sent, ms after the load started. */
  sent: number;
  status: number | "error";
  version?: number;
  consistent?: boolean;
}

/**
 * Sends `rate` requests a second for `seconds` to POST /predict, each at its due time whether or
 * not earlier ones were answered; `at.fn` runs once the load has run `at.ms`, given the load's clock.
 */
async function drive(
  url: string,
  rate: number,
  seconds: number,
  at: { ms: number; fn: (elapsed: () => number) => Promise<unknown> },
): Promise<{ answers: Answer[]; during: Promise<unknown> }> {
  const total = rate * seconds;
  const interval = 1000 / rate;
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  const pending: Promise<Answer>[] = [];
  let during: Promise<unknown> | undefined;
  for (let i = 0; i < total; i++) {
    const due = i * interval;
    const wait = start + due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (!during && elapsed() >= at.ms) during = at.fn(elapsed);
    const sent = performance.now() - start;
    const x = i % 100;
    pending.push(
      fetch(`${url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: [x, x + 0.5] }) }).then(
        async (res) => {
          if (res.status !== 200) return { due, sent, status: res.status };
          const body = (await res.json()) as { predictions: number[]; model: { version: number } };
          const factor = FACTOR[body.model.version];
          return { due, sent, status: 200, version: body.model.version, consistent: factor !== undefined && body.predictions[0] === x * factor && body.predictions[1] === (x + 0.5) * factor };
        },
        () => ({ due, sent, status: "error" as const }),
      ),
    );
  }
  return { answers: await Promise.all(pending), during: during ?? at.fn(elapsed) };
}

/** `baton_model_requests_total{outcome="ok",version="N"}` from a /metrics page. */
function okCount(metrics: string, version: number): number {
  return Number(new RegExp(`^baton_model_requests_total\\{outcome="ok",version="${version}"\\} (\\d+)$`, "m").exec(metrics)?.[1] ?? 0);
}

/** The load's verdict: no failure, answers consistent, v1 then v2, the switch after the move. */
async function checkSwitch(url: string, answers: Answer[], moved: { startedAt: number; doneAt: number }, expected: number) {
  expect(answers).toHaveLength(expected);
  const failed = answers.filter((a) => a.status !== 200);
  expect(failed, `failed requests: ${JSON.stringify(failed.slice(0, 5))}`).toEqual([]);
  expect(answers.filter((a) => !a.consistent)).toEqual([]);
  const v1 = answers.filter((a) => a.version === 1);
  const v2 = answers.filter((a) => a.version === 2);
  expect(v1.length + v2.length).toBe(expected);
  // Sent before the move began: v1. Sent well after it was done (the server polls every 200 ms): v2.
  // (100 ms and 2.5 s of margin: a loaded machine may hold a request, or the server's reload, that long.)
  expect(answers.filter((a) => a.sent < moved.startedAt - 100).every((a) => a.version === 1)).toBe(true);
  expect(answers.filter((a) => a.sent > moved.doneAt + 2500).every((a) => a.version === 2)).toBe(true);
  expect(v1.length).toBeGreaterThan(0);
  expect(v2.length).toBeGreaterThan(0);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(okCount(metrics, 1)).toBe(v1.length);
  expect(okCount(metrics, 2)).toBe(v2.length);
  expect(metrics).toMatch(/^baton_model_reloads_total\{outcome="loaded"\} 1$/m);
  expect(metrics).toMatch(new RegExp(`^baton_model_request_duration_seconds_count\\{version="2"\\} ${v2.length}$`, "m"));
}

describe("baton model serve", () => {
  let cleanup: () => Promise<void>;
  let home: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    const db = await freshDatabaseUrl("sqlite");
    cleanup = db.cleanup;
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-model-serve-"));
    env = { BATON_HOME: home, BATON_DATABASE_URL: db.url, BATON_LOG_LEVEL: "silent" };
    const ran = await cli(["run", FLOWS, "--param", 'names=["scaler","unpromoted"]', "--param", "factors=[2,3]"], env);
    expect(ran.code, ran.stderr).toBe(0);
    const promoted = await cli(["model", "promote", "scaler", "1", "--force"], env);
    expect(promoted.code, promoted.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("serves 200 requests/s for 12 s while the alias moves from v1 to v2, with no failed request", async () => {
    const { proc, url } = await serve("scaler", env);
    try {
      const moved = { startedAt: Infinity, doneAt: Infinity };
      const { answers, during } = await drive(url, 200, 12, {
        ms: 4000,
        fn: async (elapsed) => {
          moved.startedAt = elapsed();
          const promote = await cli(["model", "promote", "scaler", "2", "--force"], env);
          expect(promote.stdout, promote.stderr).toMatch(/Promoted scaler v2 to production \(was v1\)/);
          moved.doneAt = elapsed();
        },
      });
      await during;
      // (The rate it sustains, and its latency, are bench/serve.ts's to say, not a test's on a busy machine.)
      // The move was done in time for v2 to answer a good share of the load.
      expect(moved.doneAt).toBeLessThan(9000);
      await checkSwitch(url, answers, moved, 2400);
      expect(proc.stdout()).toMatch(/scaler@production: reloaded, now serving v2 \(was v1\)/);
    } finally {
      await stopProcess(proc);
    }
    expect(await proc.exit).toBe(0);
  }, 120_000);

  it("refuses a handler without predict, and a model without the alias, saying what to do", async () => {
    const noPredict = await cli(["model", "serve", "scaler", "--handler", NO_PREDICT, "--port", "0"], env);
    expect(noPredict.code).not.toBe(0);
    expect(noPredict.stderr).toMatch(/model-handler-no-predict\.ts must export a function predict\(model, inputs\)/);
    const noAlias = await cli(["model", "serve", "unpromoted", "--handler", HANDLER, "--port", "0"], env);
    expect(noAlias.code).not.toBe(0);
    expect(noAlias.stderr).toMatch(/model "unpromoted" has no alias "production": promote a version to it first \(baton model promote unpromoted VERSION --to production/);
    const otherAlias = await cli(["model", "serve", "scaler", "--alias", "staging", "--handler", HANDLER, "--port", "0"], env);
    expect(otherAlias.stderr).toMatch(/model "scaler" has no alias "staging"/);
    const unknown = await cli(["model", "serve", "nope", "--handler", HANDLER, "--port", "0"], env);
    expect(unknown.stderr).toMatch(/model "nope" does not exist; register it with registerModel\("nope"/);
  }, 60_000);
});

describe("baton model serve through a server (BATON_API_URL, PostgreSQL)", () => {
  let cleanup: () => Promise<void>;
  let home: string;
  let server: Proc | undefined;
  let api: string;
  let remote: Record<string, string>;

  beforeAll(async () => {
    const db = await freshDatabaseUrl("postgres");
    cleanup = db.cleanup;
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-model-serve-remote-"));
    const started = await startServerProcess({ BATON_HOME: home, BATON_DATABASE_URL: db.url, BATON_LOG_LEVEL: "silent" });
    server = started.proc;
    api = `${started.url}/api`;
    remote = { BATON_HOME: home, BATON_API_URL: api, BATON_LOG_LEVEL: "silent" };
    const ran = await cli(["run", FLOWS, "--param", 'names=["remote-scaler"]', "--param", "factors=[2,3]"], remote);
    expect(ran.code, ran.stderr).toBe(0);
    const promoted = await cli(["model", "promote", "remote-scaler", "1", "--force"], remote);
    expect(promoted.code, promoted.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    if (server) await stopProcess(server);
    await cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("follows the alias the server moves, with no failed request (200 requests/s for 2 s)", async () => {
    const { proc, url } = await serve("remote-scaler", remote);
    try {
      const moved = { startedAt: Infinity, doneAt: Infinity };
      const { answers, during } = await drive(url, 200, 2, {
        ms: 500,
        fn: async (elapsed) => {
          moved.startedAt = elapsed();
          const res = await fetch(`${api}/models/remote-scaler/promote`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ version: 2, force: true }) });
          expect(res.status).toBe(200);
          moved.doneAt = elapsed();
        },
      });
      await during;
      await checkSwitch(url, answers, moved, 400);
      expect(proc.stdout()).toMatch(/remote-scaler@production: reloaded, now serving v2 \(was v1\)/);
    } finally {
      await stopProcess(proc);
    }
  }, 120_000);
});
