/**
 * A worker's warm spare (`baton execute-flow-run -`): a run's process started before its run is
 * known. While it waits for a run id on stdin it does what a run's start would otherwise pay for
 * after the claim: it loads Baton's public module (what flow files import), opens the store and
 * runs a first query on two connections (connected, statements prepared, code paths compiled),
 * registers the flow loader, and imports the flow file the worker expects next (the last run's,
 * in BATON_SPARE_ENTRYPOINT), so that the run's own import of it is a cache hit. The run then
 * starts as any other: Running still means its flow module is loaded and its parameters valid.
 *
 * A module once imported stays in the process: if a file the pre-import read has changed since,
 * the run would execute old code. The spare records every file the pre-import loaded (its size
 * and mtime; the entrypoint's before the import) and checks them when its run arrives; on any
 * change it is stale and must not run it (the worker starts a fresh process instead).
 *
 * What the pre-import changes for a flow file: its top-level code runs before the run is handed
 * over, so it sees no BATON_FLOW_RUN_ID (the rest of the environment is the run's).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { newId } from "../core/ids.ts";
import { getRuntime } from "../sdk/runtime.ts";
import { ensureFlowLoader, onFlowModuleLoad } from "./flow-loader.ts";
import { preloadFlowModule } from "./load-flow.ts";
import { prepareSourceHashes } from "./run-claimed.ts";
import { findLockFile } from "../engine/source-hashes.ts";
import { SPARE_ENTRYPOINT_ENV } from "../worker/run-env.ts";
import type { FlowRun } from "../store/types.ts";
import { parseSpareLine } from "../worker/infrastructure.ts";
import type { TraceCarrier } from "../telemetry/trace-context.ts";


/** A pool's connections close after 10 s idle: a waiting spare uses them more often than that. */
const KEEP_WARM_MS = 5_000;

type Stamp = { mtimeMs: number; size: number } | null;

function stampOf(file: string): Stamp {
  try {
    const stat = fs.statSync(file);
    return { mtimeMs: stat.mtimeMs, size: stat.size };
  } catch {
    return null; // gone: a change too
  }
}

/**
 * Reads the store as a run's start does, on two connections at once (it reads while it writes
 * its first event). Only a warm-up: a refused or failed read is the run's to meet and report.
 */
async function warmStore(): Promise<void> {
  const { store } = await getRuntime();
  await Promise.all([store.getFlowRun(newId()), store.getFlowRun(newId())]).catch(() => undefined);
}

/** The first line on stdin: the id of the run the worker hands over, its trace context and the run as it claimed it. */
function readRunId(): Promise<{ id: string; run?: FlowRun; trace?: TraceCarrier }> {
  return new Promise((resolve) => {
    let buffer = "";
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf("\n");
      if (newline < 0) return;
      process.stdin.off("data", onData);
      // A run it cannot read is read from the store, as a cold start does.
      resolve(parseSpareLine(buffer.slice(0, newline)));
    };
    process.stdin.on("data", onData);
  });
}

/**
 * Warms this process, waits for its run's id (and the run as claimed) and returns it; `stale` when a file the
 * pre-import loaded changed since (this process must then not run the flow).
 */
export async function waitAsSpare(): Promise<{ id: string; run?: FlowRun; trace?: TraceCarrier; stale: boolean }> {
  const loaded = new Map<string, Stamp>();
  const record = (url: string) => {
    if (!url.startsWith("file:")) return;
    const file = fileURLToPath(url);
    if (!loaded.has(file)) loaded.set(file, stampOf(file));
  };
  // Baton's index is loaded before the flow loader is registered: its modules then skip the
  // loader's thread (every resolve through it is a round trip between threads).
  await Promise.all([import("../index.ts"), warmStore()]);
  onFlowModuleLoad(record);
  await ensureFlowLoader();
  const entrypoint = process.env[SPARE_ENTRYPOINT_ENV];
  if (entrypoint) {
    const file = path.resolve(entrypoint);
    loaded.set(file, stampOf(file));
    // A file that fails to import fails the same way in the run's own import (which reports it).
    if (loaded.get(file)) {
      // The lock file's hash goes with the run's source event: a change to it is a change too.
      const lock = findLockFile(file);
      if (lock) loaded.set(lock, stampOf(lock));
      prepareSourceHashes(file);
      await preloadFlowModule(file).catch(() => undefined);
    }
  }
  const keepWarm = setInterval(() => void warmStore().catch(() => undefined), KEEP_WARM_MS);
  keepWarm.unref();
  const { id, run, trace } = await readRunId();
  clearInterval(keepWarm);
  let stale = false;
  for (const [file, stamp] of loaded) {
    const now = stampOf(file);
    if (now?.mtimeMs !== stamp?.mtimeMs || now?.size !== stamp?.size) stale = true;
  }
  return { id, run, trace, stale };
}
