/**
 * Opens the result storage BATON_RESULTS_URL chose (core/result-storage.ts) for a process on the
 * database or for a client of a server:
 * - on the database: the folder, the database's `result_blobs` or the object store; with another
 *   storage than the folder, the folder is still read for results written before the switch;
 * - through the API: `db` goes through the server, `s3://` straight to the object store,
 *   `file:///path` to that folder (one every machine mounts, and the server too, to show them),
 *   and nothing keeps results inline (the server's folder is out of reach).
 */
import { parseResultsUrl, type CollectableBlobStore, type ResultBlobStore } from "../core/result-storage.ts";
import { FileBlobStore } from "../engine/file-blobs.ts";
import { S3BlobStore } from "../engine/s3-blobs.ts";
import { DatabaseBlobStore } from "../store/result-blobs.ts";
import type { KyselyStore } from "../store/kysely-store.ts";
import { RemoteResultBlobs } from "../client/remote-result-blobs.ts";
import type { ApiClient } from "../client/api-client.ts";
import type { Settings } from "./settings.ts";

export interface ResultStorage {
  /** Where large results are written and read; null: results stay inline. */
  blobs: ResultBlobStore | null;
  /** This machine's results folder, read for names `blobs` does not hold. */
  legacy: FileBlobStore | null;
  /** The same store as `blobs` when this process may collect it (on the database). */
  collectable: CollectableBlobStore | null;
}

/**
 * The result storage of a process on the database `store`; `resultsDir` null: this process has
 * no results folder (a server started without one), so the default on SQLite is no storage.
 */
export function databaseResultStorage(settings: { resultsUrl: { value: string | null } }, store: KyselyStore, resultsDir: string | null): ResultStorage {
  const folder = resultsDir === null ? null : new FileBlobStore(resultsDir);
  const choice = parseResultsUrl(settings.resultsUrl.value, { dialect: store.dialect, resultsDir: resultsDir ?? "" });
  let blobs: CollectableBlobStore;
  if (choice.kind === "file") {
    if (choice.dir === "") return { blobs: null, legacy: null, collectable: null };
    blobs = folder && choice.dir === folder.dir ? folder : new FileBlobStore(choice.dir);
  }
  else if (choice.kind === "db") blobs = new DatabaseBlobStore(store);
  else blobs = new S3BlobStore(choice.bucket, choice.prefix);
  return { blobs, legacy: folder, collectable: blobs };
}

/** The result storage of a client of the server behind `api`. */
export function remoteResultStorage(settings: Pick<Settings, "resultsUrl">, api: ApiClient): ResultStorage {
  const choice = parseResultsUrl(settings.resultsUrl.value, { dialect: "remote", resultsDir: "" });
  if (choice.kind === "db") return { blobs: new RemoteResultBlobs(api), legacy: null, collectable: null };
  if (choice.kind === "s3") return { blobs: new S3BlobStore(choice.bucket, choice.prefix), legacy: null, collectable: null };
  if (choice.kind === "file" && choice.dir !== "") return { blobs: new FileBlobStore(choice.dir), legacy: null, collectable: null };
  return { blobs: null, legacy: null, collectable: null };
}
