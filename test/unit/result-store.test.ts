/** Result files: content-addressed names made by the store, and reads that refuse any other path. */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResultStore } from "../../src/engine/result-store.ts";
import { FileBlobStore } from "../../src/engine/file-blobs.ts";
import { serialize } from "../../src/core/serializer.ts";
import type { ResultRecord } from "../../src/store/types.ts";

const SECRET = "TOP-SECRET-CONTENTS";

describe("result files", () => {
  let root: string;
  let dir: string;
  let secretFile: string;
  let results: ResultStore;
  const record = (filePath: string): ResultRecord => ({ id: "r-1", serializer: "devalue/1", value: null, path: filePath, size: 1, createdAt: 1 });
  /** What decoding `filePath` throws; fails the test if it returns. */
  const refusal = async (filePath: string): Promise<string> => {
    try {
      await results.decode(record(filePath));
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`${filePath} was read`);
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "baton-result-files-"));
    dir = path.join(root, "home", "results");
    fs.mkdirSync(dir, { recursive: true });
    // A file outside the results directory that a stored path might point at, itself a valid
    // serialised value so that only the path check stands between it and a caller.
    secretFile = path.join(root, "secret.json");
    fs.writeFileSync(secretFile, serialize(SECRET));
    const folder = new FileBlobStore(dir);
    results = new ResultStore({ getResult: async () => undefined }, folder, 16, folder);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("names a file by the sha256 of its bytes and stores the same bytes once", async () => {
    const first = await results.save("x".repeat(100), "a result");
    const text = serialize("x".repeat(100));
    expect(first).toMatchObject({ value: null, path: `${createHash("sha256").update(text).digest("hex")}.json` });
    const again = await results.save("x".repeat(100), "a result");
    expect(again.path).toBe(first.path);
    expect(again.id).not.toBe(first.id);
    expect(fs.readdirSync(dir)).toEqual([first.path]);
    expect(await results.decode(again)).toBe("x".repeat(100));
  });

  it.each([
    ["a relative path out of the directory", "../../secret.json"],
    ["an absolute path", "/etc/passwd"],
    ["a path into a subdirectory", "sub/0000000000000000000000000000000000000000000000000000000000000000.json"],
    ["a name that is no content address", "secret.json"],
    ["the directory itself", ""],
  ])("refuses %s", async (_what, filePath) => {
    expect(await refusal(filePath)).toMatch(/^result r-1 cannot be read: its stored path ".*" is not the name of a result blob/);
  });

  it("refuses a content-address name that links out of the directory, or whose bytes were changed", async () => {
    const name = `${createHash("sha256").update(fs.readFileSync(secretFile)).digest("hex")}.json`;
    fs.symlinkSync(secretFile, path.join(dir, name));
    expect(await refusal(name)).toMatch(/links to a file outside the results directory/);
    fs.rmSync(path.join(dir, name));
    // The same bytes under a name that is not their hash: a file swapped or edited in place.
    const stored = await results.save("y".repeat(100), "a result");
    fs.copyFileSync(secretFile, path.join(dir, stored.path!));
    expect(await refusal(stored.path!)).toMatch(/do not match its name/);
    fs.mkdirSync(path.join(dir, "a".repeat(64) + ".json"));
    expect(await refusal("a".repeat(64) + ".json")).toMatch(/is not a regular file/);
  });

  it("never quotes the file it refused", async () => {
    const messages = await Promise.all(["../../secret.json", secretFile, "0".repeat(64) + ".json"].map(refusal));
    fs.copyFileSync(secretFile, path.join(dir, "0".repeat(64) + ".json"));
    messages.push(await refusal("0".repeat(64) + ".json"));
    fs.writeFileSync(path.join(dir, "01234567-89ab-7def-8123-456789abcdef.json"), `not devalue: ${SECRET}`);
    messages.push(await refusal("01234567-89ab-7def-8123-456789abcdef.json"));
    for (const message of messages) expect(message).not.toContain(SECRET);
  });

  it("reads files written before results were content-addressed (named by the result's id)", async () => {
    fs.writeFileSync(path.join(dir, "01234567-89ab-7def-8123-456789abcdef.json"), serialize({ old: true }));
    expect(await results.decode(record("01234567-89ab-7def-8123-456789abcdef.json"))).toEqual({ old: true });
  });

  it("without a result storage (a flow run through the API), refuses a result over the inline limit and any blob", async () => {
    const inline = new ResultStore({ getResult: async () => undefined }, null, 16);
    expect(inline.prepare("short", "a result").record).toMatchObject({ path: null });
    expect(() => inline.prepare("z".repeat(100), 'the result of task "big"')).toThrow(/the result of task "big" is 1\d\d bytes; a flow run through the API sends results inline, at most 16 bytes/);
    await expect(inline.decode(record("0".repeat(64) + ".json"))).rejects.toThrow(/this process has no result storage/);
  });
});
