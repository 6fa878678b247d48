/**
 * Persists results: small ones inline in the database row, large ones as content-addressed
 * blobs of the result storage BATON_RESULTS_URL chose (a folder, the database, an S3-compatible
 * store, or the server's through the API: core/result-storage.ts). A blob is stored (durably)
 * before the row that points at it is committed, so no crash leaves a row pointing at a missing
 * or partial blob.
 *
 * A blob is named by the sha256 of its bytes (the same bytes are stored once), and names are
 * made here: `decode` reads only a content-address name and checks that the bytes hash to it.
 * A row written by someone else — a client of the API, a hand-edited database — therefore
 * cannot make a run return the contents of another file or another result.
 *
 * Without a blob store (a flow run through the API with BATON_RESULTS_URL unset or file:),
 * results travel inline only, up to `inlineBytes`.
 */
import { createHash } from "node:crypto";
import { newId } from "../core/ids.ts";
import { deserialize, serialize, SERIALIZER_NAME } from "../core/serializer.ts";
import { BatonError, ResultStorageError, SerializationError } from "../core/errors.ts";
import { excerpt } from "../core/excerpt.ts";
import { CONTENT_NAME, type ResultBlobStore } from "../core/result-storage.ts";
import type { FileBlobStore } from "./file-blobs.ts";
import type { ResultRecord, RunStore } from "../store/types.ts";

/** Names of files written before results were content-addressed: the result's id (a UUID). */
const ID_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

/** A result ready to be written: its record, and the blob to store first when it is not inline. */
export interface PreparedResult {
  record: ResultRecord;
  blob: { sha256: string; bytes: Buffer } | null;
}

export class ResultStore {
  constructor(
    private readonly store: Pick<RunStore, "getResult">,
    /** Where large results go; null: nowhere, results stay inline. */
    readonly blobs: ResultBlobStore | null,
    readonly inlineBytes: number,
    /**
     * The results folder of this machine, read when a name is not in `blobs`: files written
     * before another storage was chosen (and the UUID-named files of older versions).
     */
    private readonly legacy: FileBlobStore | null = null,
  ) {}

  /** Serialises `value` into a result record (throws `SerializationError` naming `what`); nothing is written yet. */
  prepare(value: unknown, what: string): PreparedResult {
    const text = serialize(value, what);
    const size = Buffer.byteLength(text);
    const record: ResultRecord = { id: newId(), serializer: SERIALIZER_NAME, value: text, path: null, size, createdAt: Date.now() };
    if (size <= this.inlineBytes) return { record, blob: null };
    if (this.blobs === null)
      throw new SerializationError(
        `${what} is ${size.toLocaleString("en")} bytes; a flow run through the API sends results inline, at most ${this.inlineBytes.toLocaleString("en")} bytes. ` +
          "Set BATON_RESULTS_URL (db: through the server, or s3://bucket/prefix), store large data yourself and return where it is, or set persistResult: false.",
      );
    const bytes = Buffer.from(text);
    const sha = sha256(bytes);
    record.value = null;
    record.path = `${sha}.json`;
    return { record, blob: { sha256: sha, bytes } };
  }

  /** Stores the blob of a prepared result (durably), before its row is written. */
  async writeBlob(prepared: PreparedResult): Promise<void> {
    if (prepared.blob) await this.blobs!.put(prepared.blob.sha256, prepared.blob.bytes);
  }

  /** `prepare` and `writeBlob`: a record whose row may now be written. */
  async save(value: unknown, what: string): Promise<ResultRecord> {
    const prepared = this.prepare(value, what);
    await this.writeBlob(prepared);
    return prepared.record;
  }

  async load(resultId: string): Promise<unknown> {
    const record = await this.store.getResult(resultId);
    if (!record) throw new BatonError(`result ${resultId} is missing from the store`);
    return this.decode(record);
  }

  /** The serialised text of a record (inline, or its blob read and checked). */
  async text(record: ResultRecord): Promise<string> {
    if (record.value != null) return record.value;
    const name = record.path ?? "";
    const refuse = (why: string, cause?: unknown) => new BatonError(`result ${record.id} cannot be read: ${why}`, { cause });
    const content = CONTENT_NAME.test(name);
    if (!content && !ID_NAME.test(name))
      throw refuse(`its stored path "${excerpt(name)}" is not the name of a result blob (results are blobs named by the sha256 of their bytes)`);
    let bytes: Buffer | null = null;
    let where = this.legacy?.description ?? "";
    try {
      if (content && this.blobs) {
        where = this.blobs.description;
        bytes = await this.blobs.get(name.slice(0, 64));
      }
      if (bytes === null && this.legacy && (!content || this.legacy !== this.blobs)) {
        where = this.legacy.description;
        bytes = this.legacy.read(name);
      }
    } catch (error) {
      if (error instanceof ResultStorageError) throw refuse(error.message, error);
      throw refuse(`${where}: ${(error as Error).message}`, error);
    }
    if (bytes === null) {
      if (!this.blobs && !this.legacy) throw refuse(`it is stored as a blob (${name}) and this process has no result storage (it runs flows through the API: set BATON_RESULTS_URL as the server's)`);
      throw refuse(`its blob ${name} is not in ${this.blobs?.description ?? where}${this.legacy && this.legacy !== this.blobs && this.blobs ? ` nor in ${this.legacy.description}` : ""}`);
    }
    if (content && `${sha256(bytes)}.json` !== name) throw refuse(`the bytes of blob ${name} in ${where} do not match its name (sha256): it was changed after it was stored`);
    return bytes.toString("utf8");
  }

  async decode(record: ResultRecord): Promise<unknown> {
    const text = await this.text(record);
    try {
      return deserialize(text);
    } catch {
      // Not the parser's message: it may quote the blob.
      throw new BatonError(`result ${record.id} cannot be read: ${record.path ?? "its value"} does not hold a serialised result`);
    }
  }
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
