/**
 * Property-based fuzzing of every route the OpenAPI document lists (whatever routes are
 * registered: the test reads the document), against a real server over HTTP on SQLite and, more
 * briefly, on PostgreSQL. fast-check makes requests from each operation's schemas: valid ones
 * (path parameters naming things that exist, queries, bodies), and invalid ones — a body with
 * one field dropped, added, retyped or out of range; SQL injection, path traversal and odd
 * Unicode in every path parameter, filter and string field; bodies that are not JSON, nested
 * deeper than allowed, or over the size limit.
 *
 * What must hold: no answer is a 5xx; every status is one the operation documents; every 2xx
 * JSON answer matches its documented schema and every error is `{ error: { code, message } }`;
 * and afterwards the server is healthy. The request count and the seed are printed; replay a run
 * with BATON_FUZZ_SEED, make it longer with BATON_FUZZ_RUNS (per operation; `npm run test:fuzz`),
 * and see every request and answer with BATON_FUZZ_DEBUG=1.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { Ajv2020 } from "ajv/dist/2020.js";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSecretKey } from "../../src/core/secret-cipher.ts";
import { newId } from "../../src/core/ids.ts";
import { apiHarness, stateOp, taskRunOp, type ApiHarness } from "../support/api.ts";
import { HOSTILE_STRINGS, invalidValue, validValue, type Schema } from "../support/schema-arbitrary.ts";

const RUNS = Number(process.env.BATON_FUZZ_RUNS ?? 12);
const SEED = Number(process.env.BATON_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const BODY_LIMIT = 256 * 1024;

type Operation = {
  operationId: string;
  parameters?: { in: string; name: string; required?: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
};
interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  kind: string;
}

/** Values that exist, by the path segment before a parameter (`/api/flow-runs/{id}` → flow-runs). */
type Known = Record<string, string[]>;

