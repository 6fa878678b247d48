/**
 * Asset reads over Kysely, on SQLite and PostgreSQL (the writes are asset-writes.ts'), behind
 * `baton asset` and the API: the assets with their latest versions, an asset's versions, what a
 * flow run read and wrote, and lineage as a graph.
 *
 * Lineage graph: nodes are asset versions and runs; edges say a run read a version (`read`), a
 * run produced a version (`produced`), or a version was made from another with no run known
 * (`derived`: made outside a run). A version whose run was deleted hangs from a "run deleted"
 * node. Upstream walks from a version to what it was made from; downstream to the runs that
 * read it and the versions made from it, `depth` levels of versions deep.
 */
import type { AssetVersion } from "../core/assets.ts";
import { assetVersionFromRow, latestVersion } from "./asset-writes.ts";
import type { KyselyStore } from "./kysely-store.ts";

export interface AssetSummary {
  key: string;
  versions: number;
  createdAt: number;
  latest: AssetVersion;
}

export interface AssetDetail {
  key: string;
  /** How many versions it has. */
  total: number;
  /** Newest (last materialised) first. */
  versions: AssetVersion[];
}

/** A version a run read or wrote. */
export interface AssetUse {
  version: AssetVersion;
  flowRunId: string;
  taskRunId: string | null;
  at: number;
}

export interface RunAssets {
  flowRunId: string;
  read: AssetUse[];
  written: AssetUse[];
}

/**
 * What a re-run of a flow run reads: per asset, the version the run read last (its own reads
 * and its task runs'), named by its version name.
 */
export function readPins(assets: RunAssets): { key: string; version: string }[] {
  const last = new Map<string, AssetUse>();
  for (const use of assets.read) {
    const seen = last.get(use.version.key);
    if (!seen || use.at >= seen.at) last.set(use.version.key, use);
  }
  return [...last.values()].map((u) => ({ key: u.version.key, version: u.version.version }));
}

export interface LineageRun {
  flowRunId: string | null;
  taskRunId: string | null;
  /** The task run's key or the flow run's name; null once deleted. */
  name: string | null;
  stateName: string | null;
  deleted: boolean;
}

export interface LineageNode {
  /** `version:<id>`, `run:<task or flow run id>`, or `run:deleted:<version id>`. */
  id: string;
  kind: "version" | "run";
  version: AssetVersion | null;
  run: LineageRun | null;
}

export interface LineageEdge {
  from: string;
  to: string;
  kind: "read" | "produced" | "derived";
}

export type LineageDirection = "upstream" | "downstream";

export interface LineageGraph {
  root: string;
  direction: LineageDirection;
  nodes: LineageNode[];
  edges: LineageEdge[];
  /** Stopped at `MAX_NODES`. */
  truncated: boolean;
}

export interface LineageOptions {
  direction: LineageDirection;
  depth: number;
  /** A version name or hash; default: the latest. */
  version?: string;
}

export interface AssetViews {
  listAssets(): Promise<AssetSummary[]>;
  getAsset(key: string, options: { limit: number }): Promise<AssetDetail | undefined>;
  /** Undefined when the asset (or the version asked for) does not exist. */
  lineage(key: string, options: LineageOptions): Promise<LineageGraph | undefined>;
  /** What a flow run (and its task runs) read and wrote, oldest first; undefined for an unknown run. */
  flowRunAssets(flowRunId: string): Promise<RunAssets | undefined>;
}

export const MAX_NODES = 500;

const versionNode = (v: AssetVersion): string => `version:${v.id}`;

export class KyselyAssetViews implements AssetViews {
  constructor(private readonly base: KyselyStore) {}

  async listAssets(): Promise<AssetSummary[]> {
    const db = this.base.db;
    const counts = await db
      .selectFrom("asset_versions")
      .select((eb) => ["asset_key", eb.fn.countAll<number>().as("versions"), eb.fn.min("created_at").as("created"), eb.fn.max("materialized_at").as("last")])
      .groupBy("asset_key")
      .orderBy("last", "desc")
      .orderBy("asset_key")
      .execute();
    if (!counts.length) return [];
    // The latest version of each: the row whose materialized_at is its asset's greatest (ties: the greatest id).
    const latest = await db
      .selectFrom("asset_versions as v")
      .selectAll("v")
      .where((eb) => eb("v.materialized_at", "=", eb.selectFrom("asset_versions as w").select((w) => w.fn.max("w.materialized_at").as("m")).whereRef("w.asset_key", "=", "v.asset_key")))
      .orderBy("v.id", "desc")
      .execute();
    const byKey = new Map<string, AssetVersion>();
    for (const row of latest) if (!byKey.has(row.asset_key)) byKey.set(row.asset_key, assetVersionFromRow(row));
    return counts.map((c) => ({ key: c.asset_key, versions: Number(c.versions), createdAt: Number(c.created), latest: byKey.get(c.asset_key)! }));
  }

