/**
 * The loader of users' flow files: tsx (flow files may be TypeScript), then the hooks that load
 * them as modules and bind their `import "baton"` to this Baton (engine/flow-module-hooks.mjs).
 * Run from the sources, bin/baton.js registers both before anything else (Baton's own files
 * need tsx) and marks it done; run from the build, they are registered here, on the first
 * import of a flow file, so that commands which load none start without them (tsx alone is a
 * third of a listing command's start).
 */
const DONE = Symbol.for("baton.flowLoader");

let registering: Promise<void> | undefined;

/**
 * Called with the URL of every module the flow loader loads (tsx reports them from its thread,
 * shortly after each load): a warm spare records the files its pre-import read. Whoever
 * registers tsx (here, or bin/baton.js for the sources) reports through this global.
 */
const importListeners = new Set<(url: string) => void>();
const REPORT = Symbol.for("baton.onFlowModuleLoad");
(globalThis as unknown as Record<symbol, (url: string) => void>)[REPORT] = (url) => importListeners.forEach((listener) => listener(url));

/** Listens to the modules the flow loader loads from now on. */
export function onFlowModuleLoad(listener: (url: string) => void): void {
  importListeners.add(listener);
}

/** Resolves once the loader is registered; concurrent callers (runs loaded side by side) share the one registration. */
export function ensureFlowLoader(): Promise<void> {
  const flags = globalThis as unknown as Record<symbol, boolean | undefined>;
  if (flags[DONE]) return Promise.resolve();
  return (registering ??= (async () => {
    const [{ register }, { registerFlowModuleHooks }] = await Promise.all([import("tsx/esm/api"), import("../engine/flow-module-hooks.mjs")]);
    register({ onImport: (url) => (globalThis as unknown as Record<symbol, (url: string) => void>)[REPORT]!(url) });
    const built = import.meta.url.endsWith(".js");
    registerFlowModuleHooks(new URL(built ? "../index.js" : "../index.ts", import.meta.url).href);
    flags[DONE] = true;
  })());
}
