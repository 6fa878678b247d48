/**
 * What the dashboard's browser tests share: the real server in its own process over a fresh
 * SQLite home, Debian's Chromium through playwright-core, and small helpers for the API and
 * for reading the page with browser code that stays typed under Node's lib.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { expect } from "vitest";
import { cli, ROOT, startServerProcess, stopProcess, type Proc } from "../support/processes.ts";

export const FLOWS = path.join(ROOT, "test/e2e/fixtures/remote-flows.ts");
export const UI_FLOWS = path.join(ROOT, "test/e2e/fixtures/ui-flows.ts");
export const SHOTS = path.join(ROOT, "docs/screenshots");

export interface Harness {
  url: string;
  env: Record<string, string>;
  dir: string;
  browser: Browser;
  page: Page;
  /** JSON from the API (POST when a body is given); throws on a non-2xx answer. */
  /** A GET, or with a body a POST (or `method`). */
  api<T = unknown>(p: string, body?: unknown, method?: "POST" | "PUT" | "PATCH"): Promise<T>;
  /** Runs a flow of `file` with `baton run` (remote mode) to completion; returns its flow run id. */
  runFlow(flowName: string, args?: string[], file?: string): Promise<string>;
  /** An attribute of every element `selector` matches. */
  attrs(selector: string, name: string): Promise<(string | null)[]>;
  /** The page's current query string. */
  search(): Promise<URLSearchParams>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Start the server with this admin API key required; the CLI and `api` send it, the browser must sign in. */
  adminKey?: string;
  /** With `adminKey`: a worker key the server accepts too (a browser may sign in with it). */
  workerKey?: string;
  /** With `adminKey`: more static keys, `role:secret` (a viewer's, a developer's…). */
  moreKeys?: string[];
  /** More environment for the server and for the CLI's runs (BATON_RESULTS_URL…). */
  env?: Record<string, string>;
}

/**
 * Starts the server, then Chromium. Whatever fails on the way (the server does not come up,
 * Chromium cannot be launched), what was started is stopped and the temp directory removed
 * before the error is thrown: a failed start leaves no server running after the tests.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  if (!fs.existsSync(path.join(ROOT, "dist/ui/index.html"))) throw new Error("the dashboard is not built: run npm run build:ui (npm ci does it)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-ui-"));
  const serverKeys = [options.adminKey && `admin:${options.adminKey}`, options.adminKey && options.workerKey && `worker:${options.workerKey}`, ...(options.adminKey ? (options.moreKeys ?? []) : [])].filter(Boolean).join(",");
  const keys: Record<string, string> = serverKeys ? { BATON_SERVER_API_KEYS: serverKeys } : {};
  let server: Proc | null = null;
  let browser: Browser | null = null;
  const close = async () => {
    try {
      await browser?.close();
    } finally {
      if (server) await stopProcess(server);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const started = await startServerProcess({ BATON_HOME: dir, ...keys, ...options.env });
    server = started.proc;
    const url = started.url;
    const env: Record<string, string> = { BATON_API_URL: `${url}/api`, BATON_HOME: path.join(dir, "client"), BATON_HEARTBEAT_MS: "300", BATON_LOG_LEVEL: "warn", ...options.env };
    if (options.adminKey) env.BATON_API_KEY = options.adminKey;
    browser = await chromium.launch({
      executablePath: process.env.BATON_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: url });
    const page = await context.newPage();
    const headers: Record<string, string> = options.adminKey ? { authorization: `Bearer ${options.adminKey}` } : {};
    const api = async <T = unknown>(p: string, body?: unknown, method = "POST"): Promise<T> => {
      const init = body === undefined ? { headers } : { method, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) };
      const response = await fetch(`${url}/api${p}`, init);
      const text = await response.text();
      if (!response.ok) throw new Error(`${p}: ${response.status} ${text}`);
      return (text ? JSON.parse(text) : null) as T;
    };
    return {
      url,
      env,
      dir,
      browser,
      page,
      api,
      async runFlow(flowName, args = [], file = UI_FLOWS) {
        const done = await cli(["run", file, "--flow", flowName, ...args], env);
        expect(done.code, done.stderr).toBe(0);
        return (await api<{ items: { id: string }[] }>(`/flow-runs?flow=${flowName}&limit=1`)).items[0]!.id;
      },
      attrs: (selector, name) => page.locator(selector).evaluateAll((els: { getAttribute(n: string): string | null }[], n: string) => els.map((e) => e.getAttribute(n)), name),
      search: async () => new URLSearchParams((await page.evaluate("location.search")) as string),
      close,
    };
  } catch (error) {
    // The start's error is the one to report, not a cleanup's.
    await close().catch(() => undefined);
    throw error;
  }
}
