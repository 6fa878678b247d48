/**
 * The API client's HTTP/1.1 connection pool against real servers (node:http, and raw sockets
 * for answers node:http would not write): every framing of an answer, keep-alive reuse and
 * when a connection must not be reused, a kept-alive connection the server closed, queueing
 * beyond maxSockets, timeouts, refused connections, header injection, and TLS.
 */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HttpPool, type HttpPoolOptions } from "../../src/client/http-connection.ts";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A node:http server; counts the connections it accepted. */
async function httpServer(handler: http.RequestListener, make: (h: http.RequestListener) => http.Server = http.createServer): Promise<{ port: number; connections: () => number }> {
  const server = make(handler);
  let connections = 0;
  server.on(server instanceof https.Server ? "secureConnection" : "connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

/** A raw TCP server: `onRequest(socket, n)` is called for each request head received on a connection. */
async function rawServer(onRequest: (socket: net.Socket, index: number) => void): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffered = "";
    let index = 0;
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
        const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        onRequest(socket, index++);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

function pool(port: number, options: HttpPoolOptions = {}, secure = false): HttpPool {
  const p = new HttpPool({ secure, hostname: "127.0.0.1", port }, options);
  closers.push(async () => p.close());
  return p;
}

describe("HTTP connection pool", () => {
  it("sends the method, path, headers and body, and reuses the connection", async () => {
    const seen: string[] = [];
    const { port, connections } = await httpServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d));
      req.on("end", () => {
        seen.push(`${req.method} ${req.url} ${req.headers.host} ${req.headers.authorization} ${req.headers["content-type"]} ${body}`);
        res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ echo: body }));
      });
    });
    const client = pool(port, { headers: { authorization: "Bearer k" } });
    expect(await client.request("POST", "/api/batch?x=1", '{"é":1}')).toEqual({ status: 201, text: JSON.stringify({ echo: '{"é":1}' }) });
    expect(await client.request("GET", "/api/health")).toEqual({ status: 201, text: JSON.stringify({ echo: "" }) });
    expect(seen).toEqual([`POST /api/batch?x=1 127.0.0.1:${port} Bearer k application/json {"é":1}`, `GET /api/health 127.0.0.1:${port} Bearer k undefined `]);
    expect(connections()).toBe(1);
  });

  it("reads chunked answers, a multi-byte character split across chunks included", async () => {
    const { port, connections } = await httpServer((_req, res) => {
      const bytes = Buffer.from('{"word":"héllo"}');
      res.write(bytes.subarray(0, 11)); // ends in the middle of "é"
      setTimeout(() => res.end(bytes.subarray(11)), 5);
    });
    const client = pool(port);
    expect(await client.request("GET", "/a")).toEqual({ status: 200, text: '{"word":"héllo"}' });
    expect(await client.request("GET", "/b")).toEqual({ status: 200, text: '{"word":"héllo"}' });
    expect(connections()).toBe(1);
  });

  it("reads an answer delimited by the end of the connection, and opens a new one after it", async () => {
    const { port, connections } = await rawServer((socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"until\":\"close\"}"));
    const client = pool(port);
    expect(await client.request("GET", "/a")).toEqual({ status: 200, text: '{"until":"close"}' });
    expect(await client.request("GET", "/b")).toEqual({ status: 200, text: '{"until":"close"}' });
    expect(connections()).toBe(2);
  });

  it("keeps an HTTP/1.0 answer's connection only when the server says keep-alive", async () => {
    const { port, connections } = await rawServer((socket, i) =>
      socket.write(i === 0 ? "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok" : "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    );
    const client = pool(port);
    expect((await client.request("GET", "/a")).text).toBe("ok");
    expect((await client.request("GET", "/b")).text).toBe("ok");
    expect((await client.request("GET", "/c")).text).toBe("ok");
    expect(connections()).toBe(2);
  });

  it("does not reuse a connection the server says it closes", async () => {
    const { port, connections } = await httpServer((_req, res) => res.writeHead(503, { connection: "close", "content-type": "application/json" }).end("{}"));
    const client = pool(port);
    expect((await client.request("GET", "/a")).status).toBe(503);
    expect((await client.request("GET", "/b")).status).toBe(503);
    expect(connections()).toBe(2);
  });

  it("skips interim answers, and reads no body after a 204 or a HEAD", async () => {
    const { port, connections } = await rawServer((socket, i) => {
      if (i === 0) socket.write("HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      else if (i === 1) socket.write("HTTP/1.1 204 No Content\r\n\r\n");
      else socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n");
    });
    const client = pool(port);
    expect(await client.request("GET", "/a")).toEqual({ status: 200, text: "ok" });
    expect(await client.request("DELETE", "/b")).toEqual({ status: 204, text: "" });
    expect(await client.request("HEAD", "/c")).toEqual({ status: 200, text: "" });
    expect(connections()).toBe(1);
  });

  it("sends a request again on a new connection when the server had closed the kept-alive one", async () => {
    // The second request arrives on a connection the server then drops without answering, as
    // when its keep-alive timeout races the client's reuse.
    let requests = 0;
    const { port, connections } = await rawServer((socket, i) => {
      requests++;
      if (i === 1) socket.destroy();
      else socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    });
    const client = pool(port);
    expect((await client.request("POST", "/a", "{}")).text).toBe("ok");
    expect((await client.request("POST", "/b", "{}")).text).toBe("ok");
    expect(connections()).toBe(2);
    expect(requests).toBe(3);
  });

  it("fails a request whose first connection breaks off (no resend: it is not a stale reuse)", async () => {
    const { port } = await rawServer((socket) => socket.destroy());
    await expect(pool(port).request("POST", "/a", "{}")).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it("queues requests beyond maxSockets and matches every answer to its request", async () => {
    const { port, connections } = await httpServer((req, res) => setTimeout(() => res.end(req.url), Math.random() * 10));
    const client = pool(port, { maxSockets: 3 });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => client.request("GET", `/n/${i}`)));
    expect(answers.map((a) => a.text)).toEqual(Array.from({ length: 40 }, (_, i) => `/n/${i}`));
    expect(connections()).toBe(3);
  });

  it("fails a request that gets no answer within the timeout", async () => {
    const { port } = await rawServer(() => undefined);
    const started = Date.now();
    await expect(pool(port, { timeoutMs: 200 }).request("GET", "/slow")).rejects.toThrow("no answer within 200 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("fails when nothing listens", async () => {
    const { port } = await rawServer(() => undefined);
    await closers.pop()!();
    await expect(pool(port).request("GET", "/")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("refuses malformed answers", async () => {
    const { port } = await rawServer((socket) => socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"));
    await expect(pool(port).request("GET", "/")).rejects.toThrow(/malformed chunked answer/);
    const other = await rawServer((socket) => socket.write("SSH-2.0-OpenSSH\r\n\r\n"));
    await expect(pool(other.port).request("GET", "/")).rejects.toThrow(/not an HTTP\/1\.1 answer/);
    const noColon = await rawServer((socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nno colon here\r\n\r\nok"));
    await expect(pool(noColon.port).request("GET", "/")).rejects.toThrow(/malformed header line in the answer: "no colon here"/);
    const twoLengths = await rawServer((socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 3\r\n\r\nok"));
    await expect(pool(twoLengths.port).request("GET", "/")).rejects.toThrow(/invalid Content-Length in the answer: "3"/);
  });

  it("refuses a header or path that would split the request", async () => {
    expect(() => new HttpPool({ secure: false, hostname: "127.0.0.1", port: 1 }, { headers: { authorization: "Bearer a\r\nx-evil: 1" } })).toThrow(/line breaks/);
    await expect(new HttpPool({ secure: false, hostname: "127.0.0.1", port: 1 }).request("GET", "/a b")).rejects.toThrow(/unescaped characters/);
  });

  it("speaks TLS to an https origin", async () => {
    const dir = path.join(import.meta.dirname, "fixtures/tls");
    const cert = fs.readFileSync(path.join(dir, "localhost.crt"));
    const { port, connections } = await httpServer(
      (_req, res) => res.end('{"secure":true}'),
      (h) => https.createServer({ key: fs.readFileSync(path.join(dir, "localhost.key")), cert }, h),
    );
    const client = pool(port, { tls: { ca: cert } }, true);
    expect(await client.request("GET", "/a")).toEqual({ status: 200, text: '{"secure":true}' });
    expect(await client.request("GET", "/b")).toEqual({ status: 200, text: '{"secure":true}' });
    expect(connections()).toBe(1);
    // Without the CA the self-signed certificate is refused.
    await expect(pool(port, {}, true).request("GET", "/a")).rejects.toThrow(/self-signed|certificate/);
  });
});
