// `npm run build`: compiles src/ to dist/ (tsc), copies the plain-JavaScript modules tsc does not
// emit, and stamps the build. bin/baton.js runs a checkout's build only while that stamp is newer
// than every source file, so a stamp is written only once everything above succeeded.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], { stdio: "inherit" });
for (const file of ["engine/thread-worker.mjs", "engine/flow-module-hooks.mjs", "engine/flow-module-hooks.d.mts", "cli/nouns.mjs", "cli/nouns.d.mts"]) fs.copyFileSync(`src/${file}`, `dist/${file}`);
fs.writeFileSync("dist/.built", `${new Date().toISOString()}\n`);
