/** Nesting depth of request bodies: the quick walk, the walk that names the field, and the cuts of long paths. */
import { describe, expect, it } from "vitest";
import { findTooDeep, nestedDeeperThan } from "../../src/server/json-depth.ts";

const STORED = new Set(["parameters", "extra"]);
/** `levels` objects nested under key `key`, innermost `{ leaf: 1 }`. */
function nest(levels: number, key = "a"): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) value = { [key]: value };
  return value;
}

describe("nestedDeeperThan", () => {
  it("counts object and array nesting, up to the limit and one past it", () => {
    expect(nestedDeeperThan(1, 0)).toBe(false);
    expect(nestedDeeperThan({}, 0)).toBe(true);
    expect(nestedDeeperThan(nest(64), 64)).toBe(false);
    expect(nestedDeeperThan(nest(65), 64)).toBe(true);
    expect(nestedDeeperThan({ a: [1, { b: [[]] }] }, 5)).toBe(false);
    expect(nestedDeeperThan({ a: [1, { b: [[{}]] }] }, 5)).toBe(true);
    expect(nestedDeeperThan([Array.from({ length: 1000 }, () => [])], 3)).toBe(false); // wide is not deep
  });

  it("walks 100,000 levels without overflowing the stack", () => {
    expect(nestedDeeperThan(JSON.parse(`${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`), 64)).toBe(true);
  });
});

describe("findTooDeep", () => {
  it("counts a stored value's depth from its field, and names the field and where it gets too deep", () => {
    // 64 levels of parameters under the body and an op: 66 in all, but the field is 64 deep.
    expect(findTooDeep({ ops: [{ parameters: nest(64) }] }, 64, STORED)).toBeNull();
    expect(findTooDeep({ ops: [{ parameters: nest(65) }] }, 64, STORED)).toEqual({
      field: "body.ops.0.parameters",
      at: `body.ops.0.parameters${".a".repeat(64)}`.slice(0, 120) + "…",
    });
    expect(findTooDeep({ parameters: { x: [nest(64)] } }, 64, STORED)).toEqual({ field: "body.parameters", at: expect.stringMatching(/^body\.parameters\.x\.0\.a\.a/) });
  });

  it("counts the rest of the body from its root, and a stored key inside a stored value does not restart the count", () => {
    expect(findTooDeep(nest(64), 64, STORED)).toBeNull();
    expect(findTooDeep(nest(65), 64, STORED)).toMatchObject({ field: "body", at: expect.stringMatching(/^body\.a\.a/) });
    expect(findTooDeep({ parameters: nest(65, "parameters") }, 64, STORED)).toMatchObject({ field: "body.parameters" });
    expect(findTooDeep(nest(65, "extra"), 64, STORED)).toBeNull(); // the root, then 64 levels from the field
  });

  it("cuts long keys out of the field and path it names", () => {
    const key = "k".repeat(10_000);
    const found = findTooDeep({ [key]: { parameters: nest(65) } }, 64, STORED)!;
    expect(found.field.length).toBeLessThanOrEqual(121);
    expect(found.field).toMatch(/^body\.kkkk.*…$/);
    expect(found.at.length).toBeLessThanOrEqual(121);
  });

  it("walks 100,000 levels without recursing", () => {
    expect(findTooDeep({ parameters: nest(100_000) }, 64, STORED)).toMatchObject({ field: "body.parameters" });
  });
});
