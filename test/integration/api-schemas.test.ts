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
      // The OpenAPI document (OpenAPI 3.0: nullable fields are written its way) has the same fields, required alike.
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

  it("keeps fields a newer server adds out of the records it returns", async () => {
    answer = { ...run, colour: "red" };
    expect(await store.getFlowRun(run.id)).toEqual(run);
  });
});
