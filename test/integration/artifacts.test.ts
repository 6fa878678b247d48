/**
 * Artifacts on SQLite, PostgreSQL and through the API client (remote mode): a progress updated
 * in place (same id, an updated time), a table's rows appended and replaced, images by bytes
 * (type read from the bytes, size limited) and by URL. Through the API on each database: image
 * bytes round trip with their type, a sandbox CSP and nosniff; the latest artifact of each key
 * across runs; a key's history in pages; PATCH for the run's own artifacts only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flow, task } from "../../src/index.ts";
import { createImageArtifact, createMarkdownArtifact, createProgressArtifact, createTableArtifact } from "../../src/sdk/artifacts.ts";
import { ArtifactDataError, ArtifactTooLargeError, IMAGE_MAX_BYTES } from "../../src/core/artifacts.ts";
import { newId } from "../../src/core/ids.ts";
import { makeState } from "../../src/core/states.ts";
import { configureEngine, ENGINE_BACKENDS, type EngineDatabase } from "../support/engine.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import { DIALECTS } from "../support/databases.ts";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
const SVG = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>`);

describe.each(ENGINE_BACKENDS)("artifacts from the SDK on %s", (backend) => {
  let engine: EngineDatabase;
  beforeAll(async () => {
    engine = await configureEngine(backend);
  });
  afterAll(() => engine?.close());

  it("updates a progress and a table in place, and stores images by bytes and by URL", async () => {
    const ids: Record<string, string> = {};
    const step = task(async function trainStep() {
      const table = await createTableArtifact([{ epoch: 1, loss: 0.9 }], { key: "losses" });
      await table.append([{ epoch: 2, loss: 0.5 }, { epoch: 3, loss: 0.3 }]);
      ids.table = table.artifact.id;
    });
    const f = flow(async function trainArtifacts() {
      const progress = await createProgressArtifact(0, { key: "training", description: "epochs done" });
      ids.progress = progress.artifact.id;
      await progress.update(50);
      await step();
      await progress.update(100);
      await expect(progress.update(150)).rejects.toThrow(ArtifactDataError);
      await createMarkdownArtifact("# Done", { key: "report" });
      ids.png = (await createImageArtifact(PNG, { key: "curve", mimeType: "image/png" })).id;
      await createImageArtifact("https://example.org/plot.png", { key: "remote-plot" });
      await expect(createImageArtifact(Buffer.from("<html><script>x</script></html>"))).rejects.toThrow(/must be a PNG or an SVG/);
      await expect(createImageArtifact(Buffer.concat([PNG, Buffer.alloc(IMAGE_MAX_BYTES)]))).rejects.toThrow(ArtifactTooLargeError);
    });
    const run = await f.run();
    expect(run.state.name, JSON.stringify(run.state)).toBe("Completed");
    const artifacts = await engine.store.listArtifacts({ flowRunId: run.id });
    const byKey = new Map(artifacts.map((a) => [a.key, a]));
    expect(artifacts).toHaveLength(5);
    expect(byKey.get("training")).toMatchObject({ id: ids.progress, type: "progress", data: 100, updatedAt: expect.any(Number) });
    expect(byKey.get("training")!.updatedAt!).toBeGreaterThanOrEqual(byKey.get("training")!.createdAt);
    expect(byKey.get("losses")).toMatchObject({ id: ids.table, type: "table", taskRunId: expect.any(String), data: [{ epoch: 1, loss: 0.9 }, { epoch: 2, loss: 0.5 }, { epoch: 3, loss: 0.3 }] });
    expect(byKey.get("report")).toMatchObject({ type: "markdown", updatedAt: null });
    expect(byKey.get("curve")).toMatchObject({ id: ids.png, type: "image", data: { mimeType: "image/png", size: PNG.byteLength } });
    expect(byKey.get("remote-plot")).toMatchObject({ type: "image", data: { url: "https://example.org/plot.png" } });
    // A run's artifacts listing carries no bytes.
    expect(JSON.stringify(artifacts)).not.toContain(PNG.toString("base64"));
  });
});

describe.each(DIALECTS)("artifacts API on %s", (dialect) => {
  let api: ApiHarness;
  const newRun = async (name: string) => {
    const id = newId();
    await api.store.createFlowRun({ id, flowName: "reports", name, parentFlowRunId: null, parentTaskRunId: null, parameters: {}, tags: [], version: null, state: makeState("Pending") });
    return id;
  };
  const post = (flowRunId: string, fields: Record<string, unknown>) => api.call("POST", "/api/artifacts", { id: newId(), flowRunId, key: null, ...fields });

  beforeAll(async () => {
    api = await apiHarness(dialect, { bodyLimit: 4 * 1024 * 1024 });
  });
  afterAll(() => api?.close());

  it("serves image bytes with their type, a sandbox CSP and nosniff, and refuses what is not an image", async () => {
    const run = await newRun("images");
    const png = newId();
    expect((await api.call("POST", "/api/artifacts", { id: png, flowRunId: run, type: "image", data: {}, content: PNG.toString("base64") })).status).toBe(201);
    const svg = newId();
    // The caller's mimeType is checked against the bytes, never trusted.
    expectError(await post(run, { type: "image", data: { mimeType: "image/png" }, content: SVG.toString("base64") }), 400, /the image's bytes are image\/svg\+xml, not the mimeType given/);
    expect((await api.call("POST", "/api/artifacts", { id: svg, flowRunId: run, type: "image", data: {}, content: SVG.toString("base64") })).status).toBe(201);
    for (const [id, bytes, type] of [
      [png, PNG, "image/png"],
      [svg, SVG, "image/svg+xml"],
    ] as const) {
      const res = await api.server.app.inject({ method: "GET", url: `/api/artifacts/${id}/content` });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toBe(type);
      expect(res.headers["content-security-policy"]).toMatch(/^sandbox/);
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(Buffer.compare(res.rawPayload, bytes)).toBe(0);
    }
    expect((await api.call("GET", `/api/artifacts?flowRunId=${run}`)).body.items.find((a: { id: string }) => a.id === png).data).toEqual({ mimeType: "image/png", size: PNG.byteLength });
    expectError(await post(run, { type: "image", data: {}, content: Buffer.from("<!doctype html><script>alert(1)</script>").toString("base64") }), 400, /must be a PNG or an SVG/);
    expectError(await post(run, { type: "image", data: {}, content: Buffer.concat([PNG, Buffer.alloc(IMAGE_MAX_BYTES)]).toString("base64") }), 413, /at most 2097152 bytes/);
    expectError(await post(run, { type: "markdown", data: "# x", content: "AAAA" }), 400, /only an image artifact has bytes/);
    expectError(await post(run, { type: "image", data: { mimeType: "image/png" } }), 400, /^body\.content: an image artifact needs its PNG or SVG bytes/);
    expectError(await post(run, { type: "link", data: { url: "javascript:alert(1)" } }), 400, /http or https URL/);
    const markdown = newId();
    await api.call("POST", "/api/artifacts", { id: markdown, flowRunId: run, type: "markdown", data: "# x" });
    expectError(await api.call("GET", `/api/artifacts/${markdown}/content`), 404, /has no stored image/);
  });

  it("updates in place through PATCH, for the artifact's own run only", async () => {
    const run = await newRun("progress");
    const id = newId();
    await api.call("POST", "/api/artifacts", { id, flowRunId: run, type: "progress", data: 10, key: "p" });
    const res = await api.call("PATCH", `/api/artifacts/${id}`, { flowRunId: run, data: 60 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id, data: 60, updatedAt: expect.any(Number) });
    expectError(await api.call("PATCH", `/api/artifacts/${id}`, { flowRunId: await newRun("other"), data: 70 }), 404, /of flow run .* was not found/);
    expectError(await api.call("PATCH", `/api/artifacts/${id}`, { flowRunId: run, data: [{ a: 1 }], append: true }), 400, /append adds rows to a table; this artifact is a progress/);
    expectError(await api.call("PATCH", `/api/artifacts/${id}`, { flowRunId: run, data: 101 }), 400, /progress must be a number from 0 to 100/);
    const table = newId();
    await api.call("POST", "/api/artifacts", { id: table, flowRunId: run, type: "table", data: [{ a: 1 }] });
    // Concurrent appends all land (the row is read and written in one transaction).
    await Promise.all([2, 3, 4].map((a) => api.call("PATCH", `/api/artifacts/${table}`, { flowRunId: run, data: [{ a }], append: true })));
    const rows = (await api.call("GET", `/api/artifacts?flowRunId=${run}`)).body.items.find((a: { id: string }) => a.id === table).data as { a: number }[];
    expect(rows.map((r) => r.a).sort()).toEqual([1, 2, 3, 4]);
    expect((await api.call("GET", `/api/artifacts?flowRunId=${run}`)).body.items.find((a: { id: string }) => a.id === id).data).toBe(60);
  });

  it("lists the latest artifact of each key across runs, and a key's history in pages", async () => {
    const [a, b] = [await newRun("nightly-1"), await newRun("nightly-2")];
    const versions: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = newId();
      versions.push(id);
      await api.call("POST", "/api/artifacts", { id, flowRunId: i % 2 ? b : a, type: "markdown", data: `v${i}`, key: "summary" });
    }
    await api.call("POST", "/api/artifacts", { id: newId(), flowRunId: a, type: "table", data: [{ x: 1 }], key: "scores" });
    const latest = (await api.call("GET", "/api/artifacts?latest=true")).body.items as { key: string; data: unknown; flowRunId: string; flowRunName: string; flowName: string }[];
    // Newest first, by the server's clock: the scores were published last.
    expect(latest.filter((x) => ["summary", "scores"].includes(x.key)).map((x) => [x.key, x.data, x.flowRunName, x.flowName])).toEqual([
      ["scores", [{ x: 1 }], "nightly-1", "reports"],
      ["summary", "v4", "nightly-1", "reports"],
    ]);
    // Every key once.
    expect(new Set(latest.map((x) => x.key)).size).toBe(latest.length);
    expect((await api.call("GET", "/api/artifacts?latest=true&key=summary")).body.items.map((x: { data: string }) => x.data)).toEqual(["v4"]);
    expectError(await api.call("GET", `/api/artifacts?latest=true&flowRunId=${a}`), 400, /lists across runs/);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api.call("GET", `/api/artifacts/summary/history?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((x: { id: string }) => x.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...versions].reverse());
    expectError(await api.call("GET", "/api/artifacts/summary/history?cursor=bm9wZQ"), 400, /cursor/);
  });
});
