/** Pure logic: retry delays, option validation, the serialiser, cache keys, map arguments, settings. */
import { describe, expect, it } from "vitest";
import { exponentialBackoff, retryDelayFor } from "../../src/core/retry-policy.ts";
import { compileFlowOptions, compileTaskOptions } from "../../src/core/options.ts";
import { deserialize, serialize } from "../../src/core/serializer.ts";
import { inputsCacheKey } from "../../src/core/cache-key.ts";
import { findNonJson, jsonPreview } from "../../src/core/json-values.ts";
import { describeError, errorFromInfo, NonRetryableError, SerializationError } from "../../src/core/errors.ts";
import { mapCalls } from "../../src/sdk/task.ts";
import { unmapped } from "../../src/engine/futures.ts";
import { loadSettings, describeSettings } from "../../src/config/settings.ts";
import { batchStatements, combinedPostgresStatement } from "../../src/store/transitions/batch-sql.ts";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

describe("retry delays", () => {
  it("uses a fixed delay, a list (last entry repeating) or exponential backoff with a cap", () => {
    expect([1, 2, 3].map((n) => retryDelayFor(250, n))).toEqual([250, 250, 250]);
    expect([1, 2, 3, 4].map((n) => retryDelayFor([100, 500, 2000], n))).toEqual([100, 500, 2000, 2000]);
    const backoff = exponentialBackoff({ baseMs: 100, factor: 3, maxMs: 1000 });
    expect([1, 2, 3, 4].map((n) => retryDelayFor(backoff, n))).toEqual([100, 300, 900, 1000]);
    expect(retryDelayFor([], 1)).toBe(0);
  });

  it("spreads delays by the jitter fraction, both ways", () => {
    expect(retryDelayFor(1000, 1, 0.5, () => 0)).toBe(500);
    expect(retryDelayFor(1000, 1, 0.5, () => 1)).toBe(1500);
    expect(retryDelayFor(1000, 1, 0.5, () => 0.5)).toBe(1000);
  });

  it("validates backoff settings", () => {
    expect(() => exponentialBackoff({ baseMs: -1 })).toThrow(/baseMs must be a finite number >= 0/);
    expect(() => exponentialBackoff({ factor: 0.5 })).toThrow(/factor must be >= 1/);
  });
});

describe("task and flow options", () => {
  async function named() {
    return 1;
  }
  it("compiles defaults and takes the name from the function", () => {
    const o = compileTaskOptions(named);
    expect(o).toMatchObject({ name: "named", retries: 0, retryDelayMs: 0, retryJitter: 0, persistResult: true, cacheKey: null, tags: [], runner: null });
    expect(compileFlowOptions(named, { maxConcurrency: 4 })).toMatchObject({ name: "named", maxConcurrency: 4, logPrints: false, taskRunner: "async" });
  });

  it.each([
    [{ retries: -1 }, /task option "retries" must be an integer >= 0, got -1/],
    [{ retries: 1.5 }, /"retries" must be an integer >= 0/],
    [{ cacheKey: "outputs" }, /task option "cacheKey" must be "inputs" or a function/],
    [{ retryJitter: 2 }, /"retryJitter" must be a number between 0 and 1/],
    [{ timeoutMs: 0 }, /"timeoutMs" must be a number > 0/],
    [{ runner: "gpu" }, /"runner" must be "async" or "threads"/],
    [{ retryDelayMs: [10, -5] }, /"retryDelayMs" item 1 must be a number >= 0/],
    [{ onRetry: [() => undefined, "x"] }, /"onRetry" must be a function or an array of functions \(item 1 is string\)/],
    [{ tags: "x" }, /"tags" must be an array of strings/],
    [{ retrys: 3 }, /task option "retrys" is not a known option/],
    [{ cacheExpiresMs: -1 }, /"cacheExpiresMs" must be a number > 0/],
  ])("rejects %j at definition time", (options, message) => {
    expect(() => compileTaskOptions(named, options as never)).toThrow(TypeError);
    expect(() => compileTaskOptions(named, options as never)).toThrow(message);
  });

  it("rejects non-functions, anonymous functions without a name, and bad flow options", () => {
    expect(() => compileTaskOptions("nope")).toThrow(/task\(\) expects a function as its first argument, got string/);
    expect(() => compileTaskOptions(async () => 1)).toThrow(/task option "name" is required/);
    expect(compileTaskOptions(async () => 1, { name: "ok" }).name).toBe("ok");
    expect(() => compileFlowOptions(named, { maxConcurrency: 0 })).toThrow(/flow option "maxConcurrency" must be an integer >= 1/);
    expect(() => compileFlowOptions(named, { params: {} as never })).toThrow(/flow option "params" must be a zod schema/);
    expect(() => compileFlowOptions(named, { cacheKey: "inputs" } as never)).toThrow(/flow option "cacheKey" is not a known option/);
  });
});

