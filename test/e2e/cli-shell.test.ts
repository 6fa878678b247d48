/**
 * The CLI as a shell meets it: `baton --help` imports no command implementation (the commands
 * load lazily); `baton run`'s progress in a pseudo-terminal (`script`), on a pipe (one line per
 * task run end) and with --quiet; the server's request log in both formats; config set/unset;
 * dashboard open; shell completion.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIsCurrent } from "../../bin/build-freshness.js";
import { buildProgram, NOUNS } from "../../src/cli/main.ts";
import { freshDatabaseUrl } from "../support/databases.ts";
import { BIN, cli, ROOT, startServerProcess, stopProcess, until } from "../support/processes.ts";

const run = promisify(execFile);
const FLOWS = path.join(ROOT, "test/e2e/fixtures/cli-flows.ts");
const RECORD_IMPORTS = path.join(ROOT, "test/e2e/fixtures/record-imports.mjs");

let home: string;
let url: string;
let cleanup: () => Promise<void>;
let env: Record<string, string>;

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-cli-shell-"));
  ({ url, cleanup } = await freshDatabaseUrl("sqlite"));
  env = { BATON_HOME: home, BATON_DATABASE_URL: url, BATON_LOG_LEVEL: "info" };
});
afterAll(async () => {
  await cleanup();
  fs.rmSync(home, { recursive: true, force: true });
});

/** The modules `baton ARGS` loads: the project's (relative to the root), and whether tsx was loaded. */
async function importedModules(args: string[], extraEnv: Record<string, string> = {}): Promise<{ project: string[]; tsx: boolean; build: boolean }> {
  const log = path.join(home, `imports-${Math.random().toString(36).slice(2)}.log`);
  // `baton` alone prints the listing and exits 1 (no command given): what matters is what it loaded.
  await run(process.execPath, ["--import", RECORD_IMPORTS, BIN, ...args], { env: { ...process.env, ...env, BATON_IMPORT_LOG: log, ...extraEnv } }).catch(() => undefined);
  const urls = fs.readFileSync(log, "utf8").split("\n");
  // A module of the build is named as its source (dist/cli/main.js: src/cli/main.ts).
  const project = urls
    .map((u) => u.replace(/\?.*$/, ""))
    .filter((u) => u.startsWith(`file://${ROOT}/src/`) || u.startsWith(`file://${ROOT}/dist/`))
    .map((u) => u.slice(`file://${ROOT}/`.length))
    .map((u) => (u.startsWith("dist/") ? `src/${u.slice(5).replace(/\.js$/, ".ts")}` : u));
  return { project: [...new Set(project)], tsx: urls.some((u) => u.includes("/node_modules/tsx/")), build: urls.some((u) => u.startsWith(`file://${ROOT}/dist/`)) };
}


describe("lazy commands", () => {
  it("baton --help lists every command and imports none of their implementations", async () => {
    const help = await cli(["--help"], env);
    expect(help.code).toBe(0);
    for (const noun of NOUNS.filter((n) => !n.hidden)) expect(help.stdout).toContain(noun.name);
    // Answered from the table of commands alone: no TypeScript loader, no command module.
    for (const args of [["--help"], ["--version"], []]) expect(await importedModules(args), args.join(" ")).toMatchObject({ project: ["src/cli/nouns.mjs"], tsx: false });
  });

  it.skipIf(!buildIsCurrent(pathToFileURL(`${ROOT}/`)))("from a current build, a command that loads no flow file loads no TypeScript loader; from changed sources, tsx runs them", async () => {
    expect(await importedModules(["flow-run", "ls"])).toMatchObject({ build: true, tsx: false });
    expect(await importedModules(["flow-run", "ls"], { BATON_FROM_SOURCES: "1" })).toMatchObject({ build: false, tsx: true });
    // A flow file still loads: tsx is registered when it is imported.
    const withFlow = await importedModules(["run", FLOWS, "--flow", "fanOut", "--quiet"]);
    expect(withFlow).toMatchObject({ build: true, tsx: true });
  });

  it("a command loads its own module, not the others'", async () => {
    const { project: modules } = await importedModules(["work-queue", "--help"]);
    expect(modules).toContain("src/cli/main.ts");
    expect(modules.filter((m) => m.startsWith("src/cli/commands/"))).toEqual(["src/cli/commands/work-queue.ts"]);
    // Neither the API server, the engine nor the worker.
    expect(modules.filter((m) => m === "src/server/app.ts" || m === "src/engine/runtime.ts" || m.startsWith("src/worker/"))).toEqual([]);
  });

  it("each command's listed description is its module's, and a mistyped one gets a suggestion", async () => {
    const program = await buildProgram();
    for (const noun of NOUNS) expect(program.commands.find((c) => c.name() === noun.name)?.description(), noun.name).toBe(noun.description);
    expect(program.commands.map((c) => c.name()).sort()).toEqual(NOUNS.map((n) => n.name).sort());
    const typo = await cli(["flow-rnu", "ls"], env);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/unknown command 'flow-rnu'\n\(Did you mean flow-run\?\)/);
  });
});

