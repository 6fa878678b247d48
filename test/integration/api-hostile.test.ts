/**
 * Hostile input that used to reach the database (mostly PostgreSQL's stricter types) answers
 * 4xx with a message naming the problem, writes nothing, and the server keeps answering.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, stateOp, taskRunOp, type ApiHarness } from "../support/api.ts";
import { makeState } from "../../src/core/states.ts";
import { newId } from "../../src/core/ids.ts";

describe.each(DIALECTS)("hostile input on %s", (dialect) => {
  let api: ApiHarness;
  let runId: string;

  beforeAll(async () => {
    // Room for bodies nested 100,000 levels deep and for large bad values.
    api = await apiHarness(dialect, { bodyLimit: 2 * 1024 * 1024 });
    runId = (await api.call("POST", "/api/flow-runs", { flowName: "hostile" })).body.id;
    await api.call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running" } });
  });
  afterAll(() => api.close());

  const log = (fields: Record<string, unknown>) => ({ kind: "log", log: { flowRunId: runId, taskRunId: null, level: 30, message: "x", timestamp: Date.now(), ...fields } });

  it("refuses fractional numbers where the database stores integers", async () => {
    const { call } = api;
    expectError(await call("GET", "/api/flow-runs?since=1.5"), 400, /querystring\.since must be integer/);
    expectError(await call("GET", "/api/flow-runs?until=1.5"), 400, /querystring\.until must be integer/);
    expectError(await call("GET", "/api/flow-runs?until=-1"), 400, /querystring\.until must be >= 0/);
    expectError(await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running", timestamp: 1.5 } }), 400, /body\.state\.timestamp must be integer/);
    expectError(await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running", scheduledAt: 1.5 } }), 400, /body\.state\.scheduledAt must be integer/);
    expectError(await call("POST", `/api/flow-runs/${runId}/heartbeat`, { at: 1.5 }), 400, /body\.at must be integer/);
    expectError(await call("POST", "/api/flow-runs", { flowName: "x", scheduledAt: 1.5 }), 400, /body\.scheduledAt must be integer/);
    expectError(await call("POST", "/api/flow-runs", { flowName: "x", scheduledAt: 1e300 }), 400, /body\.scheduledAt must be <=/);
    // A deployment's run took any number (found by the fuzz test): it was stored, then its answer failed (500).
    await call("POST", "/api/deployments", { name: "when", flowName: "when", entrypoint: "f.ts:when" });
    expectError(await call("POST", "/api/deployments/when/runs", { scheduledAt: 8e-28 }), 400, /body\.scheduledAt must be integer/);
    expectError(await call("POST", "/api/deployments/when/runs", { scheduledAt: 1e300 }), 400, /body\.scheduledAt must be <=/);
    expectError(await call("POST", "/api/deployments/when/runs", { scheduledAt: -1 }), 400, /body\.scheduledAt must be >= 0/);
    expect((await call("GET", "/api/flow-runs?flow=when")).body.items).toEqual([]);
    const cursor = Buffer.from("1.5:x").toString("base64url");
    expectError(await call("GET", `/api/flow-runs?cursor=${cursor}`), 400, /invalid cursor/);
    expectError(await call("GET", `/api/flow-runs?cursor=${Buffer.from("1:\u0000").toString("base64url")}`), 400, /invalid cursor/);
    expectError(await call("POST", "/api/batch", { ops: [log({ timestamp: 1.5 })] }), 400, /timestamp must be integer/);
    const op = taskRunOp(runId);
    expectError(await call("POST", "/api/batch", { ops: [{ ...op, taskRun: { ...op.taskRun, createdAt: 2.5 } }] }), 400, /createdAt must be integer/);
    expectError(await call("GET", `/api/logs?flowRunId=${runId}&afterId=1e30`), 400, /afterId must be <=/);
  });

  it("refuses integers out of the columns' range", async () => {
    const { call } = api;
    expectError(await call("POST", "/api/batch", { ops: [log({ level: 1e12 })] }), 400, /level must be <= 100/);
    expectError(await call("POST", "/api/batch", { ops: [taskRunOp(runId, { runCount: 1e12 })] }), 400, /runCount must be <= 2147483647/);
    expectError(await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running" }, runCount: 3e9 }), 400, /body\.runCount must be <= 2147483647/);
    expectError(await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running" }, heartbeatMs: 3e9 }), 400, /body\.heartbeatMs must be <= 2147483647/);
    expectError(await call("POST", "/api/logs", { logs: [{ flowRunId: runId, level: -1, message: "x", timestamp: 1 }] }), 400, /level must be >= 0/);
  });

  it("reaches names of every allowed length through paths, and answers a longer path parameter with a 414 (found by the fuzz test)", async () => {
    const { call } = api;
    // A 200-character name (the longest allowed), and a 1,000-character cache key percent-encoded to 3,000.
    const name = `d${"x".repeat(199)}`;
    expect((await call("POST", "/api/deployments", { name, flowName: "long", entrypoint: "f.ts:long" })).status).toBe(201);
    expect((await call("GET", `/api/deployments/${name}`)).body.name).toBe(name);
    expect((await call("POST", `/api/deployments/${name}/pause`)).status).toBe(200);
    expectError(await call("GET", `/api/cache/${encodeURIComponent("é".repeat(500))}`), 404, /cache entry/);
    const tooLong = await call("GET", `/api/flow-runs/${"a".repeat(3001)}`);
    expectError(tooLong, 414, /^a path parameter is longer than 3000 characters/);
    expect(JSON.stringify(tooLong.body).length).toBeLessThan(400);
  });

  it("refuses NUL characters in names and ids, and keeps them out of stored free text", async () => {
    const { call } = api;
    expectError(await call("POST", "/api/flow-runs", { flowName: "bad\u0000name" }), 400, /body\.flowName contains a NUL character/);
    expectError(await call("POST", "/api/flow-runs", { flowName: "ok", tags: ["fine"], name: "n\u0000" }), 400, /body\.name contains a NUL/);
    expectError(await call("GET", "/api/flow-runs?flow=a%00b"), 400, /NUL character/);
    expectError(await call("GET", "/api/flow-runs/a%00b"), 400, /NUL character/);
    expectError(await call("POST", "/api/batch", { ops: [taskRunOp(runId, { taskKey: "k\u0000" })] }), 400, /body\.ops\.0\.taskRun\.taskKey contains a NUL/);
    // An escaped backslash before "u0000" is not a NUL: accepted as is.
    expect((await call("POST", "/api/flow-runs", { flowName: "back\\u0000slash" })).status).toBe(201);

    // Free text (user code may log a NUL) is stored with U+FFFD instead.
    const op = taskRunOp(runId, { state: makeState("Pending", { message: "state\u0000message" }) });
    const res = await call("POST", "/api/batch", { ops: [op, stateOp(op), log({ message: "log\u0000line", taskRunId: op.taskRun.id, extra: { raw: "\u0000" } })] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const logs = (await call("GET", `/api/logs?flowRunId=${runId}`)).body.items;
    expect(logs.at(-1)).toMatchObject({ message: "log\uFFFDline", extra: { raw: "\u0000" } });
    expect((await call("GET", `/api/task-runs/${op.taskRun.id}`)).body.state.message).toBe("state\uFFFDmessage");
    expect((await call("GET", `/api/task-runs/${op.taskRun.id}/states`)).body[0].message).toBe("state\uFFFDmessage");
    const set = await call("POST", `/api/flow-runs/${runId}/set-state`, { state: { name: "Running", message: "flow\u0000state" }, force: true });
    expect(set.body.state.message).toBe("flow\uFFFDstate");
  });

  it("answers 409 for duplicate keys, naming the record", async () => {
    const { call } = api;
    const artifact = { id: newId(), type: "markdown", data: "# hi", flowRunId: runId };
    expect((await call("POST", "/api/artifacts", artifact)).status).toBe(201);
    // The same id of the same run (a retried request, a later attempt of the run) replaces it.
    expect((await call("POST", "/api/artifacts", { ...artifact, data: "# hi again" })).status).toBe(201);
    expect((await call("GET", `/api/artifacts?flowRunId=${runId}`)).body.items.filter((a: { id: string }) => a.id === artifact.id)).toMatchObject([{ data: "# hi again" }]);
    // Another run's id is a duplicate.
    const other = (await call("POST", "/api/flow-runs", { flowName: "other" })).body as { id: string };
    expectError(await call("POST", "/api/artifacts", { ...artifact, flowRunId: other.id }), 409, new RegExp(`artifact ${artifact.id} already exists`));
    expect((await call("GET", `/api/artifacts?flowRunId=${other.id}`)).body.items).toEqual([]);

    const first = taskRunOp(runId, { taskKey: "dup-0" });
    expect((await call("POST", "/api/batch", { ops: [first, stateOp(first)] })).status).toBe(200);
    const second = taskRunOp(runId, { taskKey: "dup-0" });
    const res = await call("POST", "/api/batch", { ops: [second, stateOp(second)] });
    expectError(res, 409, new RegExp(`flow run ${runId} already has task run ${first.taskRun.id} with task key "dup-0"`));
    expect((await call("GET", `/api/task-runs/${second.taskRun.id}`)).status).toBe(404);
    // Two new task runs with one key in the same batch.
    const a = taskRunOp(runId, { taskKey: "dup-1" });
    const b = taskRunOp(runId, { taskKey: "dup-1" });
    expectError(await call("POST", "/api/batch", { ops: [a, stateOp(a), b, stateOp(b)] }), 409, /task key "dup-1"/);
  });

  it("refuses bodies nested more than 64 levels deep with a 400 naming the field, storing nothing", async () => {
    const { call } = api;
    /** JSON text of `levels` nested objects (a JSON.parse of it can be as deep as the text says). */
    const deep = (levels: number) => `${'{"a":'.repeat(levels - 1)}{"leaf":1}${"}".repeat(levels - 1)}`;
    const post = (url: string, body: string) => call("POST", url, body, { "content-type": "application/json" });
    const field = (name: string) => new RegExp(`^${name.replaceAll(".", "\\.")} is nested more than 64 levels deep \\(at ${name.replaceAll(".", "\\.")}(\\.\\w+)+\\.?…\\)$`);
    for (const levels of [65, 5_000, 100_000]) {
      const flowName = `deep-${levels}`;
      expectError(await post("/api/flow-runs", `{"flowName":"${flowName}","parameters":${deep(levels)}}`), 400, field("body.parameters"));
      const deployment = `{"name":"${flowName}","flowName":"${flowName}","entrypoint":"f.ts:f","parameters":${deep(levels)}}`;
      expectError(await post("/api/deployments", deployment), 400, field("body.parameters"));
      const line = (extra: string) => `{"flowRunId":"${runId}","level":30,"message":"x","timestamp":1,"extra":${extra}}`;
      expectError(await post("/api/logs", `{"logs":[${line("{}")},${line(deep(levels))}]}`), 400, field("body.logs.1.extra"));
      expectError(await post("/api/batch", `{"ops":[{"kind":"log","log":${line(deep(levels))}}]}`), 400, field("body.ops.0.log.extra"));
      const failed = taskRunOp(runId, { state: makeState("Failed") });
      const withCause = JSON.stringify({ ops: [failed] }).replace('"error":null', `"error":{"name":"E","message":"m","cause":${deep(levels)}}`);
      expectError(await post("/api/batch", withCause), 400, field("body.ops.0.taskRun.error"));
      const artifact = `{"id":"${newId()}","type":"markdown","flowRunId":"${runId}","data":${deep(levels)}}`;
      expectError(await post("/api/artifacts", artifact), 400, field("body.data"));
      // The rest of a body counts from its root.
      expectError(await post("/api/flow-runs", `{"flowName":"${flowName}","tags":["x"],"id":${deep(levels)}}`), 400, /^body is nested more than 64 levels deep \(at body\.id\.a\.a/);
      expect((await call("GET", `/api/flow-runs?flow=${flowName}`)).body.items).toEqual([]);
      expect((await call("GET", `/api/deployments/${flowName}`)).status).toBe(404);
      expect((await call("GET", `/api/logs?flowRunId=${runId}`)).body.items.some((l: { message: string; extra: unknown }) => l.extra && JSON.stringify(l.extra).includes("leaf"))).toBe(false);
      expect((await call("GET", `/api/artifacts?flowRunId=${runId}`)).body.items.filter((a: { type: string }) => a.type === "markdown")).toHaveLength(1); // the one of the 409 test
    }
    // 64 levels of parameters are stored and answered (the body itself is 65 deep).
    const ok = await post("/api/flow-runs", `{"flowName":"deep-64","parameters":${deep(64)}}`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(JSON.stringify((await call("GET", `/api/flow-runs/${ok.body.id}`)).body.parameters)).toBe(deep(64));
  });

  it("cuts values quoted in errors: a request with a 500 KB bad value gets an error under 4 KB that still names the field", async () => {
    const { call } = api;
    const big = "v".repeat(500_000);
    const small = async (res: { status: number; body: any }, field: RegExp) => {
      expectError(res, 400, field);
      expect(Buffer.byteLength(JSON.stringify(res.body))).toBeLessThan(4096);
    };
    await small(await call("POST", "/api/flow-runs", { flowName: "x", [big]: 1 }), /^body has an unknown field "vvvv+… \(500,000 characters\)"$/);
    await small(await call("POST", "/api/flow-runs", { flowName: "x", state: big }), /^body\.state must be one of Scheduled, Pending$/);
    await small(await call("POST", "/api/flow-runs", { flowName: "x", jobVariables: { env: { [`-${big}`]: "1" } } }), /^body\.jobVariables\.env/);
    await small(await call("POST", "/api/flow-runs", { flowName: "x", [big]: "nul\u0000" }), /^body\.vvvv+… contains a NUL character/);
    await small(await call("GET", `/api/flow-runs?state=${"v".repeat(1900)}`), /^querystring\.state has an unknown value "v{200}… \(1,900 characters\)"; expected Scheduled/);
    await small(await call("POST", "/api/artifacts", { id: newId(), type: big, data: 1, flowRunId: runId }), /^body\.type must be one of markdown, table, link, progress, image$/);
    const schedule = { name: "big-cron", flowName: "f", entrypoint: "f.ts:f", schedules: [{ spec: { kind: "cron", cron: big } }] };
    await small(await call("POST", "/api/deployments", schedule), /^body\.schedules\[0\]: schedule\.cron "v+… \(500,000 characters\)" is invalid/);

    // A deployment's own JSON Schema may hold long values (a pattern, an enum, a const) and a
    // run's parameters long keys: each issue is cut, and at most ten are listed.
    const parameterSchema = {
      type: "object",
      properties: {
        code: { type: "string", pattern: `^(${Array.from({ length: 2000 }, (_, i) => `c${i}`).join("|")})$` },
        mode: { enum: Array.from({ length: 2000 }, (_, i) => `mode-${i}`) },
        fixed: { const: big.slice(0, 5000) },
        ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`n${i}`, { type: "integer" }])),
      },
      additionalProperties: false,
    };
    const created = await call("POST", "/api/deployments", { name: "big-schema", flowName: "f", entrypoint: "f.ts:f", parameterSchema });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const run = (parameters: Record<string, unknown>) => call("POST", "/api/deployments/big-schema/runs", { parameters });
    await small(await run({ code: "nope" }), /^parameters\.code must match pattern "\^\(c0\|c1\|.*… \([\d,]+ characters\)"$/);
    await small(await run({ mode: "nope" }), /^parameters\.mode must be one of mode-0, mode-1, .*… \([\d,]+ characters\)$/);
    await small(await run({ fixed: "nope" }), /^parameters\.fixed must be equal to constant$/);
    await small(await run({ [big]: 1 }), /^parameters has an unknown field "v+… \(500,000 characters\)"$/);
    const many = await run(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`n${i}`, big.slice(0, 20_000)])));
    await small(many, /^parameters\.n0 must be integer; .*; and 20 more$/);
    expect(many.body.error.details).toHaveLength(10);
    expect((await call("GET", "/api/flow-runs?flow=f")).body.items).toEqual([]);
  });

  it("is still up", async () => {
    expect((await api.call("GET", "/api/health")).status).toBe(200);
    expect((await api.call("GET", `/api/flow-runs/${runId}`)).status).toBe(200);
  });
});

