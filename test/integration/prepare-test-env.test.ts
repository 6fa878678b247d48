/**
 * scripts/prepare-test-env.mjs, the first step of `npm test`: on a machine that has what the
 * tests need it only says so; a stopped local PostgreSQL cluster is started, Chromium installed
 * as root with apt-get; anything else stops it with one line saying what to do. Nothing here
 * touches this machine's PostgreSQL or packages: the cluster and apt-get commands are fakes on
 * PATH that record their calls, the stopped server is a proxy in front of the real one that
 * refuses connections, and Chromium's paths are temp files.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { PG_ADMIN_URL } from "../support/databases.ts";
import { startPgProxy, type PgProxy } from "../support/pg-proxy.ts";
import { ROOT, startProcess, until } from "../support/processes.ts";

const SCRIPT = path.join(ROOT, "scripts/prepare-test-env.mjs");

interface Machine {
  env: Record<string, string>;
  isRoot: boolean;
  debianChromium: string;
  debianPython?: string;
  startTimeoutMs?: number;
  say(line: string): void;
}
interface PrepareScript {
  prepareTestEnvironment(machine: Machine): Promise<void>;
  TestEnvironmentError: new (message: string) => Error;
}
// A plain-JavaScript module without types: its shape is declared above and checked by use.
const scriptUrl = pathToFileURL(SCRIPT).href;
const { prepareTestEnvironment, TestEnvironmentError } = (await import(scriptUrl)) as PrepareScript;

const temp = fs.mkdtempSync(path.join(os.tmpdir(), "baton-prepare-"));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

let made = 0;
function tempPath(name: string): string {
  const dir = path.join(temp, String(made++));
  fs.mkdirSync(dir);
  return path.join(dir, name);
}

/** An executable that does nothing: a browser as far as the script can tell. */
function fakeBrowser(): string {
  const file = tempPath("chromium");
  fs.writeFileSync(file, "#!/bin/sh\n", { mode: 0o755 });
  return file;
}

/** A Python that imports prometheus_client (or not) as far as the script can tell. */
function fakePython(hasModule: boolean): string {
  const file = tempPath("python3");
  fs.writeFileSync(file, `#!/bin/sh\nexit ${hasModule ? 0 : 1}\n`, { mode: 0o755 });
  return file;
}

/**
 * A directory of fake commands (shell scripts), the whole of PATH for the script under test, so
 * it can never reach the real apt-get or pg_ctlcluster. Each logs its name, arguments and
 * DEBIAN_FRONTEND, then runs its body.
 */
function fakeCommands(bodies: Record<string, string>): { PATH: string; calls(): string[] } {
  const dir = path.dirname(tempPath("bin"));
  const log = path.join(dir, "calls.log");
  for (const [name, body] of Object.entries(bodies))
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name} $* \${DEBIAN_FRONTEND:-}" >> "${log}"\n${body}\n`, { mode: 0o755 });
  return { PATH: dir, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").map((call) => call.trimEnd()) : []) };
}

/** Runs the script's function on a machine made of `machine`; what it said and what it threw. */
async function prepare(machine: Partial<Machine> & { env: Record<string, string> }): Promise<{ said: string[]; error: Error | null }> {
  const said: string[] = [];
  try {
    await prepareTestEnvironment({ isRoot: false, debianChromium: tempPath("chromium"), debianPython: fakePython(true), say: (line) => said.push(line), ...machine });
    return { said, error: null };
  } catch (error) {
    return { said, error: error as Error };
  }
}

/** `text` matched literally inside a RegExp (URLs and paths hold dots). */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The one-line refusal the script stops with. */
function refusal(error: Error | null): string {
  expect(error).toBeInstanceOf(TestEnvironmentError);
  expect(error!.message).not.toContain("\n");
  return error!.message;
}

const noTools = () => fakeCommands({});