describe("baton run's progress", () => {
  it("on a terminal: per task name done/total with a bar, and the dashboard link", async () => {
    const command = [process.execPath, BIN, "run", FLOWS, "--flow", "fanOut"].map((a) => `'${a}'`).join(" ");
    // script(1) gives the command a pseudo-terminal; its transcript is what a person would see.
    const { stdout } = await run("script", ["-qfec", command, "/dev/null"], { env: { ...process.env, ...env, BATON_PUBLIC_URL: "http://baton.example:4200", CI: "", COLUMNS: "100" } });
    // The redraws in place, while it runs, are cli-progress.test.ts's (a flow slow enough to see
    // several): 60 squares may be done before the first redraw on a fast machine.
    expect(stdout).toMatch(/fanOut · [\d.]+ s · 61\/61 task runs done/); // the last picture stays
    expect(stdout).toMatch(/ {2}square +█{20} 60\/60/);
    expect(stdout).toMatch(/ {2}http:\/\/baton\.example:4200\/runs\/[0-9a-f-]{36}/);
    expect(stdout).toMatch(/Dashboard: http:\/\/baton\.example:4200\/runs\/[0-9a-f-]{36}/);
    expect(stdout).not.toMatch(/-> Running/);
  });

  it("on a pipe: one line per task run that ends, not per transition; --quiet: only the outcome", async () => {
    const piped = await cli(["run", FLOWS, "--flow", "fanOut", "--param", "n=200"], env);
    expect(piped.code, piped.stderr).toBe(0);
    const taskLines = piped.stderr.split("\n").filter((l) => l.includes("| task "));
    expect(taskLines).toHaveLength(201);
    expect(taskLines.every((l) => / \| task (square|total)-\d+ -> Completed$/.test(l))).toBe(true);
    expect(piped.stdout).toMatch(/Task runs: 201 Completed/);
    expect(piped.stdout).not.toMatch(/Dashboard:/); // no server known

    const quiet = await cli(["run", FLOWS, "--flow", "fanOut", "--quiet"], env);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
    expect(quiet.stdout).toMatch(/ended Completed/);
    expect(quiet.stdout).toMatch(/\(truncated: [\d,]+ more characters; the whole result: baton flow-run inspect \S+ --json\)/);
  });
});

describe("the server's request log", () => {
  it("--log-format pretty: one readable line for writes and errors, none for reads that succeed", async () => {
    const { proc, url: base } = await startServerProcess({ BATON_HOME: home, BATON_DATABASE_URL: url, BATON_SERVER_LOG_LEVEL: "info" }, ["--log-format", "pretty"]);
    try {
      expect((await fetch(`${base}/api/flow-runs?limit=5`)).status).toBe(200);
      expect((await fetch(`${base}/api/work-pools`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "logged-pool" }) })).status).toBeLessThan(300);
      expect((await fetch(`${base}/api/flow-runs/missing-run`)).status).toBe(404);
      await until(() => /GET \/api\/flow-runs\/missing-run 404/.test(proc.stdout()), "the 404's line");
      // Then who asked: role, actor and address.
      expect(proc.stdout()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}POST \/api\/work-pools 20\d \d+ ms {2}role=admin actor=anonymous ip=127\.0\.0\.1$/m);
      expect(proc.stdout()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}GET \/api\/flow-runs\/missing-run 404 \d+ ms {2}role=admin/m);
      expect(proc.stdout()).not.toMatch(/GET \/api\/flow-runs\?/);
      expect(proc.stdout()).not.toMatch(/incoming request|request completed/);
    } finally {
      await stopProcess(proc);
    }
  });

  it("--log-format json: the same lines as JSON objects; another format is refused", async () => {
    const { proc, url: base } = await startServerProcess({ BATON_HOME: home, BATON_DATABASE_URL: url, BATON_SERVER_LOG_LEVEL: "info" }, ["--log-format", "json"]);
    try {
      await fetch(`${base}/api/work-pools`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "json-pool" }) });
      const line = await until(() => proc.stdout().split("\n").find((l) => l.includes('"msg":"POST /api/work-pools 20')), "the POST's line");
      expect(JSON.parse(line)).toMatchObject({ level: 30, method: "POST", url: "/api/work-pools", status: expect.any(Number), ms: expect.any(Number) });
    } finally {
      await stopProcess(proc);
    }
    const refused = await cli(["server", "start", "--log-format", "xml"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--log-format must be json or pretty, got "xml"/);
  });
});

