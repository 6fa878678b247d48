/**
 * The README's examples, followed as written in a temporary directory: a project of one's own
 * that imports "baton" (with the link `npm install /path/to/baton` makes), and the baton.yaml of
 * "Deployments, schedules, workers" deployed and run by a worker. Commands are the README's own
 * lines, `npx baton` being this checkout's bin/baton.js.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT, startProcess, stopProcess } from "../support/processes.ts";

const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

/** The text of a README section, from its heading to the next heading of its level. */
function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`the README has no section "${heading}"`);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The code blocks of a language in `text`, in order. */
function blocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);
}

/** The README line that starts with `prefix`, without its comment. */
function line(text: string, prefix: string): string {
  const found = text.split("\n").find((l) => l.startsWith(prefix));
  if (!found) throw new Error(`the README has no line starting with "${prefix}"`);
  return found.replace(/\s+#.*$/, "");
}

/** Runs a README command line in `cwd` with a shell, `npx baton` being this checkout's CLI. */
async function sh(command: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = command.replace(/^npx baton\b/, `"${process.execPath}" "${BIN}"`);
  const child = spawn("sh", ["-c", script], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stdout, stderr };
}

describe("the README, followed as written", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-readme-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("In your project: a flow file of one's own imports \"baton\" and runs with `npx baton run`", async () => {
    const text = section("In your project");
    const [setup, run] = blocks(text, "sh");
    const project = path.join(dir, "pipelines");
    fs.mkdirSync(project);
    const env = { BATON_HOME: path.join(project, ".baton"), BATON_LOG_LEVEL: "silent" };
    for (const command of setup!.split("\n").map((l) => l.replace(/\s+#.*$/, "")).filter(Boolean)) {
      if (command.startsWith("mkdir ") || command.startsWith("cd ")) continue;
      if (command.startsWith("npm install /path/to/baton")) {
        // What npm does for a directory outside the project: a link, and one for its bin.
        fs.mkdirSync(path.join(project, "node_modules", ".bin"), { recursive: true });
        fs.symlinkSync(ROOT, path.join(project, "node_modules", "baton"), "dir");
        fs.symlinkSync(path.join("..", "baton", "bin", "baton.js"), path.join(project, "node_modules", ".bin", "baton"));
        continue;
      }
      const res = await sh(command, project, env);
      expect(res.code, `${command}: ${res.stderr}`).toBe(0);
    }
    const [source] = blocks(text, "ts");
    const [, file, code] = /^\/\/ (\S+)\n([\s\S]*)$/.exec(source!)!;
    fs.writeFileSync(path.join(project, file!), code!);
    const res = await sh(run!.trim(), project, env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/ended Completed/);
    expect(res.stdout).toMatch(/Result: \["Hello, Ada!", "Hello, Grace!"\]/);
  });

  it("Deployments: the baton.yaml example deploys, and a worker started in the project runs it", async () => {
    const text = section("Deployments, schedules, workers");
    const yaml = blocks(text, "yaml").find((b) => b.includes("deployments:"))!;
    const commands = blocks(text, "sh").find((b) => b.includes("npx baton deploy"))!;
    // The project: baton.yaml beside the examples it names.
    const project = path.join(dir, "ml");
    fs.mkdirSync(project);
    fs.symlinkSync(path.join(ROOT, "examples"), path.join(project, "examples"), "dir");
    fs.writeFileSync(path.join(project, "baton.yaml"), yaml);
    const env = { BATON_HOME: path.join(project, ".baton"), BATON_LOG_LEVEL: "silent" };
    for (const prefix of ["npx baton work-pool create ", "npx baton work-queue create ", "npx baton deploy "]) {
      const res = await sh(line(commands, prefix), project, env);
      expect(res.code, `${prefix}: ${res.stderr}`).toBe(0);
    }
    // Its schedules are paused, so that no scheduled run falls due during the test and takes the
    // deployment's one slot (concurrency_limit: 1) before the run the test makes.
    const name = /- name: (\S+)/.exec(yaml)![1]!;
    const deployment = JSON.parse((await sh(`npx baton deployment inspect ${name} --json`, project, env)).stdout) as { schedules: { id: string }[] };
    expect(deployment.schedules.length).toBeGreaterThan(0);
    for (const s of deployment.schedules) expect((await sh(`npx baton deployment pause ${name} --schedule ${s.id}`, project, env)).code).toBe(0);

    const worker = startProcess([BIN, ...line(commands, "npx baton worker start").split(/\s+/).slice(2)], env, project);
    try {
      // A small search: the README's line, with a grid of one model.
      const res = await sh(`${line(commands, "npx baton deployment run")} --param 'nEstimators=[3]' --param 'maxDepth=[2]'`, project, env);
      expect(res.code, `${res.stdout}\n${res.stderr}\n${worker.stdout()}\n${worker.stderr()}`).toBe(0);
      expect(res.stdout).toMatch(/Flow run ended Completed\nTask runs: \d+ Completed\n$/);
    } finally {
      await stopProcess(worker);
    }
  });
});
