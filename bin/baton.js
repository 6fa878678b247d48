#!/usr/bin/env node
// The `baton` command. `baton`, `baton --help` and `baton --version` are answered from the table
// of commands alone (src/cli/nouns.mjs, plain JavaScript): no TypeScript loader, no command
// implementation, a fraction of a second. Anything else registers tsx first so that flow files
// may be TypeScript, then the hooks that load flow files as modules in packages without
// "type": "module" and bind their `import "baton"` to this Baton (src/engine/flow-module-hooks.mjs).
// In a checkout the sources are run directly (never a stale build); a published package has dist/.
import fs from "node:fs";

const checkout = fs.existsSync(new URL("../src/cli/main.ts", import.meta.url));
const root = new URL(checkout ? "../src/" : "../dist/", import.meta.url);
const nouns = await import(new URL("cli/nouns.mjs", root).href);
if (nouns.asksForListingOnly(process.argv.slice(2))) {
  process.exitCode = await nouns.printListing(process.argv);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  const { registerFlowModuleHooks } = await import(new URL("engine/flow-module-hooks.mjs", root).href);
  registerFlowModuleHooks(new URL(checkout ? "index.ts" : "index.js", root).href);
  const { runCli } = await import(new URL(checkout ? "cli/main.ts" : "cli/main.js", root).href);
  process.exitCode = await runCli(process.argv);
}