describe("preparing the test environment: PostgreSQL", () => {
  let proxy: PgProxy | null = null;
  afterEach(async () => {
    await proxy?.close();
    proxy = null;
  });

  /** A server on a local port that refuses connections until `accept()`: a stopped cluster. */
  async function stoppedServer(): Promise<{ url: string; port: string }> {
    proxy = await startPgProxy(PG_ADMIN_URL);
    await proxy.refuse();
    return { url: proxy.url, port: new URL(proxy.url).port };
  }

  it("only says so when PostgreSQL answers", async () => {
    const tools = fakeCommands({ pg_lsclusters: "", pg_ctlcluster: "" });
    const { said, error } = await prepare({ env: { PATH: tools.PATH, BATON_TEST_PG_URL: PG_ADMIN_URL, BATON_CHROMIUM: fakeBrowser() } });
    expect(error).toBeNull();
    expect(said[0]).toBe(`PostgreSQL answers at ${PG_ADMIN_URL}`);
    expect(tools.calls()).toEqual([]);
  });

  it("starts the stopped local cluster on the URL's port and waits until it answers", async () => {
    const { url, port } = await stoppedServer();
    const tools = fakeCommands({
      pg_lsclusters: `echo "14  old     5499 down   postgres /var/lib/postgresql/14/old  /var/log/postgresql/postgresql-14-old.log"
echo "15  main    ${port} down   postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log"`,
      pg_ctlcluster: "",
    });
    const done = prepare({ env: { PATH: tools.PATH, BATON_TEST_PG_URL: url, BATON_CHROMIUM: fakeBrowser() } });
    // The "cluster" comes up a moment after pg_ctlcluster was run.
    await until(() => tools.calls().some((call) => call.startsWith("pg_ctlcluster")), "pg_ctlcluster to be run");
    await proxy!.accept();
    const { said, error } = await done;
    expect(error).toBeNull();
    expect(tools.calls()).toEqual(["pg_lsclusters --no-header", "pg_ctlcluster --skip-systemctl-redirect 15 main start"]);
    expect(said.slice(0, 2)).toEqual([`PostgreSQL does not answer at ${url}; starting cluster 15/main`, `PostgreSQL cluster 15/main started; it answers at ${url}`]);
  });

  it("stops with one line when a started cluster does not answer in time", async () => {
    const { url, port } = await stoppedServer();
    const tools = fakeCommands({ pg_lsclusters: `echo "15 main ${port} down postgres /d /l"`, pg_ctlcluster: "" });
    const { error } = await prepare({ env: { PATH: tools.PATH, BATON_TEST_PG_URL: url, BATON_CHROMIUM: fakeBrowser() }, startTimeoutMs: 600 });
    expect(refusal(error)).toMatch(new RegExp(`^started PostgreSQL cluster 15/main, but ${literal(url)} did not answer within 1 s \\(connect ECONNREFUSED .*\\): see its log, or set BATON_TEST_PG_URL`));
  });

  it("stops with one line, pg_ctlcluster's complaint in it, when the cluster cannot be started", async () => {
    const { url, port } = await stoppedServer();
    const tools = fakeCommands({
      pg_lsclusters: `echo "15 main ${port} down postgres /d /l"`,
      pg_ctlcluster: `echo "Error: You must run this program as the cluster owner (postgres) or root" >&2\necho "(second line)" >&2\nexit 1`,
    });
    const { error } = await prepare({ env: { PATH: tools.PATH, BATON_TEST_PG_URL: url, BATON_CHROMIUM: fakeBrowser() } });
    expect(refusal(error)).toBe(
      "could not start PostgreSQL cluster 15/main (pg_ctlcluster: Error: You must run this program as the cluster owner (postgres) or root … (second line)): start it yourself, or set BATON_TEST_PG_URL to a server where the tests may create databases",
    );
  });

  it("stops with one line saying what to install when no local cluster is installed", async () => {
    const { url } = await stoppedServer();
    const { error } = await prepare({ env: { PATH: noTools().PATH, BATON_TEST_PG_URL: url, BATON_CHROMIUM: fakeBrowser() } });
    expect(refusal(error)).toMatch(
      new RegExp(`^PostgreSQL does not answer at ${literal(url)} \\(connect ECONNREFUSED [^)]*\\): install and start it .*apt-get install postgresql.*, or set BATON_TEST_PG_URL to a server`),
    );
  });

  it("does not start a cluster on another port, nor one that runs and does not answer", async () => {
    const { url, port } = await stoppedServer();
    const elsewhere = fakeCommands({ pg_lsclusters: `echo "15 main 5499 down postgres /d /l"`, pg_ctlcluster: "" });
    const other = await prepare({ env: { PATH: elsewhere.PATH, BATON_TEST_PG_URL: url, BATON_CHROMIUM: fakeBrowser() } });
    expect(refusal(other.error)).toMatch(new RegExp(`and no local cluster uses port ${port} \\(pg_lsclusters\\)`));
    expect(elsewhere.calls()).toEqual(["pg_lsclusters --no-header"]);

    const online = fakeCommands({ pg_lsclusters: `echo "15 main ${port} online postgres /d /l"`, pg_ctlcluster: "" });
    const running = await prepare({ env: { PATH: online.PATH, BATON_TEST_PG_URL: url, BATON_CHROMIUM: fakeBrowser() } });
    expect(refusal(running.error)).toMatch(new RegExp(`^cluster 15/main on port ${port} is online but does not answer at ${literal(url)} .*listen_addresses`));
    expect(online.calls()).toEqual(["pg_lsclusters --no-header"]);
  });

  it("stops with one line when the server answers but refuses the tests, without starting anything", async () => {
    const url = new URL(PG_ADMIN_URL);
    url.pathname = "/baton_no_such_database";
    const tools = fakeCommands({ pg_lsclusters: "echo should not be asked", pg_ctlcluster: "" });
    const { error } = await prepare({ env: { PATH: tools.PATH, BATON_TEST_PG_URL: url.href, BATON_CHROMIUM: fakeBrowser() } });
    expect(refusal(error)).toMatch(new RegExp(`^PostgreSQL at ${literal(url.href)} answered but refused the tests' connection \\(database "baton_no_such_database" does not exist\\)`));
    expect(tools.calls()).toEqual([]);
  });
});

