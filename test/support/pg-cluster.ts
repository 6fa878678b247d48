/**
 * A private PostgreSQL cluster for chaos tests: its own data directory (in a temp dir) and port,
 * so a test may kill and restart it with `pg_ctl -m immediate` — never the shared server on 5432.
 * initdb refuses to run as root: as root (CI containers) the cluster's files belong to the
 * `postgres` user and initdb and pg_ctl run as that user (spawn's uid/gid).
 */
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface PrivateCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication). */
  url: string;
  /** `pg_ctl -m immediate restart`: every backend killed at once, then crash recovery. */
  restart(): Promise<void>;
  /** `pg_ctl -m immediate stop`: connections are refused until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** A new database on the cluster; its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and deletes its files. */
  destroy(): Promise<void>;
}

/** The directory with initdb and pg_ctl: the newest /usr/lib/postgresql/N/bin, else PATH. */
function binDir(): string | null {
  const versions = fs.existsSync("/usr/lib/postgresql") ? fs.readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a)) : [];
  const candidates = [...versions.map((v) => path.join("/usr/lib/postgresql", v, "bin")), ...(process.env.PATH ?? "").split(path.delimiter)];
  return candidates.find((dir) => fs.existsSync(path.join(dir, "initdb")) && fs.existsSync(path.join(dir, "pg_ctl"))) ?? null;
}

/** Why no private cluster can be made on this machine, or null when one can. */
export function privateClusterUnavailable(): string | null {
  return binDir() ? null : "PostgreSQL's initdb and pg_ctl were not found (looked in /usr/lib/postgresql/*/bin and PATH)";
}

/** As root: the postgres user's ids, which initdb requires; otherwise run as ourselves. */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    throw new Error("running as root, and there is no postgres user to run initdb as (initdb refuses root)");
  }
}

/** A port free on `host` now (the OS's pick). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startPrivateCluster(): Promise<PrivateCluster> {
  const bin = binDir();
  if (!bin) throw new Error(privateClusterUnavailable()!);
  const user = runAs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-pg-"));
  if (user) fs.chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, "data");
  const port = await freePort();
  const serverLog = () => {
    const file = path.join(dir, "server.log");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").slice(-15).join("\n") : "(none)";
  };
  const run = (command: string, args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile(path.join(bin, command), args, { cwd: dir, env: { ...process.env, LC_ALL: "C" }, ...(user ?? {}) }, (error, _stdout, stderr) =>
        error ? reject(new Error(`${command} ${args.join(" ")} failed: ${stderr || error.message}\nserver log:\n${serverLog()}`)) : resolve(),
      ),
    );
  // fsync=off: the tests kill the server, never the machine, so the OS keeps every write.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const pgCtl = (...args: string[]) => run("pg_ctl", ["-D", data, "-l", path.join(dir, "server.log"), "-w", "-t", "60", ...args]);
  await run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  await pgCtl("-o", options, "start");
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    restart: () => pgCtl("-m", "immediate", "-o", options, "restart"),
    stop: () => pgCtl("-m", "immediate", "stop"),
    start: () => pgCtl("-o", options, "start"),
    async createDatabase(name) {
      const admin = new pg.Client(url);
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      return url.replace(/\/postgres$/, `/${name}`);
    },
    async destroy() {
      await pgCtl("-m", "immediate", "stop").catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
