/**
 * The asset rules that need no store: which keys are URIs (and the message naming the key and
 * the problem), how a materialisation's content hash is chosen (value bytes, the user's hash, or
 * metadata + rows + schema, key order not mattering), and the option checks; and the lineage
 * graph's layered layout for the dashboard.
 */
import { describe, expect, it } from "vitest";
import { asset, assetKeyProblem, assetList, compileMaterialization, contentHash, isAsset } from "../../src/core/assets.ts";
import { serialize } from "../../src/core/serializer.ts";
import { layoutLineage } from "../../ui/src/lineage-layout.ts";
import type { LineageGraph } from "../../ui/src/types.ts";

describe("asset keys", () => {
  it("are URIs scheme://rest; anything else is refused naming the problem", () => {
    for (const ok of ["dataset://features", "file://data/raw.csv", "s3://bucket/key?v=1", "model://weather", "x-y.z+1://a"]) expect(assetKeyProblem(ok), ok).toBeNull();
    expect(assetKeyProblem("features")).toMatch(/is not a URI: it needs a scheme and :\/\//);
    expect(assetKeyProblem("://x")).toMatch(/has the scheme ""/);
    expect(assetKeyProblem("1ab://x")).toMatch(/has the scheme "1ab"/);
    expect(assetKeyProblem("dataset://")).toMatch(/nothing after its scheme/);
    expect(assetKeyProblem("dataset://a\nb")).toMatch(/control characters/);
    expect(assetKeyProblem(`dataset://${"a".repeat(500)}`)).toMatch(/at most 500/);
    expect(assetKeyProblem(42)).toMatch(/must be a string URI/);
  });

  it("pins a version on a copy, and lists dedupe-checked for reads and writes", () => {
    const a = asset("dataset://f");
    const pinned = a.version("sha256:abc");
    expect([a.pinned, pinned.pinned, pinned.key, String(pinned)]).toEqual([null, "sha256:abc", "dataset://f", "dataset://f@sha256:abc"]);
    expect(isAsset(pinned)).toBe(true);
    expect(isAsset({ key: "dataset://f" })).toBe(false);
    expect(assetList(["dataset://a", a], "reads").map((x) => x.key)).toEqual(["dataset://a", "dataset://f"]);
    expect(() => assetList([a, a.version("v1")], "reads")).toThrow('task option "reads" names dataset://f twice');
    expect(() => assetList([null], "writes")).toThrow('task option "writes" item 0: asset key null must be a string URI');
  });
});

describe("content hash", () => {
  it("of a value: its serialised bytes; with hash: the user's; else metadata, rows and schema in canonical JSON", () => {
    const rows = [{ t: 1 }, { t: 2 }];
    expect(compileMaterialization("dataset://a", { value: rows }).hash).toBe(contentHash(serialize(rows)));
    expect(compileMaterialization("dataset://a", { value: rows }).hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(compileMaterialization("dataset://a", { value: rows, hash: "mine" }).hash).toBe("mine");
    const x = compileMaterialization("dataset://a", { metadata: { a: 1, b: 2 }, rows: 3 });
    const y = compileMaterialization("dataset://a", { metadata: { b: 2, a: 1 }, rows: 3 });
    expect(x.hash).toBe(y.hash);
    expect(compileMaterialization("dataset://a", { metadata: { a: 1, b: 2 }, rows: 4 }).hash).not.toBe(x.hash);
    // `value: undefined` is a value (hashed), not "no value".
    expect(compileMaterialization("dataset://a", { value: undefined }).hash).toBe(contentHash(serialize(undefined)));
    expect(x).toMatchObject({ version: null, rows: 3, metadata: '{"a":1,"b":2}', schema: null });
  });

  it("refuses bad options naming them", () => {
    expect(() => compileMaterialization("dataset://a", { rows: 1.5 })).toThrow("materialize(asset, { rows }): rows must be a whole number ≥ 0, got 1.5");
    expect(() => compileMaterialization("dataset://a", { version: "" })).toThrow("materialize(asset, { version }): version must be a non-empty string");
    expect(() => compileMaterialization("dataset://a", { metadata: [] as never })).toThrow("metadata must be an object");
    expect(() => compileMaterialization("dataset://a", { schema: () => 1 })).toThrow("materialize(asset, { schema }) is not JSON");
    expect(() => compileMaterialization("dataset://a", { value: () => 1 })).toThrow(/cannot be stored/);
  });
});

describe("lineage layout", () => {
  const v = (id: string, key: string) => ({ id: `version:${id}`, kind: "version" as const, run: null, version: { id, key, version: id, hash: id, rows: null, schema: null, metadata: null, flowRunId: null, taskRunId: null, runDeleted: false, createdAt: 0, materializedAt: 0 } });
  const run = { id: "run:t", kind: "run" as const, version: null, run: { flowRunId: "f", taskRunId: "t", name: "fit-0", stateName: "Completed", deleted: false } };

  it("puts upstream sources to the left of the root, downstream dependants to its right", () => {
    const graph: LineageGraph = {
      root: "version:m",
      direction: "upstream",
      nodes: [v("m", "model://m"), run, v("f", "dataset://f")],
      edges: [{ from: "version:f", to: "run:t", kind: "read" }, { from: "run:t", to: "version:m", kind: "produced" }],
      truncated: false,
    };
    const up = layoutLineage(graph);
    const x = (id: string) => up.nodes.find((n) => n.node.id === id)!.x;
    expect(x("version:f")).toBeLessThan(x("run:t"));
    expect(x("run:t")).toBeLessThan(x("version:m"));
    expect(up.edges).toHaveLength(2);
    const down = layoutLineage({ ...graph, root: "version:f", direction: "downstream" });
    const dx = (id: string) => down.nodes.find((n) => n.node.id === id)!.x;
    expect(dx("version:f")).toBe(0);
    expect(dx("version:m")).toBeGreaterThan(dx("run:t"));
  });
});