describe("preparing the test environment: Chromium", () => {
  const installs = (browser: string, install = `printf '#!/bin/sh\\n' > "${browser}"; /bin/chmod 755 "${browser}"`) =>
    fakeCommands({ "apt-get": `if [ "$1" = install ]; then ${install}; fi` });

  it("uses BATON_CHROMIUM, and stops with one line when it is missing, installing nothing", async () => {
    const browser = fakeBrowser();
    const found = await prepare({ env: { PATH: noTools().PATH, BATON_TEST_PG_URL: PG_ADMIN_URL, BATON_CHROMIUM: browser } });
    expect(found.error).toBeNull();
    expect(found.said[1]).toBe(`Chromium at ${browser} (BATON_CHROMIUM)`);

    const debian = tempPath("chromium");
    const apt = installs(debian);
    const missing = tempPath("chrome");
    const { error } = await prepare({ env: { PATH: apt.PATH, BATON_TEST_PG_URL: PG_ADMIN_URL, BATON_CHROMIUM: missing }, isRoot: true, debianChromium: debian });
    expect(refusal(error)).toBe(`BATON_CHROMIUM is ${missing}, which is not an executable file: point it at a Chromium or Chrome binary, or unset it to use ${debian}`);
    expect(apt.calls()).toEqual([]);
  });

  it("uses Debian's Chromium when it is installed", async () => {
    const debian = fakeBrowser();
    const apt = installs(debian);
    const { said, error } = await prepare({ env: { PATH: apt.PATH, BATON_TEST_PG_URL: PG_ADMIN_URL }, isRoot: true, debianChromium: debian });
    expect(error).toBeNull();
    expect(said[1]).toBe(`Chromium at ${debian}`);
    expect(apt.calls()).toEqual([]);
  });

  it("installs Debian's chromium with apt-get as root", async () => {
    const debian = tempPath("chromium");
    const apt = installs(debian);
    const { said, error } = await prepare({ env: { PATH: apt.PATH, BATON_TEST_PG_URL: PG_ADMIN_URL }, isRoot: true, debianChromium: debian });
    expect(error).toBeNull();
    expect(apt.calls()).toEqual(["apt-get update -qq noninteractive", "apt-get install -y -qq chromium noninteractive"]);
    expect(said.slice(1)).toEqual([`Chromium is not installed at ${debian}; installing Debian's chromium package (apt-get, a minute or two)`, `Chromium installed at ${debian}`]);
  });

  it("stops with one line saying what to install when not root, or without apt-get", async () => {
    const expected = (debian: string) =>
      `Chromium is not installed at ${debian} (the dashboard's browser tests drive it): install it (Debian/Ubuntu: sudo apt-get install chromium), or set BATON_CHROMIUM to a Chromium or Chrome binary`;
    const debian = tempPath("chromium");
    const apt = installs(debian);
    const user = await prepare({ env: { PATH: apt.PATH, BATON_TEST_PG_URL: PG_ADMIN_URL }, isRoot: false, debianChromium: debian });
    expect(refusal(user.error)).toBe(expected(debian));
    expect(apt.calls()).toEqual([]);

    const noApt = await prepare({ env: { PATH: noTools().PATH, BATON_TEST_PG_URL: PG_ADMIN_URL }, isRoot: true, debianChromium: debian });
    expect(refusal(noApt.error)).toBe(expected(debian));
  });

  it("stops with one line, apt-get's complaint in it, when the install fails", async () => {
    const debian = tempPath("chromium");
    const apt = installs(debian, `echo "E: Unable to locate package chromium" >&2; exit 100`);
    const { error } = await prepare({ env: { PATH: apt.PATH, BATON_TEST_PG_URL: PG_ADMIN_URL }, isRoot: true, debianChromium: debian });
    expect(refusal(error)).toBe(
      "installing chromium failed (apt-get: E: Unable to locate package chromium): install it yourself, or set BATON_CHROMIUM to a Chromium or Chrome binary",
    );
  });
});

