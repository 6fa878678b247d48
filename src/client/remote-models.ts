/**
 * The model registry over the Baton API (remote mode): what `registerModel`, `loadModel`,
 * `promoteModel`, `rollbackModel` and `baton model` use when the process talks to a server. A
 * move decided here (a run's own gate) is recorded through POST /api/models/{name}/moves, which a
 * worker key may call for the runs it holds; the actor is the caller's key.
 */
import type { ModelVersionInfo } from "../core/models.ts";
import type { ModelDetail, ModelStore, ModelSummary, MoveContext, NewModelVersion, StoredModelValue } from "../store/model-store.ts";
import { ModelAliasSchema, ModelDetailSchema, ModelListSchema, ModelMoveOutcomeSchema, ModelValueSchema, ModelVersionSchema, RollbackOutcomeSchema } from "../schemas/model.ts";
import { ApiRequestError, orUndefined, type ApiClient } from "./api-client.ts";

const enc = encodeURIComponent;

export class RemoteModels implements ModelStore {
  constructor(private readonly api: ApiClient) {}

  async registerModelVersion(input: NewModelVersion): Promise<ModelVersionInfo> {
    if (input.stored.value === null) throw new TypeError(`model "${input.name}": a version registered through the API travels inline; it was stored in a file`);
    const body = {
      source: input.source,
      sourcePath: input.sourcePath,
      serializer: input.stored.serializer,
      value: input.stored.value,
      metrics: input.metrics,
      params: input.params,
      ...(input.signature === undefined || input.signature === null ? {} : { signature: input.signature }),
      description: input.description,
      flowRunId: input.flowRunId,
      taskRunId: input.taskRunId,
      experiment: input.experiment,
    };
    return (await this.api.request("POST", `/api/models/${enc(input.name)}/versions`, body, ModelVersionSchema)) as ModelVersionInfo;
  }

  async listModels(): Promise<ModelSummary[]> {
    return (await this.api.request("GET", "/api/models", undefined, ModelListSchema)).items;
  }

  async getModel(name: string): Promise<ModelDetail | undefined> {
    return (await orUndefined(this.api.request("GET", `/api/models/${enc(name)}`, undefined, ModelDetailSchema))) as ModelDetail | undefined;
  }

  async getModelVersion(name: string, version: number): Promise<ModelVersionInfo | undefined> {
    return (await orUndefined(this.api.request("GET", `/api/models/${enc(name)}/versions/${version}`, undefined, ModelVersionSchema))) as ModelVersionInfo | undefined;
  }

  async aliasVersion(name: string, alias: string): Promise<number | undefined> {
    return (await orUndefined(this.api.request("GET", `/api/models/${enc(name)}/aliases/${enc(alias)}`, undefined, ModelAliasSchema)))?.version;
  }

  async modelValue(name: string, version: number): Promise<StoredModelValue | undefined> {
    const found = await orUndefined(this.api.request("GET", `/api/models/${enc(name)}/versions/${version}/value`, undefined, ModelValueSchema));
    return found && { serializer: found.serializer, value: found.value, path: null, size: Buffer.byteLength(found.value), sha256: found.sha256 };
  }

  async moveModelAlias(name: string, alias: string, version: number, context: MoveContext & { reason?: string | null }): Promise<{ from: number | null; to: number } | null> {
    const moved = await orUndefined(this.move(name, { kind: "promoted", alias, version, reason: context.reason ?? null, flowRunId: context.flowRunId }));
    return moved ? { from: moved.from, to: moved.to ?? version } : null;
  }

  async refuseModelPromotion(name: string, alias: string, version: number, reason: string, context: MoveContext): Promise<void> {
    await this.move(name, { kind: "refused", alias, version, reason, flowRunId: context.flowRunId });
  }

  async rollbackModelAlias(name: string, alias: string, context: MoveContext): Promise<{ from: number; to: number } | { nothing: string }> {
    try {
      const body = { kind: "rolled-back", alias, reason: null, flowRunId: context.flowRunId };
      return await this.api.request("POST", `/api/models/${enc(name)}/moves`, body, RollbackOutcomeSchema);
    } catch (error) {
      // The server's sentence, for the caller to throw as its own error.
      if (error instanceof ApiRequestError && (error.status === 409 || error.status === 404)) return { nothing: error.message.replace(/^nothing to roll back to: /, "") };
      throw error;
    }
  }

  private move(name: string, body: Record<string, unknown>) {
    return this.api.request("POST", `/api/models/${enc(name)}/moves`, body, ModelMoveOutcomeSchema);
  }
}
