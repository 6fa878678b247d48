/** The experiment pages' table logic, pure: columns, sorting by a metric, parameters that differ. */
import type { ExperimentRunRecord } from "./types.ts";

/** `?sort=metric:asc|desc` of the experiment page. */
export interface MetricSort {
  metric: string;
  descending: boolean;
}

export function parseSort(text: string | null): MetricSort | null {
  if (!text) return null;
  const at = text.lastIndexOf(":");
  const dir = at < 0 ? "" : text.slice(at + 1);
  if (dir !== "asc" && dir !== "desc") return { metric: text, descending: false };
  return { metric: text.slice(0, at), descending: dir === "desc" };
}

export const formatSort = (sort: MetricSort): string => `${sort.metric}:${sort.descending ? "desc" : "asc"}`;

/** Keys in order of first appearance across the runs. */
export function columns(runs: readonly ExperimentRunRecord[], of: "params" | "metrics"): string[] {
  const keys = new Set<string>();
  for (const run of runs) for (const key of Object.keys(run[of])) keys.add(key);
  return [...keys];
}

/** Runs by the latest value of a metric; runs that did not log it last, in their order. */
export function sortRuns(runs: readonly ExperimentRunRecord[], sort: MetricSort | null): ExperimentRunRecord[] {
  if (!sort) return [...runs];
  const value = (r: ExperimentRunRecord) => r.metrics[sort.metric]?.last;
  return [...runs].sort((a, b) => {
    const [va, vb] = [value(a), value(b)];
    if (va === undefined || vb === undefined) return (va === undefined ? 1 : 0) - (vb === undefined ? 1 : 0);
    return sort.descending ? vb - va : va - vb;
  });
}

/** A parameter's value as a cell shows it: strings bare, everything else as JSON; "–" when not logged. */
export function paramText(value: unknown): string {
  if (value === undefined) return "–";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The parameters whose values are not the same in every run (a run without it counts as different). */
export function differingParams(runs: readonly ExperimentRunRecord[]): Set<string> {
  const differ = new Set<string>();
  for (const key of columns(runs, "params")) {
    const texts = new Set(runs.map((r) => (key in r.params ? JSON.stringify(r.params[key]) : undefined)));
    if (texts.size > 1) differ.add(key);
  }
  return differ;
}

/** Where a run's page is: its task run's, or its flow run's. */
export const runHref = (run: ExperimentRunRecord): string =>
  run.taskRunId ? `/task-runs/${encodeURIComponent(run.taskRunId)}` : `/runs/${encodeURIComponent(run.flowRunId)}`;
