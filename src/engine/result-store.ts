/**
 * Persists results: small ones inline in the database row, large ones as files under the
 * results directory. A file is written to a temporary name, fsynced, renamed, and its directory
 * fsynced (the rename itself lives in the directory) before the row that points at it is
 * committed, so no crash — a power loss included — leaves a row pointing at a missing or
 * partial file.
 */
import fs from "node:fs";
import path from "node:path";
import { newId } from "../core/ids.ts";
import { deserialize, serialize, SERIALIZER_NAME } from "../core/serializer.ts";
import { BatonError } from "../core/errors.ts";
import type { ResultRecord, Store } from "../store/types.ts";

export class ResultStore {
  constructor(
    private readonly store: Pick<Store, "getResult">,
    readonly dir: string,
    readonly inlineBytes: number,
  ) {}

  /** Serialises `value` into a result record (throws `SerializationError` naming `what`). */
  prepare(value: unknown, what: string): ResultRecord {
    const text = serialize(value, what);
    const size = Buffer.byteLength(text);
    const id = newId();
    const record: ResultRecord = { id, serializer: SERIALIZER_NAME, value: text, path: null, size, createdAt: Date.now() };
    if (size > this.inlineBytes) {
      const file = path.join(this.dir, `${id}.json`);
      this.ensureDir();
      const fd = fs.openSync(`${file}.tmp`, "w");
      try {
        fs.writeSync(fd, text);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(`${file}.tmp`, file);
      fsyncDirectory(this.dir);
      record.value = null;
      record.path = path.basename(file);
    }
    return record;
  }

  /** Creates the results directory if needed; directories it creates are made durable too. */
  private ensureDir(): void {
    const created = fs.mkdirSync(this.dir, { recursive: true });
    if (created === undefined) return;
    // A new directory's entry lives in its parent: sync the parent of each one created.
    for (let dir = path.resolve(this.dir); ; dir = path.dirname(dir)) {
      fsyncDirectory(path.dirname(dir));
      if (dir === created || path.dirname(dir) === dir) break;
    }
  }

  async load(resultId: string): Promise<unknown> {
    const record = await this.store.getResult(resultId);
    if (!record) throw new BatonError(`result ${resultId} is missing from the store`);
    return this.decode(record);
  }

  decode(record: ResultRecord): unknown {
    if (record.value != null) return deserialize(record.value);
    const file = path.join(this.dir, record.path ?? "");
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      throw new BatonError(`result ${record.id} is stored in ${file}, which cannot be read: ${(error as Error).message}`, { cause: error });
    }
    return deserialize(text);
  }
}

/** Makes a directory's entries (a rename, a new file) durable. */
function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
