/**
 * HTTP client for the Baton API. Transient failures (connection refused or reset, 5xx, 429)
 * are retried with exponential backoff for up to `maxRetryMs` (BATON_API_RETRY_MS, default
 * 60 s), so a flow survives a server restart; client errors (4xx) are not retried.
 */
import pRetry, { AbortError } from "p-retry";
import { BatonError } from "../core/errors.ts";

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
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly maxRetryMs: number;

  constructor(options: ApiClientOptions) {
    // Accepts the server's root or its /api URL.
    this.baseUrl = options.baseUrl.replace(/\/+$/, "").replace(/\/api$/, "");
    this.headers = { accept: "application/json" };
    if (options.apiKey) this.headers.authorization = `Bearer ${options.apiKey}`;
    this.maxRetryMs = options.maxRetryMs ?? 60_000;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    return pRetry(
      async () => {
        let response: Response;
        try {
          response = await fetch(url, {
            method,
            headers: body === undefined ? this.headers : { ...this.headers, "content-type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(30_000),
          });
        } catch (error) {
          throw new BatonError(`cannot reach the Baton API at ${this.baseUrl}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`, { cause: error });
        }
        if (response.status === 204) return undefined as T;
        const text = await response.text();
        let payload: unknown = undefined;
        try {
          payload = text ? JSON.parse(text) : undefined;
        } catch {
          payload = undefined;
        }
        if (response.ok) return payload as T;
        const error = (payload as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
        const failure = new ApiRequestError(response.status, error?.code ?? "HTTP_ERROR", `${method} ${path}: ${error?.message ?? `HTTP ${response.status}`}`, error?.details);
        if (response.status >= 500 || response.status === 429) throw failure;
        throw new AbortError(failure);
      },
      // An AbortError stops the retries; p-retry rejects with the error it wraps.
      { retries: 1000, minTimeout: 100, maxTimeout: 5000, factor: 2, maxRetryTime: this.maxRetryMs, randomize: true },
    );
  }
}