describe("serialiser", () => {
  it("round-trips the types results carry", () => {
    const value = {
      when: new Date("2026-01-01T00:00:00Z"),
      map: new Map<string, unknown>([["a", 1], ["b", new Set([1, 2])]]),
      big: 2n ** 70n,
      floats: new Float64Array([1.5, -2]),
      bytes: new Uint8Array([1, 2, 3]),
      buffer: Buffer.from("baton"),
      nothing: undefined,
      nan: Number.NaN,
      nested: [{ deep: [new Date(0)] }],
    };
    const back = deserialize<typeof value>(serialize(value));
    expect(back).toEqual(value);
    expect(Buffer.isBuffer(back.buffer)).toBe(true);
    expect(back.floats).toBeInstanceOf(Float64Array);
    expect(back.map.get("b")).toBeInstanceOf(Set);
  });

  it("keeps errors' name, message and stack", () => {
    const error = new RangeError("too deep");
    const back = deserialize<Error>(serialize(error));
    expect(back).toBeInstanceOf(Error);
    expect([back.name, back.message, back.stack]).toEqual(["RangeError", "too deep", error.stack]);
  });

  it("names where an unstorable value sits", () => {
    class Model {
      weights = [1];
    }
    expect(() => serialize({ a: [1, { f: () => 1 }] }, "the result of task \"x\"")).toThrow(SerializationError);
    expect(() => serialize({ a: [1, { f: () => 1 }] }, "the result of task \"x\"")).toThrow(/the result of task "x" cannot be stored at value\.a\[1\]\.f/);
    expect(() => serialize({ model: new Model() })).toThrow(/at value\.model: Cannot stringify arbitrary non-POJOs/);
  });
});

describe("errors as data", () => {
  it("restores Baton's and built-in error classes by name, with message, stack and cause", () => {
    const original = new NonRetryableError("bad credentials", { cause: new TypeError("token is not a string") });
    const restored = errorFromInfo(describeError(original));
    expect(restored).toBeInstanceOf(NonRetryableError);
    expect(restored).toMatchObject({ name: "NonRetryableError", message: "bad credentials", stack: original.stack });
    expect(restored.cause).toBeInstanceOf(TypeError);
    expect((restored.cause as Error).message).toBe("token is not a string");
    class QuotaError extends Error {
      override name = "QuotaError";
    }
    const custom = errorFromInfo(describeError(new QuotaError("over quota")));
    expect(custom.constructor).toBe(Error);
    expect(custom).toMatchObject({ name: "QuotaError", message: "over quota" });
    // A name that is not an error class (nor an own property) is not trusted.
    expect(errorFromInfo({ name: "constructor", message: "x" }).constructor).toBe(Error);
  });
});

describe("JSON parameters", () => {
  it("names the first value JSON would change, by path", () => {
    expect(findNonJson({ a: [1, { b: "x", c: null, d: true }], e: undefined }, "params")).toBeNull();
    expect(findNonJson(Object.assign(Object.create(null), { a: 1 }), "params")).toBeNull();
    expect(findNonJson({ a: { b: [0, -Infinity] } }, "params")).toEqual({ path: "params.a.b[1]", what: "-Infinity" });
    expect(findNonJson({ s: new Set([1]) }, "params")).toEqual({ path: "params.s", what: "a Set" });
    expect(findNonJson({ b: Buffer.from("x") }, "params")).toEqual({ path: "params.b", what: "a Buffer" });
    expect(findNonJson({ sym: Symbol("s") }, "params")).toEqual({ path: "params.sym", what: "a symbol" });
    // The same object twice is not a cycle.
    const shared = { x: 1 };
    expect(findNonJson({ a: shared, b: [shared] }, "params")).toBeNull();
  });

  it("previews any value as JSON without throwing, cycles included (also through a Map)", () => {
    const loop: Record<string, unknown> = { n: 1 };
    loop.map = new Map<string, unknown>([["back", loop]]);
    expect(jsonPreview(loop)).toEqual({ n: 1, map: { "[Map]": [["back", "[circular]"]] } });
    const shared = { x: 1 };
    expect(jsonPreview({ a: shared, b: shared, f: function named() {}, big: 2n, nan: NaN })).toEqual({
      a: { x: 1 },
      b: { x: 1 },
      f: "[function named]",
      big: "2n",
      nan: "NaN",
    });
  });
});

