/**
 * The assets API on SQLite and PostgreSQL: keys URL-encoded in the path, versions newest first,
 * lineage, a flow run's reads and writes; and its refusals — a key that is not a URI, a body
 * that does not match the schema, JSON fields that are not JSON, an unknown run or version, a
 * task run of another flow run, a version name taken by other content — each a 4xx naming the
 * field, and nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, claimedFlowRun, expectError, taskRunOp, type ApiHarness } from "../support/api.ts";
import type { FlowRun } from "../../src/store/types.ts";

describe.each(DIALECTS)("assets API on %s", (dialect) => {
  let api: ApiHarness;
  let run: FlowRun;
  let other: FlowRun;
  beforeAll(async () => {
    api = await apiHarness(dialect);
    run = await claimedFlowRun(api.store, "asset-flow");
    other = await claimedFlowRun(api.store, "asset-other");
  });
  afterAll(() => api.close());

  const made = (fields: Record<string, unknown> = {}) => ({ key: "dataset://sales/2026", version: null, hash: "sha256:aa", rows: 10, schema: '{"x":"int"}', metadata: '{"source":"erp"}', flowRunId: run.id, taskRunId: null, inputs: [], ...fields });
  const path = (key: string) => `/api/assets/${encodeURIComponent(key)}`;

  it("records versions, then lists them, reads an asset by its encoded key, its lineage and a run's assets", async () => {
    const first = await api.call("POST", "/api/asset-materializations", made());
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ created: true, version: { key: "dataset://sales/2026", version: "sha256:aa", rows: 10, schema: { x: "int" }, metadata: { source: "erp" } } });
    const derived = await api.call("POST", "/api/asset-materializations", made({ key: "dataset://summary", hash: "sha256:bb", inputs: [first.body.version.id] }));
    expect(derived.body.created).toBe(true);
    expect((await api.call("POST", "/api/asset-materializations", made())).body.created).toBe(false);

    expect((await api.call("GET", "/api/assets")).body.items.map((a: { key: string }) => a.key).sort()).toEqual(["dataset://sales/2026", "dataset://summary"]);
    const detail = await api.call("GET", path("dataset://sales/2026"));
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ key: "dataset://sales/2026", total: 1, versions: [{ id: first.body.version.id }] });
    const up = await api.call("GET", `${path("dataset://summary")}/lineage?direction=upstream&depth=2`);
    expect(up.status).toBe(200);
    expect(up.body.nodes.map((n: { id: string }) => n.id)).toEqual(expect.arrayContaining([`version:${first.body.version.id}`, `run:${run.id}`]));
    const down = await api.call("GET", `${path("dataset://sales/2026")}/lineage?direction=downstream`);
    expect(down.body.nodes.map((n: { id: string }) => n.id)).toContain(`version:${derived.body.version.id}`);
    const reads = await api.call("POST", "/api/asset-reads", { flowRunId: run.id, taskRunId: null, reads: [{ key: "dataset://sales/2026", version: "sha256:aa" }, { key: "dataset://none", version: null }] });
    expect(reads.status).toBe(200);
    expect(reads.body.items).toEqual([expect.objectContaining({ id: first.body.version.id }), null]);
    const used = (await api.call("GET", `/api/flow-runs/${run.id}/assets`)).body;
    expect(used.read.map((u: { version: { id: string } }) => u.version.id)).toEqual([first.body.version.id]);
    expect(used.written).toHaveLength(2);
  });

  it("refuses bad input with a 4xx naming the field, storing nothing", async () => {
    expectError(await api.call("POST", "/api/asset-materializations", made({ key: "sales" })), 400, /^body\.key: asset key "sales" is not a URI/);
    expectError(await api.call("POST", "/api/asset-materializations", made({ rows: -1 })), 400, /rows/);
    expectError(await api.call("POST", "/api/asset-materializations", made({ schema: "{not json" })), 400, /body\.schema must be JSON text/);
    expectError(await api.call("POST", "/api/asset-materializations", made({ metadata: "[1]" })), 400, /body\.metadata must be the JSON text of an object/);
    expectError(await api.call("POST", "/api/asset-materializations", made({ flowRunId: "0193aaaa-0000-7000-8000-000000000000" })), 404, /flow run 0193aaaa/);
    expectError(await api.call("POST", "/api/asset-materializations", made({ flowRunId: null, taskRunId: "x" })), 400, /body\.taskRunId needs body\.flowRunId/);
    const op = taskRunOp(other.id);
    await api.store.applyWrites([op]);
    expectError(await api.call("POST", "/api/asset-materializations", made({ taskRunId: op.taskRun.id })), 409, /belongs to flow run/);
    expectError(await api.call("POST", "/api/asset-materializations", made({ inputs: ["0193aaaa-0000-7000-8000-000000000001"] , hash: "sha256:new", version: "v9" })), 404, /no asset version has the id/);
    expectError(await api.call("POST", "/api/asset-materializations", made({ version: "sha256:aa", hash: "sha256:zz" })), 409, /already has a version "sha256:aa"/);
    expectError(await api.call("POST", "/api/asset-reads", { flowRunId: run.id, taskRunId: null, reads: [{ key: "dataset://sales/2026", version: "v404" }] }), 404, /has no version "v404"/);
    expectError(await api.call("POST", "/api/asset-reads", { flowRunId: run.id, taskRunId: null, reads: [] }), 400, /reads/);
    expectError(await api.call("POST", "/api/asset-reads", { flowRunId: run.id, taskRunId: null, reads: [{ key: "nope", version: null }] }), 400, /^body\.reads\.0\.key: asset key "nope" is not a URI/);
    expect((await api.call("GET", path("dataset://sales/2026"))).body.total).toBe(1);
    expect((await api.call("GET", "/api/assets")).body.items).toHaveLength(2);
  });

  it("reads: unknown assets, versions and runs are 404, bad keys and queries 400", async () => {
    expectError(await api.call("GET", path("dataset://unknown")), 404, /asset dataset:\/\/unknown has no versions/);
    expectError(await api.call("GET", path("not-a-uri")), 400, /^params\.key: asset key "not-a-uri" is not a URI/);
    expectError(await api.call("GET", `${path("dataset://sales/2026")}/lineage?direction=sideways`), 400, /direction/);
    expectError(await api.call("GET", `${path("dataset://sales/2026")}/lineage?depth=0`), 400, /depth/);
    expectError(await api.call("GET", `${path("dataset://sales/2026")}/lineage?version=v404`), 404, /has no version "v404"/);
    expectError(await api.call("GET", "/api/flow-runs/0193aaaa-0000-7000-8000-000000000002/assets"), 404, /flow run/);
  });
});
