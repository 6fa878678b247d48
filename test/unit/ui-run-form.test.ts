/** The Run form's model beyond the parameters' check: choices as selects, each field's problem, a server message's field, the run's own options. */
import { describe, expect, it } from "vitest";
import { enumOptions, fieldKind, fieldOfMessage, fieldProblems, fromText, type JsonSchema } from "../../ui/src/schema-form.ts";
import { runOptions } from "../../ui/src/run-options.ts";

const schema: JsonSchema = {
  type: "object",
  properties: {
    depth: { type: "integer", minimum: 1 },
    mode: { type: "string", enum: ["fast", "thorough"] },
    model: { anyOf: [{ const: "forest" }, { const: "boosted" }] },
    level: { anyOf: [{ const: 1 }, { const: 2 }, { type: "null" }] },
    note: { type: "string", maxLength: 5 },
    seed: { type: "integer", default: 7 },
  },
  required: ["depth", "seed"],
};
const field = (name: string) => schema.properties![name]!;

describe("Run form: choices", () => {
  it("draws an enum, or a union of constants (zod's literals), as a select of its values", () => {
    expect(enumOptions(field("mode"))).toEqual(["fast", "thorough"]);
    expect(enumOptions(field("model"))).toEqual(["forest", "boosted"]);
    expect(enumOptions(field("level"))).toEqual([1, 2, null]);
    expect(enumOptions(field("depth"))).toBeNull();
    expect(enumOptions({ anyOf: [{ const: "a" }, { type: "string" }] })).toBeNull();
    expect(["mode", "model", "level"].map((n) => fieldKind(field(n)))).toEqual(["enum", "enum", "enum"]);
    expect(fromText("model", field("model"), "boosted")).toEqual({ value: "boosted" });
    expect(fromText("level", field("level"), "2")).toEqual({ value: 2 });
    expect(fromText("level", field("level"), "null")).toEqual({ value: null });
    expect(fromText("model", field("model"), "other")).toEqual({ error: 'parameters.model must be one of "forest", "boosted"' });
  });
});

describe("Run form: problems at their fields", () => {
  it("names every field's problem at once; defaults fill required fields", () => {
    expect(fieldProblems(schema, { depth: "0", note: "too long", model: "x" }, {})).toEqual({
      depth: "parameters.depth must be >= 1",
      note: "parameters.note must have at most 5 character(s)",
      model: 'parameters.model must be one of "forest", "boosted"',
    });
    // depth is required and has no default here; seed's schema default fills it in.
    expect(fieldProblems(schema, {}, {})).toEqual({ depth: "parameters.depth is required" });
    expect(fieldProblems(schema, {}, { depth: 2 })).toEqual({});
    expect(fieldProblems(schema, { depth: "1.5" }, {})).toEqual({ depth: "parameters.depth must be integer" });
  });

  it("finds the field a server's refusal names", () => {
    const names = Object.keys(schema.properties!);
    expect(fieldOfMessage("body.parameters.depth must be >= 1", names)).toBe("depth");
    expect(fieldOfMessage("parameters.note must NOT have more than 5 characters", names)).toBe("note");
    expect(fieldOfMessage("parameters.nested.inner must be integer", ["nested"])).toBe("nested");
    expect(fieldOfMessage("parameters.unknown must be integer", names)).toBeNull();
    expect(fieldOfMessage("body.jobVariables.env.X is refused", names)).toBeNull();
  });
});

describe("Run form: the run's own options", () => {
  const empty = { name: "", tags: "", start: "", workQueue: "", jobVariables: "" };

  it("sends only what was filled in", () => {
    expect(runOptions(empty)).toEqual({ body: {}, problems: {} });
    const start = "2030-01-02T03:04";
    expect(runOptions({ name: " by hand ", tags: "a, b,, c", start, workQueue: "urgent", jobVariables: '{"env": {"LOG": "debug"}, "cwd": "/srv"}' })).toEqual({
      body: { name: "by hand", tags: ["a", "b", "c"], scheduledAt: new Date(start).getTime(), workQueue: "urgent", jobVariables: { env: { LOG: "debug" }, cwd: "/srv" } },
      problems: {},
    });
  });

  it("names the field of each problem", () => {
    expect(runOptions({ ...empty, name: "x".repeat(201), tags: "y".repeat(101), start: "not a time", jobVariables: "{env:" }).problems).toEqual({
      name: "name must have at most 200 characters",
      tags: "tags must each have at most 100 characters",
      start: "start must be a date and time",
      jobVariables: 'jobVariables must be JSON: { "env": { "NAME": "value" }, "cwd": "/path" }',
    });
    const job = (text: string) => runOptions({ ...empty, jobVariables: text }).problems.jobVariables;
    expect(job("[1]")).toBe("jobVariables must be an object");
    expect(job('{"image": "x"}')).toBe('jobVariables has an unknown field "image": only env and cwd');
    expect(job('{"env": {"N": 1}}')).toBe("jobVariables.env must map names to string values");
    expect(job('{"cwd": ""}')).toBe("jobVariables.cwd must be a non-empty string");
  });
});