describe("preparing the test environment: Python's prometheus_client", () => {
  /** A Python that imports the module once apt-get's install of python3-prometheus-client ran. */
  const machine = () => {
    const marker = tempPath("installed");
    const python = tempPath("python3");
    fs.writeFileSync(python, `#!/bin/sh\ntest -e "${marker}"\n`, { mode: 0o755 });
    const apt = fakeCommands({ "apt-get": `case "$*" in *python3-prometheus-client*) : > "${marker}";; esac` });
    return { python, apt, browser: fakeBrowser() };
  };

  it("installs Debian's python3-prometheus-client with apt-get as root, and is quiet when it is there", async () => {
    const { python, apt, browser } = machine();
    const { said, error } = await prepare({ env: { PATH: apt.PATH, BATON_TEST_PG_URL: PG_ADMIN_URL }, isRoot: true, debianChromium: browser, debianPython: python });
    expect(error).toBeNull();
    expect(apt.calls()).toEqual(["apt-get update -qq noninteractive", "apt-get install -y -qq python3-prometheus-client noninteractive"]);
    expect(said.slice(2)).toEqual([`${python} cannot import prometheus_client; installing Debian's python3-prometheus-client package (apt-get)`, `prometheus_client installed for ${python}`]);
    const again = await prepare({ env: { PATH: apt.PATH, BATON_TEST_PG_URL: PG_ADMIN_URL }, isRoot: true, debianChromium: browser, debianPython: python });
    expect(again.said.slice(2)).toEqual([]);
    expect(apt.calls()).toHaveLength(2);
  });

  it("stops with one line saying what to install when not root", async () => {
    const { python, apt, browser } = machine();
    const { error } = await prepare({ env: { PATH: apt.PATH, BATON_TEST_PG_URL: PG_ADMIN_URL }, isRoot: false, debianChromium: browser, debianPython: python });
    expect(refusal(error)).toBe(`${python} cannot import prometheus_client (the metrics tests parse /metrics with it): install it (Debian/Ubuntu: sudo apt-get install python3-prometheus-client)`);
    expect(apt.calls()).toEqual([]);
  });
});

describe("scripts/prepare-test-env.mjs as npm test runs it", () => {
  it("exits 0 having said what it found", async () => {
    const apt = fakeCommands({ "apt-get": "" });
    const browser = fakeBrowser();
    const proc = startProcess([SCRIPT], { PATH: apt.PATH, BATON_TEST_PG_URL: PG_ADMIN_URL, BATON_CHROMIUM: browser });
    expect(await proc.exit, proc.stderr()).toBe(0);
    expect(proc.stdout()).toBe(`prepare-test-env: PostgreSQL answers at ${PG_ADMIN_URL}\nprepare-test-env: Chromium at ${browser} (BATON_CHROMIUM)\n`);
    expect(proc.stderr()).toBe("");
    expect(apt.calls()).toEqual([]);
  });

  it("exits 1 with one line on stderr when something is missing", async () => {
    const missing = tempPath("chromium");
    const proc = startProcess([SCRIPT], { PATH: noTools().PATH, BATON_TEST_PG_URL: PG_ADMIN_URL, BATON_CHROMIUM: missing });
    expect(await proc.exit).toBe(1);
    expect(proc.stderr()).toMatch(new RegExp(`^prepare-test-env: BATON_CHROMIUM is ${literal(missing)}, which is not an executable file: [^\\n]*\\n$`));
  });
});