describe("cache keys", () => {
  it("hash the task name, source and arguments", () => {
    const key = inputsCacheKey("fit", "src-1", [[1, 2], { depth: 3 }]);
    expect(key).toMatch(/^inputs:[0-9a-f]{64}$/);
    expect(inputsCacheKey("fit", "src-1", [[1, 2], { depth: 3 }])).toBe(key);
    expect(inputsCacheKey("fit", "src-1", [[1, 2], { depth: 4 }])).not.toBe(key);
    expect(inputsCacheKey("fit", "src-2", [[1, 2], { depth: 3 }])).not.toBe(key);
    expect(inputsCacheKey("fit2", "src-1", [[1, 2], { depth: 3 }])).not.toBe(key);
    expect(inputsCacheKey("t", "s", [new Date(1)])).not.toBe(inputsCacheKey("t", "s", [new Date(2)]));
  });
});

describe("map arguments", () => {
  it("zips iterables, passes unmapped and non-iterable values whole", () => {
    expect(mapCalls("t", [[1, 2, 3], unmapped([9]), "s", new Set(["a", "b", "c"])])).toEqual([
      [1, [9], "s", "a"],
      [2, [9], "s", "b"],
      [3, [9], "s", "c"],
    ]);
    expect(() => mapCalls("t", [[1, 2], [1]])).toThrow(/different lengths \(2, 1\)/);
    expect(() => mapCalls("t", [unmapped(1)])).toThrow(/at least one iterable/);
  });
});

describe("settings", () => {
  it("come from the environment, then config.toml, then defaults, and say which", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-settings-"));
    fs.writeFileSync(path.join(home, "config.toml"), 'heartbeat_ms = 5000\nlog_level = "warn"\napi_key = "secret-key"\n');
    const s = loadSettings({ BATON_HOME: home, BATON_LOG_LEVEL: "error" });
    expect(s.heartbeatMs).toEqual({ value: 5000, source: "config" });
    expect(s.logLevel).toEqual({ value: "error", source: "env" });
    expect(s.databaseUrl).toEqual({ value: `sqlite://${path.join(home, "baton.db")}`, source: "default" });
    expect(describeSettings(s).find((r) => r.name === "apiKey")!.value).toBe("********");
    expect(() => loadSettings({ BATON_HOME: home, BATON_HEARTBEAT_MS: "soon" })).toThrow(/BATON_HEARTBEAT_MS must be a positive integer, got "soon"/);
    expect(() => loadSettings({ BATON_HOME: home, BATON_API_URL: "localhost:4200" })).toThrow(/BATON_API_URL must be an http\(s\) URL/);
    fs.rmSync(home, { recursive: true });
  });
});

describe("batch SQL", () => {
  it("builds multi-row inserts and one PostgreSQL statement of CTEs", () => {
    const statements = batchStatements({
      results: [],
      taskRuns: [],
      dependencies: [],
      cache: [],
      states: [
        { flowRunId: "f", taskRunId: "t", type: "RUNNING", name: "Running", timestamp: 1, message: null, scheduledAt: null },
        { flowRunId: "f", taskRunId: "t", type: "COMPLETED", name: "Completed", timestamp: 2, message: null, scheduledAt: null },
      ],
      logs: [{ flowRunId: "f", taskRunId: null, level: 30, message: "m", timestamp: 3 }],
    });
    expect(statements).toHaveLength(2);
    expect(statements[0]!.sql).toMatch(/^insert into states \(.*\) values \(\?, \?, \?, \?, \?, \?, \?\), \(\?/);
    expect(statements[0]!.params).toHaveLength(14);
    const combined = combinedPostgresStatement(statements)!;
    expect(combined.sql).toMatch(/^with w0 as \(insert into states .*\$14\)\) insert into logs .*\$15, \$16/);
    expect(combined.params).toHaveLength(20);
  });
});