describe.each([
  ["sqlite", RUNS],
  ["postgres", Math.max(2, Math.round(RUNS / 6))],
] as const)("fuzzing every route on %s", (dialect, runs) => {
  let h: ApiHarness;
  let base: string;
  let pool: Pool;
  let receiver: http.Server;
  let doc: Schema & { paths: Record<string, Record<string, Operation>> };
  let known: Known;
  let validate: (schema: Schema, value: unknown) => string | null;

  beforeAll(async () => {
    // A local receiver for the notification channel's test messages: nothing leaves the machine.
    receiver = http.createServer((req, res) => req.resume().on("end", () => res.end("ok")));
    await new Promise<void>((done) => receiver.listen(0, "127.0.0.1", done));
    h = await apiHarness(dialect, { automationService: false, bodyLimit: BODY_LIMIT, secretKey: () => makeSecretKey(Buffer.alloc(32, 7), "test") });
    base = await h.server.app.listen({ port: 0, host: "127.0.0.1" });
    pool = new Pool(base, { connections: 4, headersTimeout: 20_000, bodyTimeout: 20_000 });
    doc = JSON.parse(await (await fetch(`${base}/api/openapi.json`)).text());
    known = await fixtures(h, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`);
    validate = answerValidator(doc);
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
    await h?.close();
    await new Promise((done) => receiver.close(done));
  });

  it("takes SQL injection strings in every path parameter and every filter as plain text", async () => {
    const problems: string[] = [];
    let requests = 0;
    const injections = HOSTILE_STRINGS.filter((text) => /['";]|--|UNION|pg_sleep/.test(text));
    const before = (await h.call("GET", "/api/flows")).body.items.length as number;
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item)) {
        if (method !== "get") continue; // reads: filters and lookups (writes get them from the fuzzing above)
        for (const param of op.parameters ?? []) {
          if (param.in !== "path" && param.in !== "query") continue;
          for (const text of injections) {
            const filled = fillPath(path, known, { [param.name]: text });
            const url = param.in === "query" ? `${filled}?${new URLSearchParams({ [param.name]: text }).toString()}` : filled;
            requests++;
            const problem = await send(pool, { kind: "sql injection", method: "GET", path: url, headers: {} }, op, validate);
            if (problem) problems.push(problem);
          }
        }
      }
    console.log(`api sql-injection sweep on ${dialect}: ${requests} requests`);
    expect(problems.slice(0, 30)).toEqual([]);
    expect(requests).toBeGreaterThan(100);
    // Nothing was dropped or rewritten.
    expect((await h.call("GET", "/api/flows")).body.items.length).toBe(before);
    expect((await h.call("GET", `/api/flow-runs/${known["flow-runs"]![0]}`)).body.parameters).toEqual({ x: 1 });
    expect((await h.call("GET", "/api/variables/fz-var")).body.value).toEqual({ a: 1 });
  }, 120_000);

  it("answers every request with a documented status below 500, and stays healthy", async () => {
    const problems: string[] = [];
    let requests = 0;
    const statuses = new Map<string, number>();
    const started = Date.now();
    // Deletes last: until then valid requests find the fixtures.
    const operations = Object.entries(doc.paths)
      .flatMap(([p, item]) => Object.entries(item).map(([m, op]) => ({ method: m.toUpperCase(), path: p, op })))
      .sort((a, b) => Number(a.method === "DELETE") - Number(b.method === "DELETE"));
    for (const { method, path, op } of operations) {
      const arbitrary = requestOf(method, path, op, doc, known);
      await fc.assert(
        fc.asyncProperty(arbitrary, async (request) => {
          requests++;
          const problem = await send(pool, request, op, validate, statuses);
          if (problem) problems.push(problem);
        }),
        { numRuns: runs, seed: SEED, endOnFailure: true },
      );
      for (const request of rawRequests(method, path, known)) {
        requests++;
        const problem = await send(pool, request, op, validate, statuses);
        if (problem) problems.push(problem);
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const counts = [...statuses].sort().map(([status, n]) => `${status}: ${n}`).join(", ");
    console.log(`api fuzz on ${dialect}: ${requests} requests over ${operations.length} operations in ${seconds} s, seed ${SEED} (replay: BATON_FUZZ_SEED=${SEED} BATON_FUZZ_RUNS=${runs}); answers ${counts}`);
    expect([...new Set(problems)].slice(0, 30)).toEqual([]);
    // The requests reach the routes' handlers, not only validation: many are accepted.
    const accepted = [...statuses].filter(([status]) => status.startsWith("2")).reduce((n, [, count]) => n + count, 0);
    expect(accepted / requests).toBeGreaterThan(0.1);
    // And the answer checks can fail: a flow run without its fields is not one.
    expect(validate({ $ref: "#/components/schemas/FlowRun" }, { id: "x" })).toMatch(/required/);
    const health = await fetch(`${base}/api/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe("ok");
    expect((await fetch(`${base}/api/flow-runs?limit=1`)).status).toBe(200);
  }, 300_000);
});

/** The requests of one operation: valid, invalid, hostile, and bodies that are not what JSON the route reads. */
function requestOf(method: string, path: string, op: Operation, doc: Schema, known: Known): fc.Arbitrary<Request> {
  const options = { document: doc, overrides: { waitMs: fc.integer({ min: 0, max: 20 }) } };
  const pathParams = (op.parameters ?? []).filter((p) => p.in === "path");
  const queryParams = (op.parameters ?? []).filter((p) => p.in === "query");
  const bodySchema = op.requestBody?.content["application/json"]?.schema;

  const segment = (name: string) => {
    const values = knownFor(path, name, known);
    const hostile = fc.constantFrom(...HOSTILE_STRINGS).filter((s) => s !== "");
    return fc.oneof(
      { weight: values.length > 0 ? 6 : 0, arbitrary: values.length > 0 ? fc.constantFrom(...values) : fc.constant("x") },
      { weight: 2, arbitrary: hostile },
      { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
    );
  };
  const pathOf = fc.tuple(...pathParams.map((p) => segment(p.name))).map((values) => {
    let url = path;
    pathParams.forEach((p, i) => (url = url.replace(`{${p.name}}`, encodeSegment(values[i]!))));
    return url;
  });
  const validQuery = fc.record(Object.fromEntries(queryParams.map((p) => [p.name, validValue(p.schema, options)])), { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name) });
  const badQuery = fc.oneof(
    fc.record({ [queryParams[0]?.name ?? "unknownParameter"]: fc.oneof(fc.constantFrom<unknown>(...HOSTILE_STRINGS), fc.constantFrom<unknown>(-1, 1.5, 1e300, "true", "[]")) }),
    fc.record({ __fuzz: fc.constant("1") }),
    // The same parameter twice (it arrives as an array).
    validQuery.map((q) => ({ ...q, __repeat: Object.keys(q)[0] ?? "limit" })),
  );
  const json = (value: unknown) => ({ body: JSON.stringify(value), headers: { "content-type": "application/json" } as Record<string, string> });
  const validBody = bodySchema ? validValue(bodySchema, options).map(json) : fc.constant({ body: undefined, headers: {} as Record<string, string> });
  const invalidBody = bodySchema ? invalidValue(bodySchema, options).map(json) : fc.constant(json({ unexpected: true }));

  const make = (kind: string, query: fc.Arbitrary<Record<string, unknown>>, body: fc.Arbitrary<{ body: string | undefined; headers: Record<string, string> }>) =>
    fc.tuple(pathOf, query, body).map(([url, q, b]): Request => (method === "GET" || method === "DELETE" ? { kind, method, path: url + queryString(q), headers: {} } : { kind, method, path: url + queryString(q), headers: b.headers, body: b.body }));
  return fc.oneof(
    { weight: 4, arbitrary: make("valid", validQuery, validBody) },
    { weight: 3, arbitrary: make("invalid body", validQuery, invalidBody) },
    { weight: queryParams.length > 0 ? 2 : 1, arbitrary: make("invalid query", badQuery, validBody) },
  );
}

const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
/** Bodies that are not the JSON a route reads: each is sent to every route that takes a body. */
const RAW_BODIES: readonly { body: string; type: string }[] = [
  { body: "{", type: "application/json" },
  { body: "", type: "application/json" },
  { body: "null", type: "application/json" },
  { body: "[]", type: "application/json" },
  { body: '{"__proto__":{"polluted":1}}', type: "application/json" },
  { body: '{"constructor":{"prototype":{"polluted":1}}}', type: "application/json" },
  { body: "flowName=x", type: "application/x-www-form-urlencoded" },
  { body: "hello", type: "text/plain" },
  { body: "{}", type: "application/json; charset=latin1" },
  { body: deep(5_000), type: "application/json" },
  { body: `{"x":"${"a".repeat(BODY_LIMIT)}"}`, type: "application/json" },
];

/** The raw bodies, at the operation's path with its parameters naming fixtures. */
function rawRequests(method: string, path: string, known: Known): Request[] {
  if (!["POST", "PUT", "PATCH"].includes(method)) return [];
  const url = fillPath(path, known);
  return RAW_BODIES.map(({ body, type }) => ({ kind: "raw body", method, path: url, headers: { "content-type": type }, body }));
}

/** The fixtures that exist for a path parameter, by the segment before it (`/api/flow-runs/{id}` → flow-runs). */
function knownFor(path: string, name: string, known: Known): string[] {
  const segments = path.split("/");
  return known[segments[segments.indexOf(`{${name}}`) - 1] ?? ""] ?? [];
}

/** `path` with each parameter a fixture (or "x"), except those `given`. */
function fillPath(path: string, known: Known, given: Record<string, string> = {}): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeSegment(given[name] ?? knownFor(path, name, known)[0] ?? "x"));
}

