#!/usr/bin/env node
// The first step of `npm test`: makes sure this machine has what the tests need, so that the
// README's two commands work on a fresh machine, and says in one line what is missing when they
// cannot — instead of 16 minutes of tests each failing on its own.
//
//  - PostgreSQL answering at BATON_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres):
//    the store tests create a database per test there. An installed local cluster that is down
//    (Debian's postgresql-common: pg_lsclusters, pg_ctlcluster) is started.
//  - Chromium at BATON_CHROMIUM, or Debian's /usr/bin/chromium: the dashboard's browser tests
//    drive it (playwright-core does not download browsers). As root where apt-get exists, the
//    chromium package is installed; anywhere else installing needs the user's say.
//  - Python's prometheus_client for Debian's /usr/bin/python3 (package python3-prometheus-client):
//    the metrics tests parse /metrics with the official text-format parser. Installed the same way.
//
// Plain JavaScript, as bin/baton.js: it runs before anything is compiled, and starts in a tenth
// of the time tsx takes. Exit 0 when all is ready; 1 with one line on stderr when not.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres";
/** Where Debian's (and Ubuntu's) chromium package puts the browser. */
export const DEBIAN_CHROMIUM = "/usr/bin/chromium";
/** The Python that Debian's python3-* packages install modules for. */
export const DEBIAN_PYTHON = "/usr/bin/python3";

/** What the tests need and this machine does not have, with what to do about it (one line). */
export class TestEnvironmentError extends Error {
  name = "TestEnvironmentError";
}

/**
 * Checks, and where it can, prepares PostgreSQL and then Chromium; throws a
 * `TestEnvironmentError` at the first thing it cannot fix. `machine` replaces what the script
 * otherwise reads from this process (tests give it fake commands on `env.PATH`, a non-root
 * user, a Chromium path of their own).
 */
export async function prepareTestEnvironment(machine = {}) {
  const env = machine.env ?? process.env;
  const ready = {
    env,
    isRoot: machine.isRoot ?? process.getuid?.() === 0,
    debianChromium: machine.debianChromium ?? DEBIAN_CHROMIUM,
    debianPython: machine.debianPython ?? DEBIAN_PYTHON,
    startTimeoutMs: machine.startTimeoutMs ?? 30_000,
    say: machine.say ?? ((line) => console.log(`prepare-test-env: ${line}`)),
  };
  await preparePostgres(ready);
  await prepareChromium(ready);
  await preparePrometheusParser(ready);
}

/** Quiet when the module is there (it always is after the first run). */
async function preparePrometheusParser({ env, isRoot, debianPython, say }) {
  const has = () => run(debianPython, ["-c", "import prometheus_client"], env).then(() => true, () => false);
  if (await has()) return;
  const aptGet = findCommand("apt-get", env);
  if (!isRoot || !aptGet)
    throw new TestEnvironmentError(
      `${debianPython} cannot import prometheus_client (the metrics tests parse /metrics with it): install it (Debian/Ubuntu: sudo apt-get install python3-prometheus-client)`,
    );
  say(`${debianPython} cannot import prometheus_client; installing Debian's python3-prometheus-client package (apt-get)`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    await run(aptGet, ["update", "-qq"], aptEnv);
    await run(aptGet, ["install", "-y", "-qq", "python3-prometheus-client"], aptEnv);
  } catch (error) {
    throw new TestEnvironmentError(`installing python3-prometheus-client failed (apt-get: ${oneLine(error.message)}): install it yourself`);
  }
  if (!(await has())) throw new TestEnvironmentError(`apt-get installed python3-prometheus-client, but ${debianPython} still cannot import prometheus_client`);
  say(`prometheus_client installed for ${debianPython}`);
}

