/** The deployment Run form's model: inputs per JSON Schema type, text to values, and the browser-side check. */
import { describe, expect, it } from "vitest";
import { check, fieldKind, formParameters, fromText, toText, type JsonSchema } from "../../ui/src/schema-form.ts";

const schema: JsonSchema = {
  type: "object",
  properties: {
    count: { type: "integer", minimum: 1, maximum: 10 },
    rate: { type: "number", exclusiveMinimum: 0, multipleOf: 0.5 },
    name: { type: "string", minLength: 2, maxLength: 5, pattern: "^[a-z]+$" },
    email: { type: "string", format: "email" },
    when: { anyOf: [{ type: "string", format: "date" }, { type: "null" }] },
    mode: { enum: ["fast", "slow", 3] },
    dry: { type: "boolean" },
    tags: { type: "array", items: { type: "string", minLength: 1 }, maxItems: 2, uniqueItems: true },
    nested: { type: "object", properties: { depth: { type: "integer" } }, required: ["depth"], additionalProperties: false },
  },
  required: ["count", "name"],
};
const field = (name: string) => schema.properties![name]!;

describe("Run form model", () => {
  it("gives each type its input, nullable unions unwrapped", () => {
    expect(["count", "rate", "name", "when", "mode", "dry", "tags", "nested"].map((n) => fieldKind(field(n)))).toEqual(["integer", "number", "string", "string", "enum", "boolean", "json", "json"]);
    expect(fieldKind({ type: ["integer", "null"] })).toBe("integer");
    expect(fieldKind({ anyOf: [{ type: "string" }, { type: "integer" }] })).toBe("json");
  });

  it("turns texts into values; an empty field is left to the default", () => {
    expect(fromText("count", field("count"), "")).toBeUndefined();
    expect(fromText("count", field("count"), "3")).toEqual({ value: 3 });
    expect(fromText("count", field("count"), "three")).toEqual({ error: "parameters.count must be a number" });
    expect(fromText("mode", field("mode"), "3")).toEqual({ value: 3 });
    expect(fromText("when", field("when"), "null")).toEqual({ value: null });
    expect(fromText("nested", field("nested"), "{bad")).toEqual({ error: "parameters.nested must be JSON (object)" });
    expect(toText({ depth: 1 }, field("nested"))).toBe('{"depth":1}');
    expect(toText(3, field("mode"))).toBe("3");
  });

  it("checks every keyword a form can get wrong, naming the field as the server does", () => {
    const cases: [string, unknown, string | null][] = [
      ["count", 0, "parameters.count must be >= 1"],
      ["count", 11, "parameters.count must be <= 10"],
      ["count", 1.5, "parameters.count must be integer"],
      ["rate", 0, "parameters.rate must be > 0"],
      ["rate", 0.7, "parameters.rate must be a multiple of 0.5"],
      ["name", "a", "parameters.name must have at least 2 character(s)"],
      ["name", "abcdef", "parameters.name must have at most 5 character(s)"],
      ["name", "ab1", "parameters.name must match the pattern ^[a-z]+$"],
      ["email", "not-an-email", "parameters.email must be a valid email"],
      ["when", "2024-13", "parameters.when must be a valid date"],
      ["when", null, null],
      ["mode", "medium", 'parameters.mode must be one of "fast", "slow", 3'],
      ["tags", ["a", "a"], "parameters.tags must not repeat items"],
      ["tags", ["a", "b", "c"], "parameters.tags must have at most 2 item(s)"],
      ["tags", ["a", ""], "parameters.tags.1 must have at least 1 character(s)"],
      ["nested", {}, "parameters.nested.depth is required"],
      ["nested", { depth: 1, extra: 1 }, 'parameters.nested has an unknown field "extra"'],
      ["nested", { depth: "deep" }, "parameters.nested.depth must be integer"],
    ];
    for (const [name, value, expected] of cases) expect(check(`parameters.${name}`, field(name), value), `${name}=${JSON.stringify(value)}`).toBe(expected);
  });

  it("fills the deployment's defaults before checking required fields, and sends only what was typed", () => {
    expect(formParameters(schema, { count: "", name: "" }, { count: 2, name: "ab" })).toEqual({});
    expect(formParameters(schema, { count: "", name: "" }, { count: 2 })).toBe("parameters.name is required");
    expect(formParameters(schema, { count: "4", name: "xy", tags: '["a"]' }, {})).toEqual({ count: 4, name: "xy", tags: ["a"] });
    expect(formParameters(schema, { count: "0", name: "xy" }, {})).toBe("parameters.count must be >= 1");
  });
});
