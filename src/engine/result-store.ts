/**
 * Persists results: small ones inline in the database row, large ones as files under the
 * results directory. A file is written to a temporary name, fsynced, renamed, and its directory
 * fsynced (the rename itself lives in the directory) before the row that points at it is
 * committed, so no crash — a power loss included — leaves a row pointing at a missing or
 * partial file.
 *
 * A file is named by the sha256 of its bytes (the same bytes are stored once), and names are
 * made here, never taken from anywhere else: the API refuses a result with a path, and `decode`
 * reads only a plain content-address name directly inside the results directory (no separator,
 * no `..`, no absolute path, no link out of the directory) whose bytes hash to that name. A row
 * written by someone else — a client of the API, a hand-edited database — therefore cannot make
 * a run return the contents of another file.
 *
 * Without a directory (a flow run through the API), results travel inline only, up to
 * `inlineBytes`.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { newId } from "../core/ids.ts";
import { deserialize, serialize, SERIALIZER_NAME } from "../core/serializer.ts";
import { BatonError, SerializationError } from "../core/errors.ts";
import { excerpt } from "../core/excerpt.ts";
import type { ResultRecord, RunStore } from "../store/types.ts";

/** A result file's name: the sha256 of its bytes, in hex. */
const CONTENT_NAME = /^[0-9a-f]{64}\.json$/;
/** Names of files written before results were content-addressed: the result's id (a UUID). */
const ID_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

export class ResultStore {
  constructor(
    private readonly store: Pick<RunStore, "getResult">,
    /** Where result files go; null: nowhere, results stay inline. */
    readonly dir: string | null,
    readonly inlineBytes: number,
  ) {}

  /** Serialises `value` into a result record (throws `SerializationError` naming `what`). */
  prepare(value: unknown, what: string): ResultRecord {
    const text = serialize(value, what);
    const size = Buffer.byteLength(text);
    const record: ResultRecord = { id: newId(), serializer: SERIALIZER_NAME, value: text, path: null, size, createdAt: Date.now() };
    if (size <= this.inlineBytes) return record;
    if (this.dir === null)
      throw new SerializationError(
        `${what} is ${size.toLocaleString("en")} bytes; a flow run through the API sends results inline, at most ${this.inlineBytes.toLocaleString("en")} bytes. ` +
          "Store large data yourself and return where it is, or set persistResult: false.",
      );
    const bytes = Buffer.from(text);
    const name = `${sha256(bytes)}.json`;
    const file = path.join(this.dir, name);
    this.ensureDir(this.dir);
    if (!fs.existsSync(file)) {
      // A name of its own: another process may be writing the same bytes at the same time.
      const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
      const fd = fs.openSync(temporary, "w");
      try {
        fs.writeSync(fd, bytes);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temporary, file);
      fsyncDirectory(this.dir);
    }
    record.value = null;
    record.path = name;
    return record;
  }

  /** Creates the results directory if needed; directories it creates are made durable too. */
  private ensureDir(dir: string): void {
    const created = fs.mkdirSync(dir, { recursive: true });
    if (created === undefined) return;
    // A new directory's entry lives in its parent: sync the parent of each one created.
    for (let at = path.resolve(dir); ; at = path.dirname(at)) {
      fsyncDirectory(path.dirname(at));
      if (at === created || path.dirname(at) === at) break;
    }
  }

  async load(resultId: string): Promise<unknown> {
    const record = await this.store.getResult(resultId);
    if (!record) throw new BatonError(`result ${resultId} is missing from the store`);
    return this.decode(record);
  }

  decode(record: ResultRecord): unknown {
    if (record.value != null) return deserialize(record.value);
    const name = record.path ?? "";
    const refuse = (why: string) => new BatonError(`result ${record.id} cannot be read: ${why}`);
    if (!CONTENT_NAME.test(name) && !ID_NAME.test(name))
      throw refuse(`its stored path "${excerpt(name)}" is not the name of a result file (results are files named by the sha256 of their bytes, directly in the results directory)`);
    if (this.dir === null) throw refuse(`it is stored in a file (${name}) and this process has no results directory (it runs flows through the API)`);
    // Neither the name nor what it points to is trusted: reading starts only once the file is
    // known to be a regular file directly in the results directory, links resolved.
    let bytes: Buffer;
    const file = path.join(this.dir, name);
    try {
      const real = fs.realpathSync(file);
      if (path.dirname(real) !== fs.realpathSync(this.dir)) throw refuse(`${file} links to a file outside the results directory`);
      if (!fs.statSync(real).isFile()) throw refuse(`${file} is not a regular file`);
      bytes = fs.readFileSync(real);
    } catch (error) {
      if (error instanceof BatonError) throw error;
      throw refuse(`${file}: ${(error as Error).message}`);
    }
    if (CONTENT_NAME.test(name) && `${sha256(bytes)}.json` !== name) throw refuse(`the bytes of ${file} do not match its name (sha256): it was changed after it was stored`);
    try {
      return deserialize(bytes.toString("utf8"));
    } catch {
      // Not the parser's message: it may quote the file.
      throw refuse(`${file} does not hold a serialised result`);
    }
  }
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
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