async function preparePostgres({ env, startTimeoutMs, say }) {
  const url = env.BATON_TEST_PG_URL || DEFAULT_PG_URL;
  const shown = redactPassword(url);
  const pointElsewhere = "or set BATON_TEST_PG_URL to a server where the tests may create databases";
  const first = await connectError(url);
  if (first === null) return say(`PostgreSQL answers at ${shown}`);
  if (!unreachable(first))
    throw new TestEnvironmentError(
      `PostgreSQL at ${shown} answered but refused the tests' connection (${first.message}): the tests connect as this URL says and create databases; fix the server's users or pg_hba.conf, ${pointElsewhere}`,
    );

  const host = new URL(url).hostname;
  const port = new URL(url).port || "5432";
  const local = host === "" || host === "localhost" || host === "[::1]" || /^127\./.test(host);
  const lsclusters = local ? findCommand("pg_lsclusters", env) : null;
  const ctlcluster = local ? findCommand("pg_ctlcluster", env) : null;
  if (!lsclusters || !ctlcluster)
    throw new TestEnvironmentError(
      `PostgreSQL does not answer at ${shown} (${first.message}): install and start it with trust authentication for local connections (Debian/Ubuntu: apt-get install postgresql), ${pointElsewhere}`,
    );
  // Ver Cluster Port Status Owner Data-directory Log-file, e.g. "15 main 5432 down postgres …".
  const listing = await run(lsclusters, ["--no-header"], env);
  const cluster = listing
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[2] === port);
  if (!cluster)
    throw new TestEnvironmentError(
      `PostgreSQL does not answer at ${shown} (${first.message}) and no local cluster uses port ${port} (pg_lsclusters): create one (pg_createcluster) or start the server that should, ${pointElsewhere}`,
    );
  const [version, name, , status] = cluster;
  if (status !== "down")
    throw new TestEnvironmentError(
      `cluster ${version}/${name} on port ${port} is ${status} but does not answer at ${shown} (${first.message}): check its listen_addresses and pg_hba.conf, ${pointElsewhere}`,
    );

  say(`PostgreSQL does not answer at ${shown}; starting cluster ${version}/${name}`);
  // Without systemd (containers, CI) pg_ctlcluster must not hand the start over to systemctl.
  await run(ctlcluster, ["--skip-systemctl-redirect", version, name, "start"], env).catch((error) => {
    throw new TestEnvironmentError(`could not start PostgreSQL cluster ${version}/${name} (pg_ctlcluster: ${oneLine(error.message)}): start it yourself, ${pointElsewhere}`);
  });
  const deadline = Date.now() + startTimeoutMs;
  let last = first;
  while (Date.now() < deadline) {
    last = await connectError(url);
    if (last === null) return say(`PostgreSQL cluster ${version}/${name} started; it answers at ${shown}`);
    if (!unreachable(last)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new TestEnvironmentError(
    `started PostgreSQL cluster ${version}/${name}, but ${shown} did not answer within ${Math.round(startTimeoutMs / 1000)} s (${last.message}): see its log, ${pointElsewhere}`,
  );
}

async function prepareChromium({ env, isRoot, debianChromium, say }) {
  const chosen = env.BATON_CHROMIUM;
  if (chosen) {
    if (isExecutable(chosen)) return say(`Chromium at ${chosen} (BATON_CHROMIUM)`);
    // Installing Debian's package would not put a browser there.
    throw new TestEnvironmentError(`BATON_CHROMIUM is ${chosen}, which is not an executable file: point it at a Chromium or Chrome binary, or unset it to use ${debianChromium}`);
  }
  if (isExecutable(debianChromium)) return say(`Chromium at ${debianChromium}`);
  const aptGet = findCommand("apt-get", env);
  if (!isRoot || !aptGet)
    throw new TestEnvironmentError(
      `Chromium is not installed at ${debianChromium} (the dashboard's browser tests drive it): install it (Debian/Ubuntu: sudo apt-get install chromium), or set BATON_CHROMIUM to a Chromium or Chrome binary`,
    );
  say(`Chromium is not installed at ${debianChromium}; installing Debian's chromium package (apt-get, a minute or two)`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    await run(aptGet, ["update", "-qq"], aptEnv);
    await run(aptGet, ["install", "-y", "-qq", "chromium"], aptEnv);
  } catch (error) {
    throw new TestEnvironmentError(`installing chromium failed (apt-get: ${oneLine(error.message)}): install it yourself, or set BATON_CHROMIUM to a Chromium or Chrome binary`);
  }
  if (!isExecutable(debianChromium))
    throw new TestEnvironmentError(`apt-get installed chromium, but ${debianChromium} is still missing: set BATON_CHROMIUM to where the browser is`);
  say(`Chromium installed at ${debianChromium}`);
}

/** null when `select 1` runs at `url`, else the error (the driver's, or the server's). */
async function connectError(url) {
  let pg;
  try {
    pg = (await import("pg")).default;
  } catch {
    throw new TestEnvironmentError("the pg package is not installed: run npm ci first");
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  // A server going away mid-check (a restart) errors on the client object, not on a promise.
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("select 1");
    return null;
  } catch (error) {
    if (!(error instanceof Error)) return new Error(String(error));
    // Every address of a host refusing is an AggregateError, whose own message is empty.
    if (!error.message && Array.isArray(error.errors)) error.message = error.errors.map((each) => each.message).join("; ");
    return error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Nobody answered (refused, timed out, no such host), or the server is starting or stopping
 * (SQLSTATE 57P03, 57P01): waiting or starting a cluster may help. An error the server sent
 * (bad password, no such database) will not go away by waiting.
 */
function unreachable(error) {
  return error.severity === undefined || error.code === "57P03" || error.code === "57P01";
}

function redactPassword(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.href;
  } catch {
    throw new TestEnvironmentError(`BATON_TEST_PG_URL is not a URL: set it like ${DEFAULT_PG_URL}`);
  }
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of `command` on env.PATH, or null. */
function findCommand(command, env) {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    const file = path.join(dir, command);
    if (dir && isExecutable(file)) return file;
  }
  return null;
}

/** Runs a command to its end: its stdout, or an error saying what it wrote on stderr. */
function run(file, args, env) {
  return new Promise((resolve, reject) =>
    execFile(file, args, { env, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(stderr.trim() || error.message)) : resolve(stdout),
    ),
  );
}

/** A command's (multi-line) complaint on one line: its first and last lines, which name what went wrong. */
function oneLine(message) {
  const lines = message.split("\n").map((line) => line.trim()).filter(Boolean);
  return lines.length <= 1 ? (lines[0] ?? "") : `${lines[0]} … ${lines[lines.length - 1]}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    await prepareTestEnvironment();
  } catch (error) {
    if (!(error instanceof TestEnvironmentError)) throw error;
    console.error(`prepare-test-env: ${error.message}`);
    process.exitCode = 1;
  }
}
