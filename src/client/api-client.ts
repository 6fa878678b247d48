/**
 * HTTP client for the Baton API. Transient failures (connection refused or reset, 502–504,
 * 429) are retried with exponential backoff for up to `maxRetryMs` (BATON_API_RETRY_MS, default
 * 60 s), so a flow survives a server restart; a 500 twice at most; client errors (4xx) never.
 */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import pRetry, { AbortError } from "p-retry";
import type { z } from "zod";
import { BatonConfigError, BatonError } from "../core/errors.ts";
import { Pool } from "undici";
import { parseAnswer } from "./answers.ts";
import { context } from "@opentelemetry/api";
import { tracing } from "../telemetry/tracing.ts";
import { carrierOf } from "../telemetry/trace-context.ts";

export class ApiRequestError extends BatonError {
  override name = "ApiRequestError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  apiKey?: string | null;
  maxRetryMs?: number;
  /** A PEM file of extra certificate authorities to trust over https (BATON_CA_FILE), besides the system's. */
  caFile?: string | null;
  /** Allow plain http:// to a host that is not this machine (BATON_ALLOW_INSECURE); default: refused. */
  allowInsecure?: boolean;
}

/** Sending a key and run data in clear over a network was refused. */
export class InsecureTransportError extends BatonError {
  override name = "InsecureTransportError";
}

/** The server's certificate is not one this client trusts: retrying cannot help. */
export class UntrustedServerError extends BatonError {
  override name = "UntrustedServerError";
}

/** Node's codes for a certificate that does not verify. */
const CERTIFICATE_ERRORS = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The error for a TLS failure to trust the server, or null for any other failure. */
export function untrustedServer(error: unknown, baseUrl: string, caFile: string | null | undefined): UntrustedServerError | null {
  const code = (error as { code?: string } | null)?.code ?? ((error as { cause?: { code?: string } } | null)?.cause?.code);
  if (!code || !CERTIFICATE_ERRORS.has(code)) return null;
  const hint = caFile ? `it is not signed by the CA in BATON_CA_FILE (${caFile}) nor by one the system trusts` : "if a private or self-signed CA signed it, set BATON_CA_FILE to that CA's certificate (PEM)";
  return new UntrustedServerError(`the Baton API at ${baseUrl} presented a certificate this client does not trust (${code}: ${(error as Error).message}): ${hint}`, { cause: error });
}

