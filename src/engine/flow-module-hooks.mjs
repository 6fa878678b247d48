// Module hooks for the user's flow files (plain JavaScript: they run in Node's loader thread,
// before any TypeScript loader). Registered after tsx's, so they see what tsx resolved:
//
//  - A TypeScript or JavaScript file in a package whose package.json says no "type" is
//    CommonJS to tsx and Node. A flow file there is still written as a module (it imports
//    Baton, which is ESM-only), and loading it as CommonJS fails ("Cannot require() ES Module …
//    in a cycle"). Such a file with import or export statements is loaded as a module, as Node
//    itself does for .js files with module syntax since 22 ("module syntax detection"). A
//    package that says "type": "commonjs" is taken at its word, and node_modules is left alone.
//
//  - `import … from "baton"` is bound to the Baton that runs the flow, not whatever copy the
//    user's node_modules holds: the copies share their run state (process-wide.ts), but not their
//    classes, so a future or an error made with a second copy would not be recognised as one
//    by this copy's engine. A checkout runs its sources, whose package entry is a build.
//
//  - For the same reason, a checkout running its build binds a flow file's imports of the
//    checkout's sources (`../src/index.ts`, as its examples and test fixtures write) to the build's
//    same file: one Baton per process, whichever way a file names it.
import fs from "node:fs";
import module from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Extensions whose format the package's "type" decides (.mts/.mjs are modules, .cts/.cjs CommonJS). */
const AMBIGUOUS = new Set([".ts", ".tsx", ".js", ".jsx"]);
/**
 * An import or export statement at the start of a line; not `import(` (CommonJS may import
 * dynamically), nor TypeScript's CommonJS forms `import x = require(…)` and `export =`.
 */
const MODULE_SYNTAX = /^[ \t]*(?:import(?:[ \t]+(?![\w$]+[ \t]*=)[\w$*{"']|[ \t]*[*{"'])|export(?:[ \t]+(?![ \t]*=)|[ \t]*[*{]))/m;

/** Registers these hooks (after tsx's); `batonUrl` is the URL of the Baton entry this process runs. */
export function registerFlowModuleHooks(batonUrl) {
  module.register(import.meta.url, { data: { batonUrl } });
}

let batonUrl = null;
/** When Baton runs from a checkout's build: its src/ and dist/ folders (file: URLs ending in /). */
let sourcesUrl = null;
let buildUrl = null;

export function initialize(data) {
  batonUrl = data?.batonUrl ?? null;
  if (batonUrl?.endsWith("/dist/index.js")) {
    buildUrl = new URL(".", batonUrl).href;
    sourcesUrl = new URL("../src/", buildUrl).href;
  }
}

/** The build's file for a checkout's source file, when Baton runs from that build and the file is built. */
function builtCounterpart(url) {
  if (!sourcesUrl || !url.startsWith(sourcesUrl)) return null;
  const built = buildUrl + url.slice(sourcesUrl.length).replace(/\.ts$/, ".js").replace(/\.mts$/, ".mjs");
  return built !== url && fs.existsSync(fileURLToPath(built)) ? built : null;
}

export async function resolve(specifier, context, nextResolve) {
  if (specifier === "baton" && batonUrl) return { url: batonUrl, format: "module", shortCircuit: true };
  const resolved = await nextResolve(specifier, context);
  const built = builtCounterpart(resolved.url);
  if (built) return { url: built, format: "module", shortCircuit: true };
  if (resolved.format === "module" || resolved.format === "module-typescript" || !resolved.url.startsWith("file:")) return resolved;
  // tsx marks a CommonJS file imported from a module with a query inside its path
  // ("lib.ts?tsx-commonjs-export-preparse=1"): the file is the path before it.
  const file = fileURLToPath(resolved.url).split("?")[0];
  if (!AMBIGUOUS.has(path.extname(file)) || file.split(path.sep).includes("node_modules")) return resolved;
  if (packageType(path.dirname(file)) !== undefined) return resolved;
  let source;
  try {
    source = fs.readFileSync(file, "utf8");
  } catch {
    return resolved; // the loader will say what is wrong with it
  }
  return MODULE_SYNTAX.test(source) ? { url: pathToFileURL(file).href, format: "module", shortCircuit: true } : resolved;
}

/** The "type" of the package that holds `dir` (undefined: none said), cached per directory. */
const types = new Map();
function packageType(dir) {
  if (types.has(dir)) return types.get(dir);
  let type;
  const manifest = path.join(dir, "package.json");
  if (fs.existsSync(manifest)) {
    try {
      type = JSON.parse(fs.readFileSync(manifest, "utf8")).type;
    } catch {
      type = undefined;
    }
  } else if (path.dirname(dir) !== dir) {
    type = packageType(path.dirname(dir));
  }
  types.set(dir, type);
  return type;
}
