/**
 * One round of bench/ab.ts: `tsx bench/ab-child.ts TREE sqlite|postgres` runs the engine
 * benchmark's scenarios (bench/flows.ts) on the checkout at TREE and prints JSON.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [tree, store] = process.argv.slice(2) as [string, string];
const { configure, shutdown } = (await import(path.join(tree, "src/index.ts"))) as typeof import("../src/index.ts");
const { empty, mapped, sequential, time } = (await import(path.join(tree, "bench/flows.ts"))) as typeof import("./flows.ts");
const { benchPgDatabase } = (await import(path.join(tree, "bench/support.ts"))) as typeof import("./support.ts");
const home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-ab-"));
const db = store === "postgres" ? await benchPgDatabase("ab") : { url: `sqlite://${path.join(home, "ab.db")}`, drop: async () => undefined };
await configure({ databaseUrl: db.url, resultsDir: path.join(home, "results"), logLevel: "silent" });
await mapped({ n: 500 });
await sequential({ n: 100 });
const tMapped = await time(() => mapped({ n: 10_000 }));
const tSeq = await time(() => sequential({ n: 1_000 }));
const tEmpty = await time(async () => {
  for (let i = 0; i < 200; i++) await empty();
});
await shutdown();
await db.drop();
fs.rmSync(home, { recursive: true, force: true });
console.log(JSON.stringify({ mapped: 10_000 / (tMapped / 1000), sequential: 1_000 / (tSeq / 1000), emptyMicros: (tEmpty * 1000) / 200 }));
