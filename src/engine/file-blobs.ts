/**
 * Result blobs as files of a folder (`file:///path`, the default on SQLite). A file is written
 * to a temporary name, fsynced, renamed, and its directory fsynced (the rename itself lives in
 * the directory) before the row that points at it is committed, so no crash — a power loss
 * included — leaves a row pointing at a missing or partial file. Reading opens only a plain
 * name directly inside the folder (no separator, no `..`, no link out of it): the caller passes
 * names it checked against the content-address pattern.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ResultStorageError } from "../core/errors.ts";
import { CONTENT_NAME, type CollectableBlobStore } from "../core/result-storage.ts";

export class FileBlobStore implements CollectableBlobStore {
  readonly description: string;

  constructor(readonly dir: string) {
    this.description = `file://${dir}`;
  }

  async put(sha256: string, bytes: Buffer): Promise<void> {
    const file = path.join(this.dir, `${sha256}.json`);
    this.ensureDir();
    try {
      // Already there: renewed, so a collection running now leaves it (see CollectableBlobStore).
      const now = new Date();
      fs.utimesSync(file, now, now);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw this.failure(error);
    }
    // A name of its own: another process may be writing the same bytes at the same time.
    const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      const fd = fs.openSync(temporary, "w");
      try {
        fs.writeSync(fd, bytes);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temporary, file);
      fsyncDirectory(this.dir);
    } catch (error) {
      fs.rmSync(temporary, { force: true });
      throw this.failure(error);
    }
  }

  async get(sha256: string): Promise<Buffer | null> {
    return this.read(`${sha256}.json`);
  }

  /**
   * The bytes of `name` directly in the folder, null if there is no such file. Neither the name
   * nor what it points to is trusted: reading starts only once the file is known to be a regular
   * file directly in the folder, links resolved.
   */
  read(name: string): Buffer | null {
    const file = path.join(this.dir, name);
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw this.failure(error);
    }
    if (path.dirname(real) !== fs.realpathSync(this.dir)) throw new ResultStorageError(this.description, `${file} links to a file outside the results directory`);
    if (!fs.statSync(real).isFile()) throw new ResultStorageError(this.description, `${file} is not a regular file`);
    return fs.readFileSync(real);
  }

  async listOlderThan(before: number, limit: number): Promise<string[]> {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw this.failure(error);
    }
    const out: string[] = [];
    for (const name of names) {
      if (out.length >= limit) break;
      if (!CONTENT_NAME.test(name)) continue;
      const mtime = fs.statSync(path.join(this.dir, name), { throwIfNoEntry: false })?.mtimeMs;
      if (mtime !== undefined && mtime < before) out.push(name.slice(0, 64));
    }
    return out;
  }

  async deleteOlderThan(sha256s: readonly string[], before: number): Promise<number> {
    let deleted = 0;
    for (const sha of sha256s) {
      const file = path.join(this.dir, `${sha}.json`);
      // Renewed by a writer since it was listed: its row may be about to commit.
      const mtime = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;
      if (mtime === undefined || mtime >= before) continue;
      fs.rmSync(file, { force: true });
      deleted += 1;
    }
    return deleted;
  }

  /** Creates the folder if needed; directories it creates are made durable too. */
  private ensureDir(): void {
    let created: string | undefined;
    try {
      created = fs.mkdirSync(this.dir, { recursive: true });
    } catch (error) {
      throw this.failure(error);
    }
    if (created === undefined) return;
    // A new directory's entry lives in its parent: sync the parent of each one created.
    for (let at = path.resolve(this.dir); ; at = path.dirname(at)) {
      fsyncDirectory(path.dirname(at));
      if (at === created || path.dirname(at) === at) break;
    }
  }

  private failure(error: unknown): ResultStorageError {
    return new ResultStorageError(this.description, (error as Error).message, { cause: error });
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
