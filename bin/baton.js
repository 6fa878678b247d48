#!/usr/bin/env node
// The `baton` command. tsx is registered first so that flow files may be TypeScript.
import fs from "node:fs";
import { register } from "tsx/esm/api";

register();
const built = new URL("../dist/cli/main.js", import.meta.url);
const main = fs.existsSync(built) ? built : new URL("../src/cli/main.ts", import.meta.url);
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv);