/**
 * Clients over real sockets: slow ones (a slow-loris) are cut off without starving the others,
 * and paths that try to climb out of the API or the dashboard's files find nothing.
 */
describe("slow and path-climbing clients over HTTP", () => {
  let api: ApiHarness;
  let port: number;
  const timeouts = { headersMs: 1_500, requestMs: 3_000, idleMs: 8_000, checkEveryMs: 250 };

  beforeAll(async () => {
    api = await apiHarness("sqlite", { timeouts });
    const url = new URL(await api.server.app.listen({ port: 0, host: "127.0.0.1" }));
    port = Number(url.port);
  });
  afterAll(() => api.close());

  /** A socket that sends `first`, then `drip` every `everyMs` until the server closes it; resolves with what it got and when. */
  const dribble = (first: string, drip: string, everyMs: number) =>
    new Promise<{ answer: string; closedAfterMs: number }>((resolve) => {
      const started = Date.now();
      const socket = net.connect(port, "127.0.0.1");
      let answer = "";
      socket.on("connect", () => void (first && socket.write(first)));
      const timer = setInterval(() => socket.writable && drip && socket.write(drip), everyMs);
      socket.on("data", (chunk) => (answer += chunk.toString()));
      socket.on("error", () => undefined);
      socket.on("close", () => {
        clearInterval(timer);
        resolve({ answer, closedAfterMs: Date.now() - started });
      });
    });

  it("cuts off clients that dribble their headers or body or send nothing, while others get answers at once", async () => {
    const slow = [
      ...Array.from({ length: 40 }, () => dribble("GET /api/flow-runs HTTP/1.1\r\nHost: x\r\n", "X-Slow: 1\r\n", 200)),
      ...Array.from({ length: 10 }, () => dribble("", "", 1000)),
      ...Array.from({ length: 10 }, () => dribble('POST /api/flow-runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"flowName":"', "a", 200)),
    ];
    // Meanwhile, a normal client is answered promptly, again and again.
    const latencies: number[] = [];
    const until = Date.now() + 2_000;
    while (Date.now() < until) {
      const started = Date.now();
      const res = await fetch(`http://127.0.0.1:${port}/api/flow-runs?limit=1`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      latencies.push(Date.now() - started);
    }
    expect(latencies.length).toBeGreaterThan(10);
    expect(Math.max(...latencies)).toBeLessThan(500);
    const ends = await Promise.all(slow);
    for (const end of ends.slice(0, 40)) {
      expect(end.answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(end.answer).toContain('"code":"REQUEST_TIMEOUT"');
      expect(end.closedAfterMs).toBeLessThan(timeouts.headersMs + 4 * timeouts.checkEveryMs + 1_000);
    }
    // Silent connections and trickled bodies are gone by the request time (plus Node's check interval).
    for (const end of ends.slice(40)) expect(end.closedAfterMs).toBeLessThan(timeouts.requestMs + 4 * timeouts.checkEveryMs + 1_000);
    expect((await api.call("GET", "/api/flow-runs")).body.items).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);
  }, 20_000);

  it("finds nothing outside the API and the dashboard's files, however a path climbs", async () => {
    /** Sends the path as it is (no client-side normalisation). */
    const raw = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
        let text = "";
        socket.on("data", (chunk) => (text += chunk.toString()));
        socket.on("error", reject);
        socket.on("close", () => resolve({ status: Number(text.split(" ")[1]), body: text }));
      });
    const climbs = [
      "/api/results/../../../../etc/passwd",
      "/api/results/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
      "/api/results/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "/api/artifacts/..%2F..%2Fetc%2Fpasswd/content",
      "/api/artifacts/../../../etc/passwd/content",
      "/api/artifacts/..%252F..%252Fetc%252Fpasswd/content",
      "/api/cache/..%2F..%2Fetc%2Fpasswd",
      "/../../../../etc/passwd",
      "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
      "/assets/....//....//etc/passwd",
      "/..%5c..%5c..%5cetc%5cpasswd",
    ];
    for (const path of climbs) {
      const res = await raw(path);
      expect(res.status, path).toBeGreaterThanOrEqual(200);
      expect(res.status, path).toBeLessThan(500);
      expect(res.body, path).not.toMatch(/root:.*:0:0:/);
      if (path.startsWith("/api/")) expect(res.status, path).toBe(404);
    }
  });
});
