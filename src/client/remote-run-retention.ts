/** Run retention over the Baton API (remote mode): an admin key prunes on the server. */
import type { ApiClient } from "./api-client.ts";
import type { FlowRunPruner } from "../services/prune-flow-runs.ts";
import { FlowRunPruneAnswerSchema, type FlowRunPrune, type FlowRunPruneAnswer } from "../schemas/flow-run-prune.ts";

export class RemoteFlowRunPruner implements FlowRunPruner {
  constructor(private readonly api: ApiClient) {}

  prune(request: FlowRunPrune): Promise<FlowRunPruneAnswer> {
    return this.api.request("POST", "/api/flow-runs/prune", request, FlowRunPruneAnswerSchema);
  }
}
