/** Assets' reads over the Baton API (remote mode): what `baton asset` shows. */
import type { AssetDetail, AssetSummary, AssetViews, LineageGraph, LineageOptions, RunAssets } from "../store/asset-store.ts";
import { AssetDetailSchema, AssetListSchema, LineageGraphSchema, RunAssetsSchema } from "../schemas/asset.ts";
import { orUndefined, type ApiClient } from "./api-client.ts";

const enc = encodeURIComponent;

export class RemoteAssets implements AssetViews {
  constructor(private readonly api: ApiClient) {}

  async listAssets(): Promise<AssetSummary[]> {
    return (await this.api.request("GET", "/api/assets", undefined, AssetListSchema)).items as AssetSummary[];
  }

  async getAsset(key: string, options: { limit: number }): Promise<AssetDetail | undefined> {
    return (await orUndefined(this.api.request("GET", `/api/assets/${enc(key)}?limit=${options.limit}`, undefined, AssetDetailSchema))) as AssetDetail | undefined;
  }

  async lineage(key: string, options: LineageOptions): Promise<LineageGraph | undefined> {
    const version = options.version === undefined ? "" : `&version=${enc(options.version)}`;
    return (await orUndefined(this.api.request("GET", `/api/assets/${enc(key)}/lineage?direction=${options.direction}&depth=${options.depth}${version}`, undefined, LineageGraphSchema))) as LineageGraph | undefined;
  }

  async flowRunAssets(flowRunId: string): Promise<RunAssets | undefined> {
    return (await orUndefined(this.api.request("GET", `/api/flow-runs/${enc(flowRunId)}/assets`, undefined, RunAssetsSchema))) as RunAssets | undefined;
  }
}
