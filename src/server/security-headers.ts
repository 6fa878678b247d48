/**
 * Security headers on every answer: no MIME sniffing, no framing (clickjacking), no referrer
 * leaking run ids to other sites, and the request's id for correlating with the audit log.
 * API answers carry data (runs, parameters, results): `Cache-Control: no-store`, so no proxy or
 * browser cache keeps a copy. The dashboard's pages get a strict Content-Security-Policy: scripts,
 * styles, workers and connections from this origin only, plus the inline scripts of the built
 * index.html by their hashes (read once at start), so an injected script has nowhere to run.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";

/** The `'sha256-…'` source of each inline `<script>` (one without `src`) in an HTML page. */
export function inlineScriptHashes(html: string): string[] {
  const out: string[] = [];
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (/\bsrc\s*=/i.test(match[1]!)) continue;
    out.push(`'sha256-${createHash("sha256").update(match[2]!, "utf8").digest("base64")}'`);
  }
  return out;
}

/** The dashboard's policy, allowing the inline scripts given by their hashes. */
export function dashboardCsp(scriptHashes: readonly string[]): string {
  return [
    "default-src 'self'",
    `script-src 'self'${scriptHashes.map((h) => ` ${h}`).join("")}`,
    "style-src 'self'",
    // Image artifacts are served by the API; markdown artifacts may hold data: images.
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Installs the headers; `uiRoot` is the built dashboard's folder (its index.html's inline scripts
 * are allowed). Over TLS, browsers are also told to use HTTPS only for this host (HSTS).
 */
export function installSecurityHeaders(app: FastifyInstance, uiRoot: string | undefined, tls: boolean): void {
  const indexHtml = uiRoot ? path.join(uiRoot, "index.html") : null;
  const csp = dashboardCsp(indexHtml && fs.existsSync(indexHtml) ? inlineScriptHashes(fs.readFileSync(indexHtml, "utf8")) : []);
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("x-frame-options", "DENY");
    reply.header("referrer-policy", "no-referrer");
    reply.header("x-request-id", String(request.id));
    if (tls) reply.header("strict-transport-security", "max-age=31536000");
    const url = request.url;
    if (url === "/api" || url.startsWith("/api/") || url.startsWith("/api?")) reply.header("cache-control", "no-store");
    // The policy is for documents; an API answer rendered as one (opened in a tab) gets it too.
    reply.header("content-security-policy", csp);
    done();
  });
}

/**
 * The head of an event stream (SSE). `Connection` exists in HTTP/1.1 only: HTTP/2 forbids it
 * (Node refuses to send it), and streams there stay open by themselves.
 */
export function eventStreamHead(raw: { httpVersionMajor: number }): Record<string, string> {
  const head: Record<string, string> = { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no", "x-content-type-options": "nosniff" };
  if (raw.httpVersionMajor < 2) head.connection = "keep-alive";
  return head;
}
