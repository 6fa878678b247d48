/**
 * Hosts for multi-machine tests, made on this machine with Linux network namespaces: each host
 * is a namespace with its own loopback and one veth link to a bridge on the root namespace
 * ("the hub": the machine the test runs on, with the database and the servers). A process in a
 * host reaches the hub only at the bridge's address, over its link — not through 127.0.0.1 —
 * and `cut()` takes that link down (packets are dropped, connections hang, as when a cable is
 * pulled) and back up.
 *
 * Needs root and iproute2 (`ip`); `netnsUnavailable()` says why not, for a visible skip.
 */
import { execFile, execFileSync } from "node:child_process";
import { BIN, startProcess, type Proc } from "./processes.ts";

export interface Host {
  /** The namespace's name (`ip netns exec NAME …`). */
  name: string;
  /** This host's address on the hub's network. */
  address: string;
  /** Starts `node ARGV` inside the host. */
  start(argv: string[], env: Record<string, string>): Proc;
  /** Starts `baton ARGS` inside the host. */
  baton(args: string[], env: Record<string, string>): Proc;
  /** Takes the host's link down for `ms`, then up again (resolves when it is back up). */
  cut(ms: number): Promise<void>;
  /** SIGKILLs every process running in the host, as when the machine dies; how many there were. */
  kill(): Promise<number>;
}

export interface Network {
  /** The hub's address on the hosts' network: listen there for servers the hosts must reach. */
  hub: string;
  hosts: Host[];
  /** Kills what still runs in the hosts and removes the namespaces, links and bridge. */
  destroy(): Promise<void>;
}

/** Why this machine cannot make namespaces, or null when it can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== "linux") return "network namespaces are Linux's";
  if (process.getuid?.() !== 0) return "making network namespaces needs root";
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    return null;
  } catch {
    return "iproute2's `ip` is missing or cannot list network namespaces";
  }
}

const ip = (...args: string[]) =>
  new Promise<void>((resolve, reject) =>
    execFile("ip", args, (error, _stdout, stderr) => (error ? reject(new Error(`ip ${args.join(" ")}: ${stderr.trim() || error.message}`)) : resolve())),
  );
const ipQuiet = (...args: string[]) => ip(...args).catch(() => undefined);

let made = 0;

/** Makes `count` hosts on a fresh /24 behind a new bridge. Interface names stay within Linux's 15 characters. */
export async function makeNetwork(count: number): Promise<Network> {
  const tag = `${process.pid % 100_000}${made++}`.slice(-6);
  const subnet = `10.${200 + (process.pid % 50)}.${(made * 7 + (process.pid % 200)) % 250}`;
  const bridge = `btb${tag}`;
  const hub = `${subnet}.1`;
  const names: string[] = [];
  const links: string[] = [];
  try {
    await ip("link", "add", bridge, "type", "bridge");
    await ip("addr", "add", `${hub}/24`, "dev", bridge);
    await ip("link", "set", bridge, "up");
    const hosts: Host[] = [];
    for (let i = 0; i < count; i++) {
      const name = `bth${tag}-${i}`;
      const link = `btv${tag}${i}`;
      const address = `${subnet}.${i + 2}`;
      await ipQuiet("netns", "del", name); // a crashed earlier run's leftover of the same name
      await ip("netns", "add", name);
      names.push(name);
      await ip("-n", name, "link", "set", "lo", "up");
      await ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", name);
      links.push(link);
      await ip("link", "set", link, "master", bridge);
      await ip("link", "set", link, "up");
      await ip("-n", name, "addr", "add", `${address}/24`, "dev", "eth0");
      await ip("-n", name, "link", "set", "eth0", "up");
      const start = (argv: string[], env: Record<string, string>) => startProcess(argv, env, undefined, ["ip", "netns", "exec", name]);
      hosts.push({
        name,
        address,
        start,
        baton: (args, env) => start([BIN, ...args], env),
        async cut(ms) {
          await ip("link", "set", link, "down");
          await new Promise((r) => setTimeout(r, ms));
          await ip("link", "set", link, "up");
        },
        kill: () => killAll(name),
      });
    }
    return { hub, hosts, destroy: () => destroy(names, bridge) };
  } catch (error) {
    await destroy(names, bridge);
    throw error;
  }
}

/** SIGKILLs the processes running in namespace `name`; how many. */
async function killAll(name: string): Promise<number> {
  const pids = await new Promise<string>((resolve) => execFile("ip", ["netns", "pids", name], (_e, stdout) => resolve(stdout ?? "")));
  let killed = 0;
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
      killed += 1;
    } catch {
      // already gone
    }
  }
  return killed;
}

async function destroy(names: string[], bridge: string): Promise<void> {
  for (const name of names) {
    // Processes left in the namespace (a failed test's) would keep it alive.
    await killAll(name);
    await ipQuiet("netns", "del", name); // removes its end of the veth pair, and with it ours
  }
  await ipQuiet("link", "del", bridge);
}
