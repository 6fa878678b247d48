/**
 * Every error leaves the server as `{ error: { code, message, details } }`, including the ones
 * Fastify and Node's HTTP parser answer themselves: malformed HTTP, oversized URLs, bad paths,
 * unknown routes and methods, wrong content types, and requests arriving while it closes.
 */
import net from "node:net";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import { buildServer } from "../../src/server/app.ts";

/** Sends raw bytes and returns the status and parsed JSON body of the answer. */
async function raw(port: number, bytes: string): Promise<{ status: number; body: any }> {
  const text = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
    let out = "";
    socket.on("data", (d) => (out += d.toString()));
    socket.on("close", () => resolve(out));
    socket.on("error", reject);
  });
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  return { status, body: JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)) };
}

async function request(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let out = "";
      res.on("data", (d) => (out += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: out ? JSON.parse(out) : undefined }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe.each(DIALECTS)("error responses on %s", (dialect) => {
  let api: ApiHarness;
  let port: number;

  beforeAll(async () => {
    api = await apiHarness(dialect);
    port = Number(new URL(await api.server.app.listen({ host: "127.0.0.1", port: 0 })).port);
  });
  afterAll(() => api.close());

  it("answers malformed HTTP, an oversized URL and a malformed path in the API's error shape", async () => {
    expectError(await raw(port, "GARBAGE\r\n\r\n"), 400, /not valid HTTP/);
    expectError(await raw(port, "GET /api/health HTTP/1.1\r\nContent-Length: nope\r\n\r\n"), 400, /not valid HTTP/);
    expectError(await request(port, "GET", `/api/flow-runs?flow=${"x".repeat(20_000)}`), 431, /larger than 16 KiB/);
    expectError(await request(port, "GET", "/api/flow-runs/%E0%A4%A"), 400, /not a valid url component/);
  });

  it("answers unknown routes and methods with 404", async () => {
    expectError(await request(port, "GET", "/api/nope"), 404, /no route GET \/api\/nope/);
    expectError(await request(port, "DELETE", "/api/flow-runs"), 404, /no route DELETE \/api\/flow-runs/);
    expectError(await request(port, "PUT", "/api/batch", { "content-type": "application/json" }, "{}"), 404, /no route PUT \/api\/batch/);
    expectError(await request(port, "PROPFIND", "/api/flow-runs"), 404, /no route PROPFIND/);
  });

  it("answers 415 for anything but JSON", async () => {
    expectError(await request(port, "POST", "/api/flow-runs", { "content-type": "application/xml" }, "<run/>"), 415, /content-type application\/json \(got application\/xml\)/);
    expectError(await request(port, "POST", "/api/flow-runs", { "content-type": "application/x-www-form-urlencoded" }, "flowName=x"), 415, /application\/json/);
    expectError(await request(port, "POST", "/api/flow-runs", { "content-type": "multipart/form-data; boundary=x" }, "--x--"), 415, /application\/json/);
    expectError(await request(port, "POST", "/api/flow-runs", {}, '{"flowName":"x"}'), 415, /application\/json \(got none\)/);
    expect((await request(port, "POST", "/api/flow-runs", { "content-type": "application/json; charset=utf-8" }, '{"flowName":"x"}')).status).toBe(201);
    expect((await request(port, "GET", "/api/health")).status).toBe(200);
  });

  it("answers 503 to requests that arrive while the server closes", async () => {
    const closingServer = await buildServer({ store: api.store });
    const closed = closingServer.close();
    const res = await closingServer.app.inject({ method: "GET", url: "/api/flow-runs" });
    await closed;
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatchObject({ code: "SHUTTING_DOWN", message: expect.stringMatching(/shutting down/), details: null });
  });
});
