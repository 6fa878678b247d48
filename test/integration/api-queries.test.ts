/**
 * The read side of the API and the server's housekeeping, on both dialects: flows, the parent
 * and time filters, log paging, task-run dependencies, audit lines, and log retention.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, stateOp, taskRunOp, type ApiHarness } from "../support/api.ts";
import { buildServer } from "../../src/server/app.ts";

describe.each(DIALECTS)("queries and housekeeping on %s", (dialect) => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await apiHarness(dialect);
  });
  afterAll(() => api.close());

  it("lists flows and gets one by id or name", async () => {
    const { call } = api;
    const registered = await call("POST", "/api/flows", { name: "etl", description: "nightly load", tags: ["prod"] });
    expect(registered.body).toMatchObject({ name: "etl", description: "nightly load", tags: ["prod"] });
    await call("POST", "/api/flow-runs", { flowName: "adhoc" });
    const list = await call("GET", "/api/flows");
    expect(list.body.items.map((f: any) => f.name)).toEqual(expect.arrayContaining(["adhoc", "etl"]));
    expect((await call("GET", `/api/flows/${registered.body.id}`)).body.name).toBe("etl");
    expect((await call("GET", "/api/flows/etl")).body.id).toBe(registered.body.id);
    expectError(await call("GET", "/api/flows/nope"), 404, /flow nope was not found/);
  });

  it("filters runs by parent and by creation time", async () => {
    const { call } = api;
    const parent = (await call("POST", "/api/flow-runs", { flowName: "tree" })).body;
    const kids = [];
    // A few ms apart, so that creation times differ.
    const tick = () => new Promise((r) => setTimeout(r, 3));
    for (let i = 0; i < 3; i++) await tick(), kids.push((await call("POST", "/api/flow-runs", { flowName: "tree", parentFlowRunId: parent.id })).body);
    const children = (await call("GET", `/api/flow-runs?parent=${parent.id}`)).body.items.map((r: any) => r.id);
    expect(children.sort()).toEqual(kids.map((k) => k.id).sort());
    const t1 = kids[1].createdAt;
    const before = (await call("GET", `/api/flow-runs?flow=tree&until=${t1}`)).body.items.map((r: any) => r.id);
    expect(before).not.toContain(kids[1].id);
    expect(before).toContain(parent.id);
    const window = (await call("GET", `/api/flow-runs?flow=tree&since=${t1}&until=${kids[2].createdAt + 1}`)).body.items.map((r: any) => r.id);
    expect(window).toEqual(expect.arrayContaining([kids[1].id, kids[2].id]));
    expect(window).not.toContain(parent.id);
  });

  it("filters runs by a flow name prefix, ignoring case, with LIKE's wildcards taken literally", async () => {
    const { call } = api;
    for (const flowName of ["PrefixAlpha", "prefixBeta", "prefix_gamma", "prefixXgamma", "otherPrefix"]) await call("POST", "/api/flow-runs", { flowName });
    const flows = async (prefix: string) => [...new Set((await call("GET", `/api/flow-runs?flowPrefix=${encodeURIComponent(prefix)}&limit=500`)).body.items.map((r: any) => r.flowName))].sort();
    expect(await flows("prefix")).toEqual(["PrefixAlpha", "prefixBeta", "prefixXgamma", "prefix_gamma"]);
    expect(await flows("PREFIXa")).toEqual(["PrefixAlpha"]);
    expect(await flows("prefix_")).toEqual(["prefix_gamma"]);
    expect(await flows("%")).toEqual([]);
  });

  it("filters by a prefix that more flows match than it looks up by id (the join), with the other filters", async () => {
    const { call } = api;
    // 502 flows: past the 500 ids the store resolves a prefix to before it joins instead.
    for (let i = 0; i < 502; i += 50)
      await Promise.all(Array.from({ length: Math.min(50, 502 - i) }, (_, j) => call("POST", "/api/flow-runs", { flowName: `wide-${i + j}`, tags: (i + j) % 2 ? ["odd"] : [] })));
    const page = (await call("GET", "/api/flow-runs?flowPrefix=WIDE-&tag=odd&limit=500")).body.items;
    expect(page).toHaveLength(251);
    expect(page.every((r: any) => r.flowName.startsWith("wide-") && r.tags.includes("odd"))).toBe(true);
    expect((await call("GET", "/api/flow-runs?flowPrefix=wide-50&limit=500")).body.items.map((r: any) => r.flowName).sort()).toEqual(["wide-50", "wide-500", "wide-501"]);
    expect((await call("GET", "/api/flow-runs?flowPrefix=nothing-matches")).body.items).toEqual([]);
  });

  it("pages logs with afterId and filters them by level", async () => {
    const { call } = api;
    const run = (await call("POST", "/api/flow-runs", { flowName: "chatty" })).body;
    const logs = Array.from({ length: 25 }, (_, i) => ({ flowRunId: run.id, level: i % 5 === 0 ? 40 : 20, message: `line ${i}`, timestamp: Date.now() + i }));
    expect((await call("POST", "/api/logs", { logs })).status).toBe(202);
    const seen: string[] = [];
    let afterId = 0;
    for (let page = 0; page < 10; page++) {
      const items = (await call("GET", `/api/logs?flowRunId=${run.id}&limit=10&afterId=${afterId}`)).body.items;
      seen.push(...items.map((l: any) => l.message));
      if (items.length < 10) break;
      afterId = items.at(-1).id;
    }
    expect(seen).toEqual(logs.map((l) => l.message));
    const warnings = (await call("GET", `/api/logs?flowRunId=${run.id}&minLevel=40`)).body.items;
    expect(warnings.map((l: any) => l.message)).toEqual(["line 0", "line 5", "line 10", "line 15", "line 20"]);
  });

  it("returns task runs with their dependencies", async () => {
    const { call } = api;
    const run = (await call("POST", "/api/flow-runs", { flowName: "dag" })).body;
    const [a, b, c] = [taskRunOp(run.id), taskRunOp(run.id), taskRunOp(run.id)];
    const ops = [a, stateOp(a), b, stateOp(b), c, stateOp(c)] as unknown[];
    ops.push({ kind: "dependency", dependency: { taskRunId: c.taskRun.id, upstreamTaskRunId: a.taskRun.id, kind: "data" } });
    ops.push({ kind: "dependency", dependency: { taskRunId: c.taskRun.id, upstreamTaskRunId: b.taskRun.id, kind: "wait" } });
    expect((await call("POST", "/api/batch", { ops })).status).toBe(200);
    const res = (await call("GET", `/api/flow-runs/${run.id}/task-runs`)).body;
    expect(res.items).toHaveLength(3);
    expect(res.dependencies).toEqual(
      expect.arrayContaining([
        { taskRunId: c.taskRun.id, upstreamTaskRunId: a.taskRun.id, kind: "data" },
        { taskRunId: c.taskRun.id, upstreamTaskRunId: b.taskRun.id, kind: "wait" },
      ]),
    );
    expect(res.dependencies).toHaveLength(2);
  });

  it("logs one info line for every mutating call, with who made it, and none for reads that succeed", async () => {
    const lines: any[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const audited = await buildServer({ store: api.store, logger: { level: "info", stream }, apiKeys: ["admin:admin-secret-1", "worker:worker-secret-1"] });
    try {
      const admin = { authorization: "Bearer admin-secret-1" };
      const worker = { authorization: "Bearer worker-secret-1" };
      const created = await audited.app.inject({ method: "POST", url: "/api/flow-runs", payload: { flowName: "audited" }, headers: admin });
      await audited.app.inject({ method: "GET", url: "/api/flow-runs", headers: worker });
      await audited.app.inject({ method: "DELETE", url: "/api/flow-runs/nope", headers: admin });
      // Refused calls are audited too, with the role that was refused.
      await audited.app.inject({ method: "DELETE", url: `/api/flow-runs/${created.json().id}`, headers: worker });
      const audits = lines.filter((l) => l.status !== undefined && l.level >= 30);
      expect(audits).toEqual([
        expect.objectContaining({ method: "POST", url: "/api/flow-runs", status: 201, role: "admin", ip: "127.0.0.1", msg: expect.stringMatching(/^POST \/api\/flow-runs 201 \d+ ms$/) }),
        expect.objectContaining({ method: "DELETE", url: "/api/flow-runs/nope", status: 404, role: "admin" }),
        expect.objectContaining({ method: "DELETE", url: `/api/flow-runs/${created.json().id}`, status: 403, role: "worker" }),
      ]);
      expect(created.statusCode).toBe(201);
    } finally {
      await audited.close();
    }
  });

  it("deletes logs older than the retention period", async () => {
    const { call, store } = api;
    const run = (await call("POST", "/api/flow-runs", { flowName: "retained" })).body;
    const now = Date.now();
    await call("POST", "/api/logs", {
      logs: [
        { flowRunId: run.id, level: 30, message: "ancient", timestamp: now - 3 * 24 * 3600_000 },
        { flowRunId: run.id, level: 30, message: "recent", timestamp: now },
      ],
    });
    // The harness's server leads (it runs retention): it steps down for the one under test.
    await api.server.leadership.stop();
    const keeper = await buildServer({ store, logRetentionMs: 24 * 3600_000 });
    try {
      const deadline = Date.now() + 5_000;
      while ((await store.listLogs({ flowRunId: run.id })).length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect((await store.listLogs({ flowRunId: run.id })).map((l) => l.message)).toEqual(["recent"]);
    } finally {
      await keeper.close();
    }
  });
});
