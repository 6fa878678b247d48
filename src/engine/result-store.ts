/**
 * Persists results: small ones inline in the database row, large ones as files under the
 * results directory (written and fsynced before the row that points at them is committed, so a
 * crash never leaves a row pointing at a missing file).
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
      fs.mkdirSync(this.dir, { recursive: true });
      const fd = fs.openSync(`${file}.tmp`, "w");
      try {
        fs.writeSync(fd, text);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(`${file}.tmp`, file);
      record.value = null;
      record.path = path.basename(file);
    }
    return record;
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