/** A path segment, percent-encoded (a lone surrogate, which cannot be, as U+FFFD). */
function encodeSegment(text: string): string {
  // UTF-8 has no lone surrogates: a round trip through it turns them into U+FFFD.
  return encodeURIComponent(Buffer.from(text, "utf8").toString("utf8"));
}

function queryString(query: Record<string, unknown>): string {
  const q = new URLSearchParams();
  const { __repeat, ...rest } = query;
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) q.append(key, typeof item === "string" ? item : JSON.stringify(item));
  }
  if (typeof __repeat === "string") q.append(__repeat, q.get(__repeat) ?? "1");
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** Sends the request; a description of what is wrong with the answer, or null. */
async function send(pool: Pool, request: Request, op: Operation, validate: (schema: Schema, value: unknown) => string | null, statuses = new Map<string, number>()): Promise<string | null> {
  const what = `${op.operationId} (${request.kind}) ${request.method} ${request.path.slice(0, 200)} ${request.body ? request.body.slice(0, 300) : ""}`;
  let status: number;
  let type: string;
  let text: string;
  try {
    const answer = await pool.request({ method: request.method as "GET", path: request.path, headers: request.headers, body: request.body });
    status = answer.statusCode;
    type = String(answer.headers["content-type"] ?? "");
    if (type.startsWith("text/event-stream")) {
      // A stream that opened: its headers are the answer.
      answer.body.destroy();
      text = "";
    } else text = await answer.body.text();
  } catch (error) {
    return `${what}: no answer (${(error as Error).message})`;
  }
  statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
  if (process.env.BATON_FUZZ_DEBUG) console.log(status, what.slice(0, 300), text.slice(0, 200));
  if (status >= 500) return `${what}: ${status} ${text.slice(0, 500)}`;
  const documented = op.responses[String(status)];
  if (!documented) return `${what}: status ${status} is not documented (${Object.keys(op.responses).join(", ")}): ${text.slice(0, 300)}`;
  if (!type.startsWith("application/json")) return null;
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  const schema = documented.content?.["application/json"]?.schema;
  if (!schema) return null;
  const mismatch = validate(schema, body);
  return mismatch ? `${what}: the ${status} answer does not match its documented schema: ${mismatch}; answer ${text.slice(0, 300)}` : null;
}

