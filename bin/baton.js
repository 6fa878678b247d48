#!/usr/bin/env node
// The `baton` command. tsx is registered first so that flow files may be TypeScript.
// In a checkout the sources are run directly (never a stale build); a published package has dist/.
import fs from "node:fs";
import { register } from "tsx/esm/api";

register();
const source = new URL("../src/cli/main.ts", import.meta.url);
const main = fs.existsSync(source) ? source : new URL("../dist/cli/main.js", import.meta.url);
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv);
