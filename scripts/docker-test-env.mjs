#!/usr/bin/env node
// A step of `npm test` after prepare-test-env: makes sure a Docker daemon answers and holds the
// image the Docker work-pool tests run their flow runs in (`baton-test-node:local`), and says so
// in one line. No registry is reachable from the test machines, so the image is built here: a
// `docker import` of a tarball with this machine's `node` binary and the shared libraries it
// loads; the tests mount the project (and the real node_modules) into each container read-only.
//
//  - no daemon answering: as root, Debian's docker.io is installed when dockerd is missing and
//    `dockerd --iptables=false --ip-forward=false` is started in the background (its log in a
//    temp file). Not root: the Docker tests skip, saying why (exit 0: nothing here is required).
//  - the image missing: built as above.
//
// Plain JavaScript, as prepare-test-env.mjs: it runs before anything is compiled. The tests import
// `prepareDockerTestEnvironment` too, so a single test file run alone gets the same daemon.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const TEST_IMAGE = "baton-test-node:local";
const SOCKET = "/var/run/docker.sock";

function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { maxBuffer: 64 * 1024 * 1024, ...options }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(" ")}: ${(stderr || error.message).trim()}`)) : resolve(stdout),
    );
    if (options.input !== undefined) child.stdin.end(options.input);
  });
}

function findCommand(name) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).concat(["/usr/sbin", "/sbin", "/usr/bin"])) {
    const file = path.join(dir, name);
    if (dir && fs.existsSync(file)) return file;
  }
  return null;
}

async function daemonAnswers() {
  if (!findCommand("docker")) return false;
  try {
    await run("docker", ["version", "--format", "{{.Server.Version}}"], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * `{ ready: true, image, note }` when the daemon answers and holds the test image (started and
 * built here when needed), `{ ready: false, reason }` when this machine cannot have one.
 */
export async function prepareDockerTestEnvironment() {
  const isRoot = process.getuid?.() === 0;
  let note = "";
  if (!(await daemonAnswers())) {
    if (!isRoot) return { ready: false, reason: `no Docker daemon answers at ${SOCKET} and only root may start one (run the tests as root, or start dockerd)` };
    if (!findCommand("dockerd")) {
      if (!findCommand("apt-get")) return { ready: false, reason: "dockerd is not installed and there is no apt-get to install Debian's docker.io" };
      await run("apt-get", ["install", "-y", "-qq", "docker.io"], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: 600_000 }).catch(async () => {
        await run("apt-get", ["update", "-qq"], { timeout: 600_000 });
        await run("apt-get", ["install", "-y", "-qq", "docker.io"], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: 600_000 });
      });
      note += "installed docker.io; ";
    }
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "baton-dockerd-")), "dockerd.log");
    const out = fs.openSync(log, "a");
    // No iptables: the tests' containers use the host's network, and the machine's rules stay as they are.
    const daemon = spawn(findCommand("dockerd"), ["--iptables=false", "--ip-forward=false"], { detached: true, stdio: ["ignore", out, out] });
    daemon.unref();
    const deadline = Date.now() + 60_000;
    while (!(await daemonAnswers())) {
      if (Date.now() > deadline) return { ready: false, reason: `dockerd did not answer within 60 s; its log: ${log}` };
      await new Promise((r) => setTimeout(r, 300));
    }
    note += `started dockerd (log ${log}); `;
  }
  const images = await run("docker", ["images", "-q", TEST_IMAGE]);
  if (!images.trim()) {
    await buildTestImage();
    note += `built ${TEST_IMAGE}; `;
  }
  return { ready: true, image: TEST_IMAGE, note };
}

/** The image: this machine's node at /usr/local/bin/node, the libraries `ldd` names at their paths, and an empty /tmp. */
async function buildTestImage() {
  const node = fs.realpathSync(process.execPath);
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), "baton-test-image-"));
  try {
    const put = (from, to) => {
      fs.mkdirSync(path.join(stage, path.dirname(to)), { recursive: true });
      fs.copyFileSync(fs.realpathSync(from), path.join(stage, to));
    };
    put(node, "/usr/local/bin/node");
    const ldd = await run("ldd", [node]);
    for (const line of ldd.split("\n")) {
      // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
      const file = line.match(/=>\s*(\/\S+)/)?.[1] ?? line.trim().match(/^(\/\S+)/)?.[1];
      if (file) put(file, file);
    }
    fs.mkdirSync(path.join(stage, "tmp"), { mode: 0o1777 });
    fs.chmodSync(path.join(stage, "tmp"), 0o1777);
    fs.mkdirSync(path.join(stage, "etc"));
    fs.writeFileSync(path.join(stage, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    fs.writeFileSync(path.join(stage, "etc/hosts"), "127.0.0.1 localhost\n");
    const tar = path.join(stage, "..", `${path.basename(stage)}.tar`);
    await run("tar", ["-C", stage, "-cf", tar, "."]);
    try {
      await run("docker", ["import", "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin", "--change", "ENV HOME=/tmp", tar, TEST_IMAGE]);
    } finally {
      fs.rmSync(tar, { force: true });
    }
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    const env = await prepareDockerTestEnvironment();
    console.log(env.ready ? `docker-test-env: ${env.note}the daemon answers and holds ${env.image}` : `docker-test-env: the Docker work-pool tests will be skipped: ${env.reason}`);
  } catch (error) {
    console.error(`docker-test-env: ${error.message}`);
    process.exit(1);
  }
}