/** Whether `hostname` (of a URL) is this machine: plain HTTP to it never crosses a network. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::ffff:127.0.0.1";
}

/** The TLS options that trust `caFile`'s certificates besides the system's; a clear error if it cannot be read. */
export function trustedCas(caFile: string | null | undefined): { ca: string[] } | undefined {
  if (!caFile) return undefined;
  let pem: string;
  try {
    pem = fs.readFileSync(caFile, "utf8");
  } catch (error) {
    throw new BatonConfigError(`BATON_CA_FILE: cannot read ${caFile}: ${(error as Error).message}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new BatonConfigError(`BATON_CA_FILE: ${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return { ca: [...tls.rootCertificates, pem] };
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly maxRetryMs: number;
  /** The path of the server's root (a proxy may mount it under one): requests append theirs. */
  private readonly basePath: string;
  /**
   * Keep-alive connections to the server. undici's Pool rather than node:http: on a flow's hot
   * path (one round trip per sequential task) node:http's ClientRequest / IncomingMessage
   * machinery cost ~75 µs per request on top of a ~100 µs localhost round trip (measured).
   */
  private readonly pool: Pool;
  /** The extra CAs of BATON_CA_FILE, for the pool and the event streams' connections. */
  private readonly tlsOptions: { ca: string[] } | undefined;
  private readonly caFile: string | null;

  constructor(options: ApiClientOptions) {
    // Accepts the server's root or its /api URL.
    this.baseUrl = options.baseUrl.replace(/\/+$/, "").replace(/\/api$/, "");
    this.headers = { accept: "application/json" };
    if (options.apiKey) {
      if (/[\r\n\0]/.test(options.apiKey)) throw new TypeError("the API key (BATON_API_KEY) may not contain line breaks or NUL characters");
      this.headers.authorization = `Bearer ${options.apiKey}`;
    }
    this.maxRetryMs = options.maxRetryMs ?? 60_000;
    const url = new URL(this.baseUrl);
    const secure = url.protocol === "https:";
    this.basePath = url.pathname.replace(/\/+$/, "");
    if (!secure && url.protocol !== "http:") throw new TypeError(`BATON_API_URL must be an http:// or https:// URL, got ${JSON.stringify(options.baseUrl)}`);
    // A key and run data in clear across a network: only when asked for.
    if (!secure && !isLoopbackHost(url.hostname) && !options.allowInsecure)
      throw new InsecureTransportError(
        `BATON_API_URL ${url.origin} is plain http:// to another machine: API keys, parameters and results would cross the network unencrypted. Use https:// (with BATON_CA_FILE for a private CA), or set BATON_ALLOW_INSECURE=1 to allow it`,
      );
    this.caFile = options.caFile ?? null;
    this.tlsOptions = secure ? trustedCas(options.caFile) : undefined;
    this.pool = new Pool(url.origin, { connections: 16, headersTimeout: 30_000, bodyTimeout: 30_000, ...(this.tlsOptions ? { connect: this.tlsOptions } : {}) });
  }

  /** Closes the idle keep-alive connections (a later request opens new ones). */
  close(): void {
    this.stopRetries.abort(new BatonError(`the client of ${this.baseUrl} was closed`));
    void this.pool.close();
  }

  /** Aborted by close(): requests still retrying (a heartbeat caught in an outage) give up. */
  private readonly stopRetries = new AbortController();

  private async send(method: string, path: string, body: string | undefined): Promise<{ status: number; text: string }> {
    // What node:http refuses too: a path that would split the request line (a bug, not an outage).
    if (!/^\/[\x21-\x7e]*$/.test(path)) throw new TypeError(`request path contains unescaped characters: ${JSON.stringify(path)}`);
    let headers = body === undefined ? this.headers : { ...this.headers, "content-type": "application/json" };
    // Traced: the server's span of this request continues the caller's trace (a task run's, a claim's).
    if (tracing.enabled) headers = { ...headers, ...carrierOf(context.active()) };
    const answer = await this.pool.request({ method: method as "GET", path: this.basePath + path, headers, body });
    return { status: answer.statusCode, text: await answer.body.text() };
  }

  /** One attempt: the answer's payload, or an error saying whether to try again. */
  private async attempt(method: string, path: string, body: string | undefined): Promise<unknown> {
    let response: { status: number; text: string };
    try {
      response = await this.send(method, path, body);
    } catch (error) {
      // A path that cannot be sent is a bug, not an outage: not retried. Nor is a certificate
      // this client does not trust.
      if (error instanceof TypeError) throw error;
      const untrusted = untrustedServer(error, this.baseUrl, this.caFile);
      if (untrusted) throw untrusted;
      throw new BatonError(`cannot reach the Baton API at ${this.baseUrl}: ${(error as Error).message}`, { cause: error });
    }
    if (response.status === 204) return undefined;
    let payload: unknown = undefined;
    try {
      payload = response.text ? JSON.parse(response.text) : undefined;
    } catch {
      payload = undefined;
    }
    if (response.status >= 200 && response.status < 300) return payload;
    const error = (payload as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    throw new ApiRequestError(response.status, error?.code ?? "HTTP_ERROR", `${method} ${path}: ${error?.message ?? `HTTP ${response.status}`}`, error?.details);
  }

  /**
   * Opens a long-lived GET (the event stream) on its own connection, outside the keep-alive
   * pool. Resolves with the response once its headers arrive; a non-2xx answer rejects with
   * the server's error.
   */
  openStream(path: string, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
    const target = new URL(`${this.baseUrl}${path}`);
    const transport = target.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(target, { method: "GET", headers: { ...this.headers, ...headers }, agent: false, ...this.tlsOptions }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(res);
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          let error: { code?: string; message?: string; details?: unknown } | undefined;
          try {
            error = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { error?: typeof error }).error;
          } catch {
            error = undefined;
          }
          reject(new ApiRequestError(status, error?.code ?? "HTTP_ERROR", `GET ${path}: ${error?.message ?? `HTTP ${status}`}`, error?.details));
        });
        res.on("error", reject);
      });
      req.on("error", (error) => reject(untrustedServer(error, this.baseUrl, this.caFile) ?? new BatonError(`cannot reach the Baton API at ${this.baseUrl}: ${error.message}`, { cause: error })));
      req.end();
    });
  }

  /**
   * A request of raw bytes (result blobs): `body` sent as application/octet-stream, the answer's
   * bytes returned; null when the server says 404. Not retried: the caller's run fails (or is
   * retried by its policy) with the error, which names the server.
   */
  async bytes(method: "GET" | "PUT", path: string, body?: Buffer): Promise<Buffer | null> {
    let answer: Awaited<ReturnType<Pool["request"]>>;
    try {
      answer = await this.pool.request({
        method,
        path: this.basePath + path,
        headers: body === undefined ? { ...this.headers, accept: "application/octet-stream, application/json" } : { ...this.headers, "content-type": "application/octet-stream" },
        body,
      });
    } catch (error) {
      throw untrustedServer(error, this.baseUrl, this.caFile) ?? new BatonError(`cannot reach the Baton API at ${this.baseUrl}: ${(error as Error).message}`, { cause: error });
    }
    const bytes = Buffer.from(await answer.body.arrayBuffer());
    if (answer.statusCode === 404 && method === "GET") return null;
    if (answer.statusCode >= 200 && answer.statusCode < 300) return bytes;
    let error: { code?: string; message?: string; details?: unknown } | undefined;
    try {
      error = (JSON.parse(bytes.toString("utf8")) as { error?: typeof error }).error;
    } catch {
      error = undefined;
    }
    throw new ApiRequestError(answer.statusCode, error?.code ?? "HTTP_ERROR", `${method} ${path}: ${error?.message ?? `HTTP ${answer.statusCode}`}`, error?.details);
  }

  /** How long requests ride out an unreachable server (ms). */
  get retryWindowMs(): number {
    return this.maxRetryMs;
  }

  /**
   * Sends a request; resolves with its answer read by the API's schema `answer` (an
   * UnexpectedAnswerError naming the field if it does not fit), or unread when the caller
   * needs nothing of it (an acknowledgement).
   */
  request(method: string, path: string, body?: unknown): Promise<unknown>;
  request<T>(method: string, path: string, body: unknown, answer: z.ZodType<T>): Promise<T>;
  request<T>(method: string, path: string, body?: unknown, answer?: z.ZodType<T>): Promise<unknown> {
    const payload = this.withRetries(method, path, body);
    return answer ? payload.then((value) => parseAnswer(answer, value, `${method} ${path}`)) : payload;
  }

  /** The answer's payload; transient failures are retried (see the class comment). */
  private async withRetries(method: string, path: string, body: unknown): Promise<unknown> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    // The first attempt goes out directly: the retry machinery (timers, signals) only runs
    // once something went wrong, off the hot path of a flow's writes.
    let internalErrors = 0;
    const retryable = (error: unknown) => {
      if (this.stopRetries.signal.aborted || error instanceof UntrustedServerError) return false;
      if (!(error instanceof ApiRequestError)) return error instanceof BatonError; // unreachable
      // Worth retrying: the server or the database is briefly away (502/503/504), or busy
      // (429). A 500 is a server bug that repeats for the same request: retried twice in case
      // of a proxy's hiccup, not for the whole window (a flow must not stall for a minute on
      // it). A 4xx will not change.
      if (error.status === 500) return ++internalErrors <= 2;
      return error.status > 500 || error.status === 429;
    };
    try {
      return await this.attempt(method, path, text);
    } catch (error) {
      if (!retryable(error)) throw error;
    }
    return pRetry(
      async () => {
        try {
          return await this.attempt(method, path, text);
        } catch (error) {
          throw retryable(error) ? error : new AbortError(error as Error);
        }
      },
      // An AbortError stops the retries; p-retry rejects with the error it wraps.
      { retries: 1000, minTimeout: 100, maxTimeout: 5000, factor: 2, maxRetryTime: this.maxRetryMs, randomize: true, signal: this.stopRetries.signal },
    );
  }
}

/** The request's answer, or undefined when the server says 404. */
export async function orUndefined<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof ApiRequestError && error.status === 404) return undefined;
    throw error;
  }
}