  async getAsset(key: string, options: { limit: number }): Promise<AssetDetail | undefined> {
    const db = this.base.db;
    const total = await db.selectFrom("asset_versions").select((eb) => eb.fn.countAll<number>().as("n")).where("asset_key", "=", key).executeTakeFirstOrThrow();
    if (!Number(total.n)) return undefined;
    const rows = await db.selectFrom("asset_versions").selectAll().where("asset_key", "=", key).orderBy("materialized_at", "desc").orderBy("id", "desc").limit(options.limit).execute();
    return { key, total: Number(total.n), versions: rows.map(assetVersionFromRow) };
  }

  async flowRunAssets(flowRunId: string): Promise<RunAssets | undefined> {
    const db = this.base.db;
    const links = await db
      .selectFrom("asset_run_links as l")
      .innerJoin("asset_versions as v", "v.id", "l.version_id")
      .selectAll("v")
      .select(["l.kind", "l.flow_run_id as link_flow_run_id", "l.task_run_id as link_task_run_id", "l.at"])
      .where("l.flow_run_id", "=", flowRunId)
      .orderBy("l.at")
      .orderBy("v.id")
      .execute();
    if (!links.length && !(await db.selectFrom("flow_runs").select("id").where("id", "=", flowRunId).executeTakeFirst())) return undefined;
    const out: RunAssets = { flowRunId, read: [], written: [] };
    for (const l of links) (l.kind === "read" ? out.read : out.written).push({ version: assetVersionFromRow(l), flowRunId: l.link_flow_run_id, taskRunId: l.link_task_run_id, at: Number(l.at) });
    return out;
  }

  async lineage(key: string, options: LineageOptions): Promise<LineageGraph | undefined> {
    const db = this.base.db;
    let root: AssetVersion | undefined;
    if (options.version === undefined) root = await latestVersion(db, key);
    else {
      const row = await db
        .selectFrom("asset_versions")
        .selectAll()
        .where("asset_key", "=", key)
        .where((eb) => eb.or([eb("version", "=", options.version!), eb("hash", "=", options.version!)]))
        .orderBy("materialized_at", "desc")
        .limit(1)
        .executeTakeFirst();
      root = row ? assetVersionFromRow(row) : undefined;
    }
    if (!root) return undefined;
    const graph = new GraphBuilder(versionNode(root), options.direction);
    graph.addVersion(root);
    if (options.direction === "upstream") await this.walkUpstream(graph, root, options.depth);
    else await this.walkDownstream(graph, root, options.depth);
    await this.nameRuns(graph);
    return graph.result();
  }

  /** From versions to what they were made from, a level of versions at a time. */
  private async walkUpstream(graph: GraphBuilder, root: AssetVersion, depth: number): Promise<void> {
    let frontier = [root];
    for (let level = 0; level < depth && frontier.length && !graph.full; level++) {
      const rows = await this.base.db
        .selectFrom("asset_version_inputs as i")
        .innerJoin("asset_versions as v", "v.id", "i.input_version_id")
        .selectAll("v")
        .select("i.version_id as made")
        .where("i.version_id", "in", frontier.map((v) => v.id))
        .execute();
      const inputsOf = new Map<string, AssetVersion[]>();
      for (const r of rows) (inputsOf.get(r.made) ?? inputsOf.set(r.made, []).get(r.made)!).push(assetVersionFromRow(r));
      const next: AssetVersion[] = [];
      for (const v of frontier) {
        const producer = graph.addProducer(v);
        for (const input of inputsOf.get(v.id) ?? []) {
          if (graph.addVersion(input)) next.push(input);
          graph.addEdge(versionNode(input), producer ?? versionNode(v), producer ? "read" : "derived");
        }
      }
      frontier = next;
    }
    // The last level's producers, so every version shows where it came from.
    for (const v of frontier) graph.addProducer(v);
  }

