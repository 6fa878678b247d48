/**
 * The API client's retry policy against a scripted HTTP server: a 4xx is final at once, a 500
 * (a server bug that repeats) is tried three times at most, a 503 is retried until it passes.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ApiClient, ApiRequestError } from "../../src/client/api-client.ts";

let server: http.Server | null = null;

async function serve(statuses: number[]): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  server = http.createServer((req, res) => {
    req.resume();
    const status = statuses[Math.min(hits, statuses.length - 1)]!;
    hits++;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(status < 300 ? { ok: true } : { error: { code: `E${status}`, message: `status ${status}`, details: null } }));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

describe("API client retries", () => {
  it.each([400, 404, 409, 413, 422])("does not retry a %i", async (status) => {
    const { url, hits } = await serve([status]);
    const client = new ApiClient({ baseUrl: url, maxRetryMs: 10_000 });
    const error = await client.request("POST", "/api/batch", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiRequestError);
    expect((error as ApiRequestError).status).toBe(status);
    expect((error as Error).message).toBe(`POST /api/batch: status ${status}`);
    expect(hits()).toBe(1);
  });

  it("gives a 500 three tries, not the whole retry window", async () => {
    const { url, hits } = await serve([500]);
    const client = new ApiClient({ baseUrl: url, maxRetryMs: 60_000 });
    const started = Date.now();
    await expect(client.request("POST", "/api/batch", {})).rejects.toThrow(/status 500/);
    expect(hits()).toBe(3);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("retries a 503 until the server answers", async () => {
    const { url, hits } = await serve([503, 503, 200]);
    const client = new ApiClient({ baseUrl: url, maxRetryMs: 10_000 });
    expect(await client.request("GET", "/api/health")).toEqual({ ok: true });
    expect(hits()).toBe(3);
  });

  it("reuses keep-alive connections for sequential requests", async () => {
    const { url } = await serve([200]);
    const sockets = new Set<unknown>();
    server!.on("connection", (socket) => sockets.add(socket));
    const client = new ApiClient({ baseUrl: url, maxRetryMs: 1_000 });
    for (let i = 0; i < 20; i++) expect(await client.request("POST", "/api/batch", { i })).toEqual({ ok: true });
    // undici may open a second connection while the first finishes its answer; never one per request.
    expect(sockets.size).toBeLessThanOrEqual(2);
    client.close();
  });

  it("stops a request that is riding out an outage as soon as the client is closed", async () => {
    const { url } = await serve([503]);
    const client = new ApiClient({ baseUrl: url, maxRetryMs: 60_000 });
    const started = Date.now();
    const pending = client.request("POST", "/api/flow-runs/x/heartbeat", {}).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 400));
    client.close();
    const error = await pending;
    expect(error).toBeInstanceOf(Error);
    // Well before the 60 s window, and before the next backoff step would have fired.
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
