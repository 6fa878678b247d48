/**
 * Result blobs through the API (`PUT`/`GET /api/result-blobs/{sha256}`), for a client of a server
 * whose results are in its database (BATON_RESULTS_URL=db): the server stores them where its
 * own setting says, checking their sha256.
 */
import { ResultStorageError } from "../core/errors.ts";
import type { ResultBlobStore } from "../core/result-storage.ts";
import type { ApiClient } from "./api-client.ts";

export class RemoteResultBlobs implements ResultBlobStore {
  readonly description: string;

  constructor(private readonly api: ApiClient) {
    this.description = `db (through the Baton API at ${api.baseUrl})`;
  }

  async put(sha256: string, bytes: Buffer): Promise<void> {
    try {
      await this.api.bytes("PUT", `/api/result-blobs/${sha256}`, bytes);
    } catch (error) {
      throw new ResultStorageError(this.description, `writing blob ${sha256} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async get(sha256: string): Promise<Buffer | null> {
    try {
      return await this.api.bytes("GET", `/api/result-blobs/${sha256}`);
    } catch (error) {
      throw new ResultStorageError(this.description, `reading blob ${sha256} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