  /** From versions to the runs that read them and the versions made from them. */
  private async walkDownstream(graph: GraphBuilder, root: AssetVersion, depth: number): Promise<void> {
    const db = this.base.db;
    let frontier = [root];
    for (let level = 0; level < depth && frontier.length && !graph.full; level++) {
      const ids = frontier.map((v) => v.id);
      const readers = await db.selectFrom("asset_run_links").select(["version_id", "flow_run_id", "task_run_id"]).where("version_id", "in", ids).where("kind", "=", "read").execute();
      for (const r of readers) graph.addEdge(`version:${r.version_id}`, graph.addRun({ flowRunId: r.flow_run_id, taskRunId: r.task_run_id, name: null, stateName: null, deleted: false }), "read");
      const made = await db
        .selectFrom("asset_version_inputs as i")
        .innerJoin("asset_versions as v", "v.id", "i.version_id")
        .selectAll("v")
        .select("i.input_version_id as input")
        .where("i.input_version_id", "in", ids)
        .execute();
      const next: AssetVersion[] = [];
      for (const r of made) {
        const v = assetVersionFromRow(r);
        if (graph.addVersion(v)) next.push(v);
        const producer = graph.addProducer(v);
        graph.addEdge(`version:${r.input}`, producer ?? versionNode(v), producer ? "read" : "derived");
      }
      frontier = next;
    }
  }

  /** Fills in the runs' names and states (a run missing from the store shows as deleted). */
  private async nameRuns(graph: GraphBuilder): Promise<void> {
    const runs = graph.runs();
    const taskIds = runs.flatMap((r) => (r.taskRunId ? [r.taskRunId] : []));
    const flowIds = runs.flatMap((r) => (r.taskRunId || !r.flowRunId ? [] : [r.flowRunId]));
    const db = this.base.db;
    const [tasks, flows] = await Promise.all([
      taskIds.length ? db.selectFrom("task_runs").select(["id", "task_key", "state_name"]).where("id", "in", taskIds).execute() : [],
      flowIds.length ? db.selectFrom("flow_runs").select(["id", "name", "state_name"]).where("id", "in", flowIds).execute() : [],
    ]);
    const task = new Map(tasks.map((t) => [t.id, t]));
    const flow = new Map(flows.map((f) => [f.id, f]));
    for (const r of runs) {
      if (r.deleted) continue;
      const found = r.taskRunId ? task.get(r.taskRunId) : r.flowRunId ? flow.get(r.flowRunId) : undefined;
      if (!found) r.deleted = true;
      else {
        r.name = "task_key" in found ? found.task_key : found.name;
        r.stateName = found.state_name;
      }
    }
  }
}

/** Nodes and edges, each once, up to MAX_NODES. */
class GraphBuilder {
  private readonly nodes = new Map<string, LineageNode>();
  private readonly edges = new Map<string, LineageEdge>();
  private truncated = false;

  constructor(
    private readonly root: string,
    private readonly direction: LineageDirection,
  ) {}

  get full(): boolean {
    return this.truncated;
  }

  private add(node: LineageNode): boolean {
    if (this.nodes.has(node.id)) return false;
    if (this.nodes.size >= MAX_NODES) {
      this.truncated = true;
      return false;
    }
    this.nodes.set(node.id, node);
    return true;
  }

  /** Whether the version is new to the graph (then its own lineage is walked). */
  addVersion(v: AssetVersion): boolean {
    return this.add({ id: versionNode(v), kind: "version", version: v, run: null });
  }

  addRun(run: LineageRun): string {
    const id = `run:${run.taskRunId ?? run.flowRunId}`;
    this.add({ id, kind: "run", version: null, run });
    return id;
  }

  /** The node of the run that produced `v` (linked to it), or null when it was made outside a run. */
  addProducer(v: AssetVersion): string | null {
    let id: string;
    if (v.runDeleted) {
      id = `run:deleted:${v.id}`;
      this.add({ id, kind: "run", version: null, run: { flowRunId: null, taskRunId: null, name: null, stateName: null, deleted: true } });
    } else if (v.flowRunId) id = this.addRun({ flowRunId: v.flowRunId, taskRunId: v.taskRunId, name: null, stateName: null, deleted: false });
    else return null;
    this.addEdge(id, versionNode(v), "produced");
    return id;
  }

  addEdge(from: string, to: string, kind: LineageEdge["kind"]): void {
    if (!this.nodes.has(from) || !this.nodes.has(to)) return;
    this.edges.set(`${from}\u0000${to}`, { from, to, kind });
  }

  runs(): LineageRun[] {
    return [...this.nodes.values()].flatMap((n) => (n.run ? [n.run] : []));
  }

  result(): LineageGraph {
    return { root: this.root, direction: this.direction, nodes: [...this.nodes.values()], edges: [...this.edges.values()], truncated: this.truncated };
  }
}
