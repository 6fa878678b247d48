#!/usr/bin/env node
// The `baton` command. `baton`, `baton --help` and `baton --version` are answered from the table
// of commands alone (src/cli/nouns.mjs, plain JavaScript): no TypeScript loader, no command
// implementation, a fraction of a second.
//
// Anything else runs the build (dist/) when it is current: a published package, or a checkout
// whose last `npm run build` (which `npm ci` runs) is newer than every source file. The build
// loads no TypeScript loader until a command imports a user's flow file (src/cli/flow-loader.ts):
// a listing command starts in a third of the time. Otherwise, a checkout with changed sources
// runs them directly (never a stale build) under tsx, registered first, with the hooks that load
// flow files as modules and bind their `import "baton"` to this Baton (engine/flow-module-hooks.mjs).
// BATON_FROM_SOURCES=1 runs the sources whatever the build's age.
import fs from "node:fs";
import { buildIsCurrent } from "./build-freshness.js";

const checkout = fs.existsSync(new URL("../src/cli/main.ts", import.meta.url));

const fromSources = checkout && (process.env.BATON_FROM_SOURCES === "1" || !buildIsCurrent(new URL("../", import.meta.url)));
const root = new URL(fromSources ? "../src/" : "../dist/", import.meta.url);
const nouns = await import(new URL("cli/nouns.mjs", root).href);
if (nouns.asksForListingOnly(process.argv.slice(2))) {
  process.exitCode = await nouns.printListing(process.argv);
} else if (fromSources) {
  const { register } = await import("tsx/esm/api");
  // Every module loaded is reported to src/cli/flow-loader.ts (a worker's warm spare checks them).
  register({ onImport: (url) => globalThis[Symbol.for("baton.onFlowModuleLoad")]?.(url) });
  const { registerFlowModuleHooks } = await import(new URL("engine/flow-module-hooks.mjs", root).href);
  registerFlowModuleHooks(new URL("index.ts", root).href);
  globalThis[Symbol.for("baton.flowLoader")] = true;
  const { runCli } = await import(new URL("cli/main.ts", root).href);
  process.exitCode = await runCli(process.argv);
} else {
  const { runCli } = await import(new URL("cli/main.js", root).href);
  process.exitCode = await runCli(process.argv);
}
