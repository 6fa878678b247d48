/**
 * The API's contract: the OpenAPI document the server serves is valid OpenAPI 3.1
 * (swagger-parser), passes Redocly's recommended rules with no error or warning (the repo's
 * redocly.yaml), and documents every operation completely — an id, a tag, a summary, described
 * answers with their 4xx, the security of the routes that need a key, required fields — for
 * whatever routes are registered. And the consistency the document promises: creates answer
 * 201, set-state takes a state as reads answer it, the server sets an artifact's id and time.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import SwaggerParser from "@apidevtools/swagger-parser";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPONENTS } from "../../src/schemas/components.ts";
import { TAG_DESCRIPTIONS } from "../../src/server/openapi.ts";
import { makeSecretKey } from "../../src/core/secret-cipher.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, "../..");

type Operation = {
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, { description: string; content?: Record<string, { schema?: Record<string, unknown> }> }>;
};
type Document = {
  openapi: string;
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  components: { schemas: Record<string, Record<string, any>>; securitySchemes: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
};

const METHODS = ["get", "put", "post", "delete", "patch"] as const;
function operations(doc: Document): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((m) => ({ method: m.toUpperCase(), path: p, op: item[m]! })));
}

describe("the OpenAPI document", () => {
  let h: ApiHarness;
  let doc: Document;

  beforeAll(async () => {
    h = await apiHarness("sqlite", { automationService: false });
    const res = await h.call("GET", "/api/openapi.json", undefined, { host: "baton.internal:4200" });
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(() => h.close());

  it("is valid OpenAPI 3.1 (swagger-parser)", async () => {
    expect(doc.openapi).toBe("3.1.0");
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it("passes Redocly's recommended rules with no error and no warning", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-openapi-"));
    try {
      const file = path.join(dir, "openapi.json");
      fs.writeFileSync(file, JSON.stringify(doc));
      const lint = await run(path.join(REPO, "node_modules/.bin/redocly"), ["lint", file, "--config", path.join(REPO, "redocly.yaml"), "--format", "json"], {
        cwd: REPO,
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
        maxBuffer: 64 * 1024 * 1024,
      }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
      const report = JSON.parse(lint.stdout) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string; location: { pointer: string }[] }[] };
      const problems = report.problems.map((p) => `${p.ruleId}: ${p.message} (${p.location[0]?.pointer})`);
      expect(problems).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives every operation a unique id, a described tag, a summary, described answers with a 2xx and its 4xx", () => {
    const ids = new Map<string, string>();
    const described = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
    const all = operations(doc);
    expect(all.length).toBeGreaterThan(90);
    for (const { method, path: p, op } of all) {
      const name = `${method} ${p}`;
      expect(op.operationId, name).toMatch(/^[a-z][A-Za-z0-9]+$/);
      expect(ids.get(op.operationId!), `${name} has the id of ${ids.get(op.operationId!)}`).toBeUndefined();
      ids.set(op.operationId!, name);
      expect(op.tags?.length, `${name} has no tag`).toBeGreaterThan(0);
      for (const tag of op.tags!) expect(described.get(tag), `${name}: tag "${tag}" needs a description in TAG_DESCRIPTIONS (src/server/openapi.ts)`).toBeTruthy();
      expect(op.summary, name).toBeTruthy();
      const statuses = Object.keys(op.responses);
      expect(statuses.some((s) => s.startsWith("2")), `${name} documents no 2xx answer`).toBe(true);
      expect(statuses, name).toContain("400");
      if (p.includes("{")) expect(statuses, name).toContain("404");
      if (op.requestBody) expect(statuses, name).toEqual(expect.arrayContaining(["413", "415"]));
      for (const [status, answer] of Object.entries(op.responses)) {
        expect(answer.description, `${name} ${status}`).toBeTruthy();
        expect(answer.description, `${name} ${status}`).not.toBe("Default Response");
        if (status >= "400") expect(answer.content?.["application/json"]?.schema, `${name} ${status}`).toEqual({ $ref: "#/components/schemas/ErrorResponse" });
      }
    }
    expect(Object.keys(TAG_DESCRIPTIONS).sort()).toEqual([...described.keys()].sort());
  });

  it("declares the bearer and session schemes and applies them to every route that needs a key", () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["bearer", "session"]);
    const documented = new Map(operations(doc).map(({ method, path: p, op }) => [`${method} ${p}`, op]));
    let checked = 0;
    for (const route of h.server.routes) {
      const op = documented.get(`${route.method} ${route.url.replace(/:(\w+)/g, "{$1}")}`);
      if (!op) continue; // HEAD, the dashboard's files, the document itself
      checked++;
      if (route.rule && "public" in route.rule) {
        expect(op.security, `${route.method} ${route.url} is public`).toEqual([]);
        // A public route's own 401 (sign-in's bad key) says so: not the one of a missing key.
        if (op.responses["401"]) expect(op.responses["401"].description, `${route.method} ${route.url} is public`).not.toMatch(/^No API key/);
      } else {
        expect(op.security, `${route.method} ${route.url} needs a key`).toEqual([{ bearer: [] }, { session: [] }]);
        expect(Object.keys(op.responses), `${route.method} ${route.url}`).toEqual(expect.arrayContaining(["401", "403"]));
      }
    }
    expect(checked).toBe(operations(doc).length);
    expect(documented.get("GET /api/health")!.security).toEqual([]);
    expect(documented.get("GET /api/flow-runs")!.security).toEqual([{ bearer: [] }, { session: [] }]);
  });

  it("is true about security: with keys required, every operation it secures answers 401 without one, and no other does", async () => {
    const keyed = await apiHarness("sqlite", { automationService: false, apiKeys: ["admin:openapi-admin-key"] });
    try {
      const wrong: string[] = [];
      for (const { method, path: p, op } of operations(doc)) {
        const url = p.replace(/\{\w+\}/g, "x");
        const res = await keyed.call(method, url, method === "GET" || method === "DELETE" ? undefined : {});
        const secured = (op.security ?? []).length > 0;
        if (secured !== (res.status === 401)) wrong.push(`${method} ${p}: documented ${secured ? "secured" : "public"}, answered ${res.status}`);
      }
      expect(wrong).toEqual([]);
    } finally {
      await keyed.close();
    }
  });

  it("sets servers to the address the caller used, or to the public URL the server was given", async () => {
    expect(doc.servers).toEqual([{ url: "http://baton.internal:4200", description: "this server" }]);
    const other = await apiHarness("sqlite", { automationService: false, publicUrl: "https://baton.acme.test" });
    try {
      expect((await other.call("GET", "/api/openapi.json")).body.servers).toEqual([{ url: "https://baton.acme.test", description: "this server" }]);
    } finally {
      await other.close();
    }
  });

  it("declares required fields as the zod declarations do, and types free-form objects as objects", () => {
    for (const schema of COMPONENTS) {
      const id = String(z.globalRegistry.get(schema)?.id);
      const documented = doc.components.schemas[id]!;
      if (!(schema instanceof z.ZodObject)) continue;
      const required = Object.entries(schema.shape as Record<string, z.ZodType>)
        // Optional: it takes undefined (an optional or defaulted field); unknown values are required keys all the same.
        .filter(([, field]) => field instanceof z.ZodUnknown || field instanceof z.ZodAny || !field.safeParse(undefined).success)
        .map(([key]) => key);
      expect((documented.required ?? []).slice().sort(), id).toEqual(required.sort());
    }
    const flowRun = doc.components.schemas.FlowRun!;
    expect(flowRun.required).toEqual(expect.arrayContaining(["id", "state", "parameters", "createdAt"]));
    expect(flowRun.properties.parameters).toMatchObject({ type: "object", additionalProperties: {} });
    const runBody = doc.paths["/api/deployments/{name}/runs"]!.post!.requestBody as { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
    expect(runBody.content["application/json"]!.schema.properties.parameters).toMatchObject({ type: "object", additionalProperties: {} });
    // No object schema anywhere without properties that says nothing of its fields (clients would type it as an empty record).
    const bare: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (!node || typeof node !== "object") return;
      const s = node as Record<string, unknown>;
      if ((s.type === "object" || (Array.isArray(s.type) && s.type.includes("object"))) && !s.properties && !("additionalProperties" in s) && !s.oneOf && !s.anyOf) bare.push(at);
      for (const [key, child] of Object.entries(s)) walk(child, `${at}/${key}`);
    };
    walk(doc, "#");
    expect(bare).toEqual([]);
  });

  it("documents the event streams as text/event-stream, images by their type, and results' encoding", () => {
    for (const p of ["/api/events/stream", "/api/live/stream"]) {
      const ok = doc.paths[p]!.get!.responses["200"]!;
      expect(Object.keys(ok.content!), p).toEqual(["text/event-stream"]);
      expect(ok.description, p).toMatch(/event: /);
    }
    expect(Object.keys(doc.paths["/api/artifacts/{id}/content"]!.get!.responses["200"]!.content!)).toEqual(["image/png", "image/svg+xml"]);
    const result = doc.components.schemas;
    const answer = doc.paths["/api/results/{id}"]!.get!;
    expect(answer.summary).toMatch(/devalue/);
    const schema = answer.responses["200"]!.content!["application/json"]!.schema!;
    const properties = (schema.$ref ? result[String(schema.$ref).split("/").pop()!]!.properties : schema.properties) as Record<string, { description?: string }>;
    expect(properties.serializer!.description).toMatch(/devalue's stringify with Baton's Buffer \(base64\) and Error reducers/);
    expect(properties.value!.description).toMatch(/serializer/);
  });

  it("lists every create as answering 201", () => {
    const creates = operations(doc).filter(({ method, op }) => method === "POST" && /^(create|register)/.test(op.operationId!));
    expect(creates.length).toBeGreaterThan(8);
    for (const { path: p, op } of creates) expect(Object.keys(op.responses), p).toContain("201");
  });
});

describe("consistency of the API", () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await apiHarness("sqlite", { automationService: false, secretKey: () => makeSecretKey(Buffer.alloc(32, 7), "test") });
  });
  afterAll(() => h.close());

  it("answers 201 to a create and 200 to the same call that updates", async () => {
    const twice = async (method: string, url: string, body: unknown) => {
      const first = await h.call(method, url, body);
      expect(first.status, `${method} ${url}: ${JSON.stringify(first.body)}`).toBe(201);
      const second = await h.call(method, url, body);
      expect(second.status, `${method} ${url} again: ${JSON.stringify(second.body)}`).toBe(200);
      expect(second.body.id ?? second.body.name).toBe(first.body.id ?? first.body.name);
    };
    await twice("POST", "/api/flows", { name: "etl", description: "nightly" });
    await twice("POST", "/api/work-pools", { name: "gpu" });
    await twice("POST", "/api/work-pools/gpu/queues", { name: "fast", priority: 1 });
    await twice("POST", "/api/work-pools/gpu/workers", { id: "w-1", name: "w-1" });
    await twice("POST", "/api/deployments", { name: "etl-nightly", flowName: "etl", entrypoint: "flows/etl.ts:etl", workPool: "gpu" });
    await twice("POST", "/api/concurrency-limits", { name: "db", limit: 2 });
    await twice("PUT", "/api/variables/region", { value: "eu" });
    await twice("PUT", "/api/secrets/token", { value: "s3cr3t" });
    // Creates that cannot update answer 201 with what they made.
    const run = await h.call("POST", "/api/deployments/etl-nightly/runs", { parameters: { day: 1 } });
    expect(run.status).toBe(201);
    expect((await h.call("POST", "/api/flow-runs", { flowName: "etl" })).status).toBe(201);
    expect((await h.call("POST", "/api/events", [{ event: "data.arrived", resource: { id: "s3://b/k" } }])).status).toBe(201);
  });

  it("takes back a state as reads answer it in set-state, and refuses a type that is not its name's, naming the field", async () => {
    const created = (await h.call("POST", "/api/flow-runs", { flowName: "round-trip" })).body;
    const read = (await h.call("GET", `/api/flow-runs/${created.id}`)).body;
    expect(read.state).toMatchObject({ type: "PENDING", name: "Pending" });
    const running = await h.call("POST", `/api/flow-runs/${created.id}/set-state`, { state: { ...read.state, type: "RUNNING", name: "Running", timestamp: Date.now() } });
    expect(running.status, JSON.stringify(running.body)).toBe(200);
    expect(running.body.state).toMatchObject({ type: "RUNNING", name: "Running" });
    // The state just read, sent back as it is: the rules decide (Running → Running is accepted as a no-op or refused, never a 400).
    const again = await h.call("POST", `/api/flow-runs/${created.id}/set-state`, { state: running.body.state });
    expect([200, 409]).toContain(again.status);
    expectError(await h.call("POST", `/api/flow-runs/${created.id}/set-state`, { state: { type: "FAILED", name: "Completed" } }), 400, /^body\.state\.type: a Completed state is of type COMPLETED, not FAILED/);
    expect((await h.call("GET", `/api/flow-runs/${created.id}`)).body.state.name).toBe("Running");
  });

  it("sets an artifact's id and createdAt on the server, and answers the artifact", async () => {
    const runId = (await h.call("POST", "/api/flow-runs", { flowName: "reports" })).body.id as string;
    const before = Date.now();
    const created = await h.call("POST", "/api/artifacts", { type: "markdown", data: "# report", flowRunId: runId, key: "report" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(String), type: "markdown", data: "# report", flowRunId: runId, key: "report", taskRunId: null, updatedAt: null });
    expect(created.body.createdAt).toBeGreaterThanOrEqual(before);
    expect(created.body.createdAt).toBeLessThanOrEqual(Date.now());
    expect((await h.call("GET", `/api/artifacts?flowRunId=${runId}`)).body.items).toEqual([created.body]);
    // The client's clock is not taken.
    expectError(await h.call("POST", "/api/artifacts", { type: "markdown", data: "x", flowRunId: runId, createdAt: 1 }), 400, /^body has an unknown field "createdAt"/);
    // A named id (the engine's, stable across attempts) replaces that artifact of the run.
    const named = await h.call("POST", "/api/artifacts", { id: created.body.id, type: "markdown", data: "# report v2", flowRunId: runId, key: "report" });
    expect(named.status).toBe(201);
    expect((await h.call("GET", `/api/artifacts?flowRunId=${runId}`)).body.items).toMatchObject([{ id: created.body.id, data: "# report v2" }]);
  });
});
