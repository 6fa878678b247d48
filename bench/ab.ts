/**
 * `tsx bench/ab.ts --trees A,B [--rounds 3] [--only sqlite|postgres]`: the engine benchmark on
 * two checkouts (e.g. `git worktree add /tmp/before COMMIT`), interleaved round by round so that
 * both see the same machine; prints each tree's median and range. For telling a regression from
 * a busy host: compare the trees, not the absolute figures.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import Table from "cli-table3";
import { fmt, opt } from "./support.ts";

const trees = opt("trees", "").split(",").filter(Boolean).map((t) => path.resolve(t));
if (trees.length < 2) throw new Error("--trees needs two checkouts, comma-separated");
const rounds = Number(opt("rounds", "3"));
const stores = opt("only", "") ? [opt("only", "")] : ["sqlite", "postgres"];
const child = path.join(import.meta.dirname, "ab-child.ts");

type Figures = { mapped: number; sequential: number; emptyMicros: number };
const seen = new Map<string, Figures[]>();
for (let round = 1; round <= rounds; round++)
  for (const tree of trees)
    for (const store of stores) {
      const out = execFileSync(process.execPath, ["--import", "tsx", child, tree, store], { encoding: "utf8", cwd: tree });
      const figures = JSON.parse(out.trim().split("\n").at(-1)!) as Figures;
      seen.set(`${tree}\t${store}`, [...(seen.get(`${tree}\t${store}`) ?? []), figures]);
      console.error(`round ${round} ${path.basename(tree)} ${store}: ${JSON.stringify(figures)}`);
    }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const cell = (xs: number[]) => `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
const table = new Table({ head: ["tree", "store", "mapped tasks/s", "sequential tasks/s", "µs per empty flow"] });
for (const [key, runs] of seen) {
  const [tree, store] = key.split("\t") as [string, string];
  table.push([path.basename(tree), store, cell(runs.map((r) => r.mapped)), cell(runs.map((r) => r.sequential)), cell(runs.map((r) => r.emptyMicros))]);
}
console.log(`\nMedians (ranges) over ${rounds} interleaved rounds`);
console.log(table.toString());
