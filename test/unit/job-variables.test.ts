/** Job variables: validation that names the field, and the pool <- deployment <- run merge. */
import { describe, expect, it } from "vitest";
import { compileJobVariables, mergeJobVariables } from "../../src/core/job-variables.ts";

describe("job variables", () => {
  it("merges pool, deployment and run, later layers winning key by key", () => {
    const merged = mergeJobVariables({ env: { A: "pool", B: "pool" }, cwd: "/pool" }, { env: { B: "deployment", C: "deployment" } }, null, { env: { C: "run" } });
    expect(merged).toEqual({ env: { A: "pool", B: "deployment", C: "run" }, cwd: "/pool" });
    expect(mergeJobVariables({ cwd: "/a" }, { cwd: "/b" })).toEqual({ cwd: "/b" });
    expect(mergeJobVariables()).toEqual({});
  });

  it("reads YAML-ish values: numbers and booleans become strings", () => {
    expect(compileJobVariables({ env: { PORT: 8080, DEBUG: true, NAME: "x" }, cwd: "jobs" })).toEqual({ env: { PORT: "8080", DEBUG: "true", NAME: "x" }, cwd: "jobs" });
    expect(compileJobVariables(undefined)).toEqual({});
  });

  it.each([
    [[], /job_variables must be an object/],
    [{ env: { "1BAD": "x" } }, /job_variables\.env: "1BAD" is not a valid environment variable name/],
    [{ env: { A: { nested: 1 } } }, /job_variables\.env\.A must be a string, got object/],
    [{ env: "A=1" }, /job_variables\.env must be an object/],
    [{ cwd: "" }, /job_variables\.cwd must be a non-empty path/],
    [{ image: "x" }, /job_variables has an unknown field "image"/],
  ])("rejects %j", (input, message) => {
    expect(() => compileJobVariables(input)).toThrow(message);
  });
});
