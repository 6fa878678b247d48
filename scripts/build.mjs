// `npm run build`: compiles src/ to dist/ (tsc), copies the plain-JavaScript modules tsc does not
// emit, and stamps the build. bin/baton.js runs a checkout's build only while that stamp is newer
// than every source file, so a stamp is written only once everything above succeeded.
// `--if-stale` (what `npm test` runs first) builds only when a source changed since the stamp:
// the processes the end-to-end tests start then run the build, at half the start-up time.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import { buildIsCurrent } from "../bin/build-freshness.js";

const STAMP = "dist/.built";

if (process.argv.includes("--if-stale") && buildIsCurrent(new URL("../", import.meta.url))) process.exit(0);
const require = createRequire(import.meta.url);
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], { stdio: "inherit" });
for (const file of ["engine/thread-worker.mjs", "engine/flow-module-hooks.mjs", "engine/flow-module-hooks.d.mts", "cli/nouns.mjs", "cli/nouns.d.mts"]) fs.copyFileSync(`src/${file}`, `dist/${file}`);
fs.writeFileSync(STAMP, `${new Date().toISOString()}\n`);
