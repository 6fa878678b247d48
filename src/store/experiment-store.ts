/**
 * Experiment tracking's reads over Kysely, on SQLite and PostgreSQL (the writes are
 * run-values.ts'), behind `baton experiment` and the API — the
 * experiments, an experiment's runs with their parameters and metric summaries, runs side by
 * side, and one run's metric history for curves.
 */
import type { KyselyStore } from "./kysely-store.ts";

export interface ExperimentSummary {
  name: string;
  runs: number;
  lastRunAt: number;
}

/** A metric of a run, summarised: its value at the last step, and its range. */
export interface MetricSummary {
  last: number;
  lastStep: number;
  min: number;
  max: number;
  steps: number;
}

/** A run of an experiment: a flow run, or one task run of it (a configuration of a search). */
export interface ExperimentRun {
  runId: string;
  experiment: string;
  flowRunId: string;
  taskRunId: string | null;
  /** The flow run's name, or the task run's key. */
  name: string;
  flowName: string;
  stateType: string;
  stateName: string;
  startTime: number | null;
  endTime: number | null;
  createdAt: number;
  params: Record<string, unknown>;
  metrics: Record<string, MetricSummary>;
}

export interface MetricHistory {
  runId: string;
  metrics: Record<string, { step: number; value: number; timestamp: number }[]>;
}

export interface ExperimentViews {
  listExperiments(): Promise<ExperimentSummary[]>;
  /** Newest first. */
  experimentRuns(experiment: string, options: { limit: number }): Promise<ExperimentRun[]>;
  /** The runs named (flow run or task run ids), in the order given; unknown ids are left out. */
  getExperimentRuns(runIds: readonly string[]): Promise<ExperimentRun[]>;
  metricHistory(runId: string, options: { names?: readonly string[]; limit: number }): Promise<MetricHistory | undefined>;
}

export class KyselyExperimentViews implements ExperimentViews {
  constructor(private readonly base: KyselyStore) {}

  async listExperiments(): Promise<ExperimentSummary[]> {
    const rows = await this.base.db
      .selectFrom("experiment_runs")
      .select((eb) => ["experiment", eb.fn.countAll<number>().as("runs"), eb.fn.max("created_at").as("last")])
      .groupBy("experiment")
      .orderBy("last", "desc")
      .execute();
    return rows.map((r) => ({ name: r.experiment, runs: Number(r.runs), lastRunAt: Number(r.last) }));
  }

  async experimentRuns(experiment: string, options: { limit: number }): Promise<ExperimentRun[]> {
    return this.runs((q) => q.where("e.experiment", "=", experiment).orderBy("e.created_at", "desc").orderBy("e.run_id", "desc").limit(options.limit));
  }

  async getExperimentRuns(runIds: readonly string[]): Promise<ExperimentRun[]> {
    if (!runIds.length) return [];
    const found = await this.runs((q) => q.where("e.run_id", "in", [...runIds]));
    const byId = new Map(found.map((r) => [r.runId, r]));
    return runIds.flatMap((id) => byId.get(id) ?? []);
  }

  async metricHistory(runId: string, options: { names?: readonly string[]; limit: number }): Promise<MetricHistory | undefined> {
    const known = await this.base.db.selectFrom("experiment_runs").select("run_id").where("run_id", "=", runId).executeTakeFirst();
    if (!known) return undefined;
    let query = this.base.db.selectFrom("run_metrics").select(["name", "step", "value", "timestamp"]).where("run_id", "=", runId);
    if (options.names?.length) query = query.where("name", "in", [...options.names]);
    const rows = await query.orderBy("name").orderBy("step").limit(options.limit).execute();
    const metrics: MetricHistory["metrics"] = {};
    for (const r of rows) (metrics[r.name] ??= []).push({ step: Number(r.step), value: Number(r.value), timestamp: Number(r.timestamp) });
    return { runId, metrics };
  }

  /** Runs chosen by `pick`, with their run's state, their parameters and metric summaries. */
  private async runs(
    pick: (q: ReturnType<KyselyExperimentViews["runQuery"]>) => ReturnType<KyselyExperimentViews["runQuery"]>,
  ): Promise<ExperimentRun[]> {
    const rows = await pick(this.runQuery()).execute();
    if (!rows.length) return [];
    const ids = rows.map((r) => r.run_id);
    const db = this.base.db;
    const [params, summaries, lasts] = await Promise.all([
      db.selectFrom("run_params").select(["run_id", "key", "value"]).where("run_id", "in", ids).execute(),
      db
        .selectFrom("run_metrics")
        .select((eb) => ["run_id", "name", eb.fn.countAll<number>().as("steps"), eb.fn.min("value").as("min"), eb.fn.max("value").as("max"), eb.fn.max("step").as("last_step")])
        .where("run_id", "in", ids)
        .groupBy(["run_id", "name"])
        .execute(),
      // The value at each metric's last step (the primary key finds it).
      db
        .selectFrom("run_metrics as m")
        .select(["m.run_id", "m.name", "m.value"])
        .where("m.run_id", "in", ids)
        .where((eb) => eb("m.step", "=", eb.selectFrom("run_metrics as n").select((n) => n.fn.max("n.step").as("s")).whereRef("n.run_id", "=", "m.run_id").whereRef("n.name", "=", "m.name")))
        .execute(),
    ]);
    const last = new Map(lasts.map((l) => [`${l.run_id}\u0000${l.name}`, Number(l.value)]));
    const byRun = new Map(rows.map((r) => [r.run_id, { params: {} as Record<string, unknown>, metrics: {} as Record<string, MetricSummary> }]));
    for (const p of params) byRun.get(p.run_id)!.params[p.key] = JSON.parse(p.value) as unknown;
    for (const s of summaries)
      byRun.get(s.run_id)!.metrics[s.name] = { last: last.get(`${s.run_id}\u0000${s.name}`)!, lastStep: Number(s.last_step), min: Number(s.min), max: Number(s.max), steps: Number(s.steps) };
    return rows.map((r) => ({
      runId: r.run_id,
      experiment: r.experiment,
      flowRunId: r.flow_run_id,
      taskRunId: r.task_run_id ?? null,
      name: r.task_key ?? r.flow_run_name ?? r.run_id,
      flowName: r.flow_name ?? "",
      stateType: r.task_state_type ?? r.flow_state_type ?? "UNKNOWN",
      stateName: r.task_state_name ?? r.flow_state_name ?? "Unknown",
      startTime: r.task_start_time ?? r.flow_start_time ?? null,
      endTime: r.task_end_time ?? r.flow_end_time ?? null,
      createdAt: Number(r.created_at),
      ...byRun.get(r.run_id)!,
    }));
  }

  private runQuery() {
    return this.base.db
      .selectFrom("experiment_runs as e")
      .leftJoin("flow_runs as fr", "fr.id", "e.flow_run_id")
      .leftJoin("flows as f", "f.id", "fr.flow_id")
      .leftJoin("task_runs as tr", "tr.id", "e.run_id")
      .select([
        "e.run_id",
        "e.experiment",
        "e.flow_run_id",
        "e.created_at",
        "fr.name as flow_run_name",
        "f.name as flow_name",
        "fr.state_type as flow_state_type",
        "fr.state_name as flow_state_name",
        "fr.start_time as flow_start_time",
        "fr.end_time as flow_end_time",
        "tr.id as task_run_id",
        "tr.task_key as task_key",
        "tr.state_type as task_state_type",
        "tr.state_name as task_state_name",
        "tr.start_time as task_start_time",
        "tr.end_time as task_end_time",
      ]);
  }
}
