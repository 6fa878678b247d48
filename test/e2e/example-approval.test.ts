/**
 * The approval example (examples/approval.ts) through the CLI on a fresh SQLite home: a candidate
 * version waits in the registry; the flow run pauses with both versions' metrics and waits for a
 * person; `baton flow-run resume` with an approval moves production to it, and a refusal is
 * recorded with the person's reason.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, cli, ROOT, startProcess, stopProcess, until } from "../support/processes.ts";

const TRAIN = path.join(ROOT, "examples/train.ts");
const APPROVAL = path.join(ROOT, "examples/approval.ts");
const SMALL = { nEstimators: [4], maxDepth: [4] };

describe("examples/approval.ts", () => {
  let home: string;
  const env = () => ({ BATON_HOME: home, BATON_LOG_LEVEL: "warn" });
  const json = async (args: string[]) => {
    const out = await cli([...args, "--json"], env());
    expect(out.code, out.stderr).toBe(0);
    return JSON.parse(out.stdout);
  };
  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-approval-"));
    for (const params of [SMALL, { ...SMALL, seed: 8, promoteIf: "never" }, { ...SMALL, seed: 9, promoteIf: "never" }]) {
      const trained = await cli(["run", TRAIN, "--params-json", JSON.stringify(params), "--quiet"], env());
      expect(trained.code, trained.stderr).toBe(0);
    }
  }, 180_000);
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  /** Starts the approval flow, waits for its pause, answers it, and returns the run's outcome. */
  const decide = async (input: Record<string, unknown>) => {
    const proc = startProcess([BIN, "run", APPROVAL, "--json"], env());
    try {
      const paused = await until(async () => {
        const runs = (await json(["flow-run", "ls", "--flow", "approveCandidate"])) as { id: string; state: { name: string } }[];
        return runs.find((r) => r.state.name === "Paused");
      }, "the approval run to pause", 60_000);
      const asked = await json(["flow-run", "inspect", paused.id]);
      expect(JSON.stringify(asked)).toMatch(/Promote model \*\*weather\*\* version 3 to \*\*production\*\* \(now version 1\)\?/);
      const resumed = await cli(["flow-run", "resume", paused.id, "--input", JSON.stringify(input)], env());
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(await proc.exit, proc.stderr()).toBe(0);
      return JSON.parse(proc.stdout()) as { state: { name: string }; result: unknown };
    } finally {
      await stopProcess(proc);
    }
  };

  it("a person's refusal is recorded with the reason; an approval moves production", async () => {
    const refused = await decide({ approve: false, comment: "F1 on fog too low" });
    expect(refused.result).toEqual({ promoted: false, reason: "refused by a person: F1 on fog too low" });
    const after = await json(["model", "inspect", "weather"]);
    expect(after.aliases.production).toBe(1);
    expect(after.moves[0]).toMatchObject({ kind: "refused", to: 3, reason: "refused by a person: F1 on fog too low" });

    const approved = await decide({ approve: true, comment: "checked the confusion matrix" });
    expect(approved.result).toEqual({ promoted: true, from: 1, to: 3 });
    expect((await json(["model", "inspect", "weather"])).aliases.production).toBe(3);
  }, 180_000);
});