/** Checks answers against the document's schemas (OpenAPI 3.1 is JSON Schema 2020-12). */
function answerValidator(doc: Schema): (schema: Schema, value: unknown) => string | null {
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
  ajv.addSchema({ $id: "openapi", components: doc.components });
  const cache = new Map<string, ReturnType<typeof ajv.compile>>();
  return (schema, value) => {
    const key = JSON.stringify(schema);
    let check = cache.get(key);
    if (!check) {
      check = ajv.compile(JSON.parse(key.replaceAll('"#/components/', '"openapi#/components/')) as Schema);
      cache.set(key, check);
    }
    return check(value) ? null : ajv.errorsText(check.errors);
  };
}

/** Things for valid requests to find: one of each resource, made through the API. */
async function fixtures(h: ApiHarness, hookUrl: string): Promise<Known> {
  const ok = async (method: string, url: string, body?: unknown) => {
    const res = await h.call(method, url, body);
    if (res.status >= 300) throw new Error(`fixture ${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  await ok("POST", "/api/flows", { name: "fz-flow" });
  await ok("POST", "/api/work-pools", { name: "fz-pool" });
  await ok("POST", "/api/work-pools/fz-pool/queues", { name: "fz-queue" });
  await ok("POST", "/api/work-pools/fz-pool/workers", { id: "fz-worker", name: "fz-worker" });
  const deployment = await ok("POST", "/api/deployments", { name: "fz-dep", flowName: "fz-flow", entrypoint: "flows/fz.ts:fz", workPool: "fz-pool", schedules: [{ spec: { kind: "interval", intervalMs: 3_600_000 } }] });
  await ok("POST", "/api/concurrency-limits", { name: "fz-limit", limit: 2 });
  await ok("PUT", "/api/variables/fz-var", { value: { a: 1 } });
  await ok("PUT", "/api/secrets/fz-secret", { value: "s3cr3t" });
  await ok("POST", "/api/automations", { name: "fz-auto", trigger: { event: "fz.happened" }, actions: [{ type: "emit-event", event: "fz.reacted", resource: { id: "fz" } }] });
  await ok("POST", "/api/notification-channels", { name: "fz-chan", type: "webhook", settings: { url: hookUrl } });
  const webhook = await ok("POST", "/api/webhooks", { name: "fz-hook", template: '{ "event": "fz.called", "resource": { "id": "fz" } }' });
  const run = await ok("POST", "/api/flow-runs", { flowName: "fz-flow", parameters: { x: 1 } });
  await ok("POST", `/api/flow-runs/${run.id}/set-state`, { state: { name: "Running" } });
  const task = taskRunOp(run.id);
  const resultId = newId();
  const result = { kind: "result", result: { id: resultId, serializer: "devalue/1", value: "[1]", size: 3, createdAt: Date.now() } };
  await ok("POST", "/api/batch", { ops: [result, task, stateOp(task), { kind: "cache", entry: { cacheKey: "fz-cache", resultId, taskRunId: task.taskRun.id, createdAt: Date.now() } }] });
  await ok("POST", "/api/logs", { logs: [{ flowRunId: run.id, level: 30, message: "fz", timestamp: Date.now() }] });
  const artifact = await ok("POST", "/api/artifacts", { type: "markdown", data: "# fz", flowRunId: run.id, key: "fz-key" });
  await ok("POST", "/api/events", [{ event: "fz.happened", resource: { id: "fz" } }]);
  const schedule = (deployment.schedules as { id: string }[])[0]!.id;
  return {
    "flow-runs": [run.id],
    "task-runs": [task.taskRun.id],
    flows: ["fz-flow", String((await ok("GET", "/api/flows/fz-flow")).id)],
    deployments: ["fz-dep", String(deployment.id)],
    schedules: [schedule],
    "work-pools": ["fz-pool"],
    workers: ["fz-worker"],
    "concurrency-limits": ["fz-limit"],
    variables: ["fz-var"],
    secrets: ["fz-secret"],
    automations: ["fz-auto"],
    "notification-channels": ["fz-chan"],
    webhooks: [String(webhook.slug)],
    artifacts: [String(artifact.id), "fz-key"],
    results: [resultId],
    cache: ["fz-cache"],
    inputs: ["fz-input"],
  };
}

