/** Experiment tracking's reads over the Baton API (remote mode): what `baton experiment` shows. */
import type { ExperimentRun, ExperimentSummary, ExperimentViews, MetricHistory } from "../store/experiment-store.ts";
import { ExperimentListSchema, ExperimentRunListSchema, MetricHistorySchema } from "../schemas/experiment.ts";
import { orUndefined, type ApiClient } from "./api-client.ts";

const enc = encodeURIComponent;

export class RemoteExperiments implements ExperimentViews {
  constructor(private readonly api: ApiClient) {}

  async listExperiments(): Promise<ExperimentSummary[]> {
    return (await this.api.request("GET", "/api/experiments", undefined, ExperimentListSchema)).items;
  }

  async experimentRuns(experiment: string, options: { limit: number }): Promise<ExperimentRun[]> {
    return (await this.api.request("GET", `/api/experiments/${enc(experiment)}/runs?limit=${options.limit}`, undefined, ExperimentRunListSchema)).items;
  }

  /** The runs that exist, in the order given (the server answers 404 when one is unknown: asked one by one then). */
  async getExperimentRuns(runIds: readonly string[]): Promise<ExperimentRun[]> {
    const all = await orUndefined(this.api.request("GET", `/api/experiments/compare?runs=${runIds.map(enc).join(",")}`, undefined, ExperimentRunListSchema));
    if (all) return all.items;
    const each = await Promise.all(runIds.map((id) => orUndefined(this.api.request("GET", `/api/experiments/compare?runs=${enc(id)}`, undefined, ExperimentRunListSchema))));
    return each.flatMap((answer) => answer?.items ?? []);
  }

  metricHistory(runId: string, options: { names?: readonly string[]; limit: number }): Promise<MetricHistory | undefined> {
    const names = options.names?.length ? `&names=${options.names.map(enc).join(",")}` : "";
    return orUndefined(this.api.request("GET", `/api/runs/${enc(runId)}/metrics?limit=${options.limit}${names}`, undefined, MetricHistorySchema));
  }
}
