/**
 * One schema per resource: the OpenAPI document shows the JSON Schemas made from the zod
 * declarations in src/schemas (which the server also validates and serialises with), the remote
 * client reads answers with the same declarations.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../src/client/api-client.ts";
import { UnexpectedAnswerError } from "../../src/client/answers.ts";
import { RemoteStore } from "../../src/client/remote-store.ts";
import { COMPONENTS } from "../../src/schemas/components.ts";
import { FlowRunCreateSchema, FlowRunSchema } from "../../src/schemas/flow-run.ts";
import { AutomationSchema } from "../../src/schemas/automation.ts";
import { NotificationChannelSchema } from "../../src/schemas/notification-channel.ts";
import { SecretInfoSchema } from "../../src/schemas/secret.ts";
import { VariableSchema } from "../../src/schemas/variable.ts";
import { RemoteAutomations } from "../../src/client/remote-automations.ts";
import { RemoteNotificationChannels } from "../../src/client/remote-notification-channels.ts";
import { RemoteSecrets, RemoteVariables } from "../../src/client/remote-values.ts";
import { makeSecretKey } from "../../src/core/secret-cipher.ts";
import { componentSchema, jsonSchema, type JsonSchema } from "../../src/schemas/json-schema.ts";
import { apiHarness, type ApiHarness } from "../support/api.ts";

describe("one schema per resource", () => {
  let h: ApiHarness;
  let doc: { components: { schemas: Record<string, JsonSchema> }; paths: Record<string, Record<string, any>> };

  beforeAll(async () => {
    h = await apiHarness("sqlite");
    doc = (await h.call("GET", "/api/openapi.json")).body;
  });
  afterAll(async () => h.close());

  it("validates and serialises with the JSON Schemas of the zod declarations, and documents them", () => {
    for (const schema of COMPONENTS) {
      const json = componentSchema(schema);
      const id = String(json.$id);
      expect(h.server.app.getSchema(id), id).toEqual(json);
      // The OpenAPI document has the same fields, required alike.
      const documented = doc.components.schemas[id]!;
      expect(Object.keys(documented.properties as object), id).toEqual(Object.keys(json.properties as object));
      expect(documented.required, id).toEqual(json.required);
    }
    const flowRun = doc.components.schemas.FlowRun!.properties as Record<string, JsonSchema>;
    expect(Object.keys(flowRun)).toEqual(Object.keys(FlowRunSchema.shape));
    expect(flowRun.state).toEqual({ $ref: "#/components/schemas/State" });
    expect(flowRun.runCount!.description).toBe(FlowRunSchema.shape.runCount.description);
  });

  it("validates a route's body with its declaration", async () => {
    const body = doc.paths["/api/flow-runs"]!.post.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties)).toEqual(Object.keys(FlowRunCreateSchema.shape));
    expect(body.required).toEqual(jsonSchema(FlowRunCreateSchema).required);
    // A field the declaration does not have is refused, naming it.
    const refused = await h.call("POST", "/api/flow-runs", { flowName: "f", colour: "red" });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe('body has an unknown field "colour"');
  });

  it("documents automations, notification channels, variables and secrets with their declarations", () => {
    const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
    const answer = (path: string, method: string, status: string) => doc.paths[path]![method].responses[status].content["application/json"].schema;
    for (const id of ["AutomationSpec", "Automation", "AutomationFiring", "AutomationActionRecord", "NotificationChannel", "Variable", "SecretInfo"]) expect(doc.components.schemas[id], id).toBeDefined();
    expect(answer("/api/automations", "post", "201")).toEqual(ref("Automation"));
    expect(answer("/api/automations/{name}", "get", "200").properties.firings.items).toEqual(ref("AutomationFiring"));
    expect(answer("/api/automations/{name}/firings", "get", "200").properties.items.items).toEqual(ref("AutomationFiring"));
    const properties = (id: string) => doc.components.schemas[id]!.properties as Record<string, JsonSchema>;
    expect(properties("Automation").spec).toEqual(ref("AutomationSpec"));
    expect(properties("AutomationFiring").actions).toEqual({ type: "array", items: ref("AutomationActionRecord") });
    expect(answer("/api/notification-channels/{name}", "get", "200")).toEqual(ref("NotificationChannel"));
    expect(Object.keys(doc.components.schemas.NotificationChannel!.properties as object).sort()).toEqual(Object.keys(NotificationChannelSchema.in.shape).sort());
    expect(answer("/api/variables/{name}", "get", "200")).toEqual(ref("Variable"));
    expect(doc.components.schemas.Variable!.required).toContain("value");
    expect(answer("/api/secrets", "get", "200").properties.items.items).toEqual(ref("SecretInfo"));
    // The spec's own checks, with their messages, stay the use case's: the body documents the fields' types only.
    expect(doc.paths["/api/automations"]!.post.requestBody.content["application/json"].schema.additionalProperties).not.toBe(false);
  });

  it("answers automations, channels and variables with exactly their declared fields", async () => {
    const automation = await h.call("POST", "/api/automations", { name: "a1", trigger: { event: "x.y" }, actions: [{ type: "emit-event", event: "z.w", resource: { id: "r" } }] });
    expect(automation.status).toBe(201);
    expect(Object.keys(automation.body).sort()).toEqual(Object.keys(AutomationSchema.shape).sort());
    expect(automation.body.spec).toEqual({ name: "a1", trigger: { event: "x.y" }, actions: [{ type: "emit-event", event: "z.w", resource: { id: "r" } }] });
    const channel = await h.call("POST", "/api/notification-channels", { name: "c1", type: "webhook", settings: { url: "https://user:pw@example.com/hook", headers: { authorization: "Bearer t" } } });
    expect(channel.status).toBe(201);
    expect(channel.body).toMatchObject({ type: "webhook", settings: { url: "https://user:***@example.com/hook", headers: { authorization: "***" } } });
    const variable = await h.call("PUT", "/api/variables/v1", { value: { nested: [1, null] } });
    expect(Object.keys(variable.body).sort()).toEqual(Object.keys(VariableSchema.shape).sort());
    expect(variable.body.value).toEqual({ nested: [1, null] });
    expect((await h.call("PUT", "/api/variables/v1", { tags: [] })).body.error.message).toMatch(/value/);
  });

  it("answers records with exactly their declared fields", async () => {
    const created = await h.call("POST", "/api/flow-runs", { flowName: "f" });
    expect(Object.keys(created.body).sort()).toEqual(Object.keys(FlowRunSchema.shape).sort());
  });
});

describe("the remote client reads answers with the schemas", () => {
  let server: http.Server;
  let store: RemoteStore;
  let answer: unknown;
  /** A flow run as the server answers it. */
  let run: Record<string, any>;

  beforeAll(async () => {
    const h = await apiHarness("sqlite");
    run = (await h.call("POST", "/api/flow-runs", { flowName: "f" })).body;
    await h.close();
    server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    store = new RemoteStore(new ApiClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxRetryMs: 0 }));
  });
  afterAll(async () => {
    await store.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it("refuses an answer of another shape with an error naming each field", async () => {
    answer = run;
    expect(await store.getFlowRun(run.id)).toEqual(run);

    answer = { ...run, state: { ...run.state, name: "Exploded" }, runCount: "1" };
    const error = await store.getFlowRun(run.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnexpectedAnswerError);
    expect((error as Error).message).toMatch(new RegExp(`^GET /api/flow-runs/${run.id}: the server's answer is not what this client expects`));
    expect((error as Error).message).toMatch(/answer\.state\.name: Invalid option: expected one of "Scheduled"\|/);
    expect((error as Error).message).toMatch(/answer\.runCount: Invalid input: expected number, received string/);
  });

  it("reads automations, channels, variables and secrets with their schemas, naming a field that does not fit", async () => {
    const api = new ApiClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxRetryMs: 0 });
    const h = await apiHarness("sqlite", { secretKey: () => makeSecretKey(Buffer.alloc(32, 7), "test") });
    try {
      const automation = (await h.call("POST", "/api/automations", { name: "a1", trigger: { event: "x.y" }, actions: [{ type: "emit-event", event: "z.w", resource: { id: "r" } }] })).body;
      const channel = (await h.call("POST", "/api/notification-channels", { name: "c1", type: "slack", settings: { url: "https://hooks.slack.com/services/T/B/X" } })).body;
      const variable = (await h.call("PUT", "/api/variables/v1", { value: 1, tags: ["t"] })).body;
      const secret = (await h.call("PUT", "/api/secrets/s1", { value: "shh" })).body;
      const cases: [unknown, () => Promise<unknown>, unknown, RegExp][] = [
        [automation, () => new RemoteAutomations(api).setPaused("a1", true), { ...automation, spec: { ...automation.spec, actions: [{ type: "explode" }] } }, /answer\.spec\.actions\.0\.type/],
        [channel, () => new RemoteNotificationChannels(api).inspect("c1"), { ...channel, settings: { url: 42 } }, /answer\.settings/],
        [variable, () => new RemoteVariables(api).get("v1"), { ...variable, tags: "t" }, /answer\.tags: Invalid input: expected array/],
        [secret, async () => new RemoteSecrets(api).list().then((items) => items[0]), { items: [{ ...secret, updatedAt: "now" }] }, /answer\.items\.0\.updatedAt/],
      ];
      for (const [good, read, bad, field] of cases) {
        answer = Array.isArray((bad as { items?: unknown }).items) ? { items: [good] } : good;
        expect(await read()).toEqual(good);
        answer = bad;
        const error = await read().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UnexpectedAnswerError);
        expect((error as Error).message).toMatch(field);
      }
      expect(Object.keys(secret).sort()).toEqual(Object.keys(SecretInfoSchema.shape).sort());
    } finally {
      await h.close();
      api.close();
    }
  });

  it("keeps fields a newer server adds out of the records it returns", async () => {
    answer = { ...run, colour: "red" };
    expect(await store.getFlowRun(run.id)).toEqual(run);
  });
});
