/**
 * The writer of bench/large-store.ts's retention measure, in its own process as a run's would
 * be: commits one log line per transaction (what a running flow does), a few ms apart, timing
 * each commit, until "stop" arrives on stdin; then prints [startedAt, ms] of every commit as JSON.
 * Usage: node --import tsx bench/large-store-writer.ts <database url> <flow run id>
 */
import readline from "node:readline";
import { openStore } from "../src/store/open.ts";

const [url, flowRunId] = process.argv.slice(2);
if (!url || !flowRunId) throw new TypeError("usage: large-store-writer.ts <database url> <flow run id>");
const store = await openStore(url);
let stop = false;
const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => void (line.trim() === "stop" && (stop = true)));
const samples: [number, number][] = [];
process.stdout.write("ready\n");
while (!stop) {
  const at = Date.now();
  const t0 = performance.now();
  await store.applyWrites([{ kind: "log", log: { flowRunId, taskRunId: null, level: 30, message: "progress", timestamp: at } }]);
  samples.push([at, performance.now() - t0]);
  await new Promise((resolve) => setTimeout(resolve, 2));
}
await store.close();
input.close();
process.stdout.write(`${JSON.stringify(samples)}\n`, () => process.exit(0));
