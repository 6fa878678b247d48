/**
 * bin/baton.js runs a checkout's build only while it is current (stamped after every source
 * file's last change), so a changed source is never hidden by an old build. Checked on a copy of
 * bin/baton.js in a checkout-shaped directory whose two command tables only say which ran.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-bin-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
};
const table = (which: string) => `export const asksForListingOnly = () => true;\nexport async function printListing() { console.log("${which}"); return 0; }\n`;
const at = (file: string, seconds: number) => fs.utimesSync(path.join(dir, file), seconds, seconds);
const ran = (env: Record<string, string> = {}) => spawnSync(process.execPath, [path.join(dir, "bin/baton.js")], { encoding: "utf8", env: { ...process.env, BATON_FROM_SOURCES: "", ...env } }).stdout.trim();

describe("which code bin/baton.js runs in a checkout", () => {
  for (const file of ["bin/baton.js", "bin/build-freshness.js"]) write(file, fs.readFileSync(path.join(ROOT, file), "utf8"));
  write("src/cli/main.ts", "");
  write("src/cli/nouns.mjs", table("sources"));
  write("src/core/deep/file.ts", "");
  write("dist/cli/nouns.mjs", table("build"));

  it("runs the sources when there is no stamped build", () => {
    expect(ran()).toBe("sources");
  });

  it("runs the build once it is stamped after every source file, and the sources again when any changes", () => {
    for (const file of ["src/cli/main.ts", "src/cli/nouns.mjs", "src/core/deep/file.ts"]) at(file, 1_000_000);
    write("dist/.built", "");
    at("dist/.built", 2_000_000);
    expect(ran()).toBe("build");
    expect(ran({ BATON_FROM_SOURCES: "1" })).toBe("sources");
    at("src/core/deep/file.ts", 3_000_000); // a source file changed after the build, deep in the tree
    expect(ran()).toBe("sources");
  });
});