describe("config set and unset", () => {
  it("writes a checked value to config.toml by name, key or variable, and removes it", async () => {
    const file = path.join(home, "config.toml");
    expect((await cli(["config", "set", "heartbeat_ms", "1234"], env)).stdout).toMatch(/Set heartbeat_ms in .*config\.toml/);
    expect((await cli(["config", "set", "BATON_PUBLIC_URL", "https://baton.example.com"], env)).code).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toMatch(/heartbeat_ms = 1234\npublic_url = "https:\/\/baton\.example\.com"/);
    const view = JSON.parse((await cli(["config", "view", "--json"], env)).stdout) as { settings: { name: string; value: string; source: string }[] };
    expect(view.settings.find((s) => s.name === "heartbeatMs")).toMatchObject({ value: "1234", source: "config" });
    const bad = await cli(["config", "set", "heartbeatMs", "soon"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/BATON_HEARTBEAT_MS must be a positive integer, got "soon"/);
    expect((await cli(["config", "set", "threads", "3"], env)).stderr).toMatch(/BATON_THREADS is read from the environment only/);
    expect((await cli(["config", "set", "colour", "blue"], env)).stderr).toMatch(/unknown setting "colour"; config.toml holds: database_url, /);
    expect((await cli(["config", "unset", "heartbeatMs"], env)).stdout).toMatch(/Unset heartbeat_ms/);
    expect((await cli(["config", "unset", "public_url"], env)).code).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toBe("");
    expect((await cli(["config", "unset", "public_url"], env)).stdout).toMatch(/public_url is not set/);
  });
});

describe("dashboard open", () => {
  it("prints the server's address and opens a browser when there is one, never failing when there is none", async () => {
    const noServer = await cli(["dashboard", "open"], { ...env, DISPLAY: "", WAYLAND_DISPLAY: "" });
    expect(noServer.code).toBe(0);
    expect(noServer.stdout.trim()).toBe("http://127.0.0.1:4200");
    expect(noServer.stderr).toMatch(/No server configured .*baton server start\nNo browser to open here/);

    const bin = fs.mkdtempSync(path.join(home, "bin-"));
    const opened = path.join(bin, "opened");
    fs.writeFileSync(path.join(bin, "xdg-open"), `#!/bin/sh\necho "$1" > ${opened}\n`, { mode: 0o755 });
    const withBrowser = await cli(["dashboard", "open"], { ...env, BATON_API_URL: "http://baton.internal:4200/api", DISPLAY: ":0", PATH: `${bin}:${process.env.PATH}` });
    expect(withBrowser.code, withBrowser.stderr).toBe(0);
    expect(withBrowser.stdout.trim()).toBe("http://baton.internal:4200");
    await until(() => fs.existsSync(opened) && fs.readFileSync(opened, "utf8").trim(), "xdg-open");
    expect(fs.readFileSync(opened, "utf8").trim()).toBe("http://baton.internal:4200");
  });
});

describe("shell completion", () => {
  let script: string;
  beforeAll(async () => {
    script = path.join(home, "baton-completion.bash");
    fs.writeFileSync(script, (await cli(["completion", "bash"], env)).stdout);
  }, 60_000);
  const complete = async (words: string[]) => {
    const line = `source '${script}'; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _baton; echo "\${COMPREPLY[*]}"`;
    return (await run("bash", ["-c", line])).stdout.trim();
  };

  it("completes commands, subcommands and options from the command tree", async () => {
    expect(await complete(["baton", "flow-r"])).toBe("flow-run");
    expect((await complete(["baton", "flow-run", "l"])).split(" ").sort()).toEqual(["logs", "ls"]);
    expect(await complete(["baton", "deployment", "schedule", "a"])).toBe("add");
    expect(await complete(["baton", "flow-run", "ls", "--st"])).toBe("--state");
    expect(await complete(["baton", "work-queue", "pa"])).toBe("pause");
    const zsh = await cli(["completion", "zsh"], env);
    expect(zsh.stdout).toMatch(/bashcompinit/);
    expect(zsh.stdout).toMatch(/complete -o default -F _baton baton/);
    const bad = await cli(["completion", "fish"], env);
    expect(bad.stderr).toMatch(/shell must be bash or zsh, got "fish"/);
  });
});

