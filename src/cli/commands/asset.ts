/** `baton asset ls|inspect|lineage`: the assets runs materialised, their versions, and where they came from. */
import type { Command } from "commander";
import { assetKeyProblem, type AssetVersion } from "../../core/assets.ts";
import { BatonError } from "../../core/errors.ts";
import { RemoteAssets } from "../../client/remote-assets.ts";
import { RemoteStore } from "../../client/remote-store.ts";
import { KyselyAssetViews, type AssetViews, type LineageGraph, type LineageNode } from "../../store/asset-store.ts";
import type { KyselyStore } from "../../store/kysely-store.ts";
import { withStore } from "../cli-store.ts";
import { printJson, table, time } from "../format.ts";
import { parseLimit } from "../list-options.ts";

const views = (store: RemoteStore | KyselyStore): AssetViews => (store instanceof RemoteStore ? new RemoteAssets(store.api) : new KyselyAssetViews(store));

function checkKey(key: string): void {
  const problem = assetKeyProblem(key);
  if (problem) throw new BatonError(`asset key "${key}" ${problem}`);
}

/** A version or hash shortened for a table: `sha256:` and 12 hex digits. */
const short = (text: string): string => (text.startsWith("sha256:") && text.length > 19 ? `${text.slice(0, 19)}…` : text);

function producer(v: AssetVersion): string {
  if (v.runDeleted) return "run deleted";
  if (v.taskRunId) return `task run ${v.taskRunId}`;
  if (v.flowRunId) return `flow run ${v.flowRunId}`;
  return "outside a run";
}

function label(node: LineageNode): string {
  if (node.version) {
    const v = node.version;
    return `${v.key} @ ${short(v.version)}${v.rows === null ? "" : ` (${v.rows} rows)`}, ${time(v.createdAt)}`;
  }
  const run = node.run!;
  if (run.deleted) return "run deleted";
  const what = run.taskRunId ? `task run ${run.name ?? ""} ${run.taskRunId}` : `flow run ${run.name ?? ""} ${run.flowRunId}`;
  return `${what}${run.stateName ? ` (${run.stateName})` : ""}`.replace(/\s+/g, " ");
}

/** The graph as an indented tree from its root: upstream follows edges backwards, downstream forwards. */
function tree(graph: LineageGraph): string {
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const next = new Map<string, string[]>();
  for (const e of graph.edges) {
    const [from, to] = graph.direction === "upstream" ? [e.to, e.from] : [e.from, e.to];
    (next.get(from) ?? next.set(from, []).get(from)!).push(to);
  }
  const lines: string[] = [];
  const seen = new Set<string>();
  const walk = (id: string, depth: number): void => {
    const node = nodes.get(id);
    if (!node) return;
    const again = seen.has(id);
    lines.push(`${"  ".repeat(depth)}${depth ? (graph.direction === "upstream" ? "← " : "→ ") : ""}${label(node)}${again ? " (see above)" : ""}`);
    if (again) return;
    seen.add(id);
    for (const child of next.get(id) ?? []) walk(child, depth + 1);
  };
  walk(graph.root, 0);
  if (graph.truncated) lines.push("… (more: the graph stopped at its size limit; ask for a smaller --depth)");
  return lines.join("\n");
}

export function registerAsset(program: Command): void {
  const cmd = program.command("asset").description("assets: the data and models runs read and materialise, their versions and lineage");
  cmd
    .command("ls")
    .description("list assets, most recently materialised first, with their latest version")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const all = await views(store).listAssets();
        if (opts.json) return printJson(all);
        if (!all.length) return console.log('No assets yet: declare writes: [asset("dataset://name")] on a task, or call materialize() in a run');
        console.log(table(["asset", "versions", "latest", "rows", "materialised"], all.map((a) => [a.key, String(a.versions), short(a.latest.version), a.latest.rows === null ? "" : String(a.latest.rows), time(a.latest.materializedAt)])));
      });
    });
  cmd
    .command("inspect <key>")
    .description("an asset's versions, newest first: name, hash, rows, the run that produced it")
    .option("--limit <n>", "how many of the newest versions (1 to 1000)", "20")
    .option("--json", "print JSON")
    .action(async (key: string, opts: { limit: string; json?: boolean }) => {
      checkKey(key);
      const limit = parseLimit(opts.limit, 1000);
      await withStore(async (store) => {
        const detail = await views(store).getAsset(key, { limit });
        if (!detail) throw new BatonError(`asset ${key} has no versions; see baton asset ls`);
        if (opts.json) return printJson(detail);
        console.log(`${detail.key}: ${detail.total} version${detail.total === 1 ? "" : "s"}`);
        console.log(
          table(
            ["version", "id", "hash", "rows", "created", "materialised", "produced by"],
            detail.versions.map((v) => [short(v.version), v.id, short(v.hash), v.rows === null ? "" : String(v.rows), time(v.createdAt), time(v.materializedAt), producer(v)]),
          ),
        );
      });
    });
  cmd
    .command("lineage <key>")
    .description("where an asset version came from (--upstream, the default) or what depends on it (--downstream)")
    .option("--upstream", "the runs and versions it was made from (default)")
    .option("--downstream", "the runs that read it and the versions made from it")
    .option("--at <version>", "the version: its name or hash (default: the latest)")
    .option("--depth <n>", "how many levels of versions (1 to 20)", "5")
    .option("--json", "print JSON")
    .action(async (key: string, opts: { upstream?: boolean; downstream?: boolean; at?: string; depth: string; json?: boolean }) => {
      checkKey(key);
      if (opts.upstream && opts.downstream) throw new BatonError("give --upstream or --downstream, not both");
      const depth = Number(opts.depth);
      if (!Number.isInteger(depth) || depth < 1 || depth > 20) throw new BatonError(`--depth must be an integer from 1 to 20, got "${opts.depth}"`);
      const direction = opts.downstream ? "downstream" : "upstream";
      await withStore(async (store) => {
        const graph = await views(store).lineage(key, opts.at === undefined ? { direction, depth } : { direction, depth, version: opts.at });
        if (!graph) throw new BatonError(opts.at === undefined ? `asset ${key} has no versions; see baton asset ls` : `asset ${key} has no version "${opts.at}"; see baton asset inspect ${key}`);
        if (opts.json) return printJson(graph);
        console.log(tree(graph));
      });
    });
}
