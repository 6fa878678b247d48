/**
 * A flow's parameters' JSON Schema as people read it: one row per parameter (nested objects'
 * fields beneath, as `options.depth`) with its type, whether it is required, its default, its
 * constraints and its description. The raw schema is one click away.
 */
import { unwrapNullable, type JsonSchema } from "./schema-form.ts";

interface Row {
  path: string;
  type: string;
  required: boolean;
  fallback: unknown;
  rules: string[];
  description: string | undefined;
}

function typeOf(raw: JsonSchema): string {
  const { schema, nullable } = unwrapNullable(raw);
  let type: string;
  if (schema.enum) type = `one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  else if (schema.const !== undefined) type = `exactly ${JSON.stringify(schema.const)}`;
  else if (schema.anyOf ?? schema.oneOf) type = (schema.anyOf ?? schema.oneOf)!.map(typeOf).join(" | ");
  else if (schema.type === "array") type = `array of ${schema.items ? typeOf(schema.items) : "anything"}`;
  else type = Array.isArray(schema.type) ? schema.type.join(" | ") : (schema.type ?? "any");
  return nullable ? `${type} or null` : type;
}

function rulesOf(raw: JsonSchema): string[] {
  const { schema: s } = unwrapNullable(raw);
  const rules: string[] = [];
  if (s.minimum !== undefined) rules.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) rules.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) rules.push(`≤ ${s.maximum}`);
  if (s.exclusiveMaximum !== undefined) rules.push(`< ${s.exclusiveMaximum}`);
  if (s.multipleOf !== undefined) rules.push(`multiple of ${s.multipleOf}`);
  if (s.minLength !== undefined) rules.push(`at least ${s.minLength} character(s)`);
  if (s.maxLength !== undefined) rules.push(`at most ${s.maxLength} character(s)`);
  if (s.pattern !== undefined) rules.push(`matches ${s.pattern}`);
  if (s.format !== undefined) rules.push(`format ${s.format}`);
  if (s.minItems !== undefined) rules.push(`at least ${s.minItems} item(s)`);
  if (s.maxItems !== undefined) rules.push(`at most ${s.maxItems} item(s)`);
  if (s.uniqueItems) rules.push("unique items");
  return rules;
}

function rowsOf(schema: JsonSchema, prefix: string, depth: number): Row[] {
  return Object.entries(schema.properties ?? {}).flatMap(([name, raw]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    const { schema: inner } = unwrapNullable(raw);
    const row: Row = { path, type: typeOf(raw), required: schema.required?.includes(name) ?? false, fallback: inner.default, rules: rulesOf(raw), description: inner.description ?? inner.title };
    // Nested objects' own fields follow their parent (a few levels: deeper is in the raw schema).
    return inner.properties && depth < 3 ? [row, ...rowsOf(inner, path, depth + 1)] : [row];
  });
}

export function ParameterSchemaTable({ schema, defaults }: { schema: JsonSchema; defaults?: Record<string, unknown> }) {
  const rows = rowsOf(schema, "", 0);
  return (
    <div data-testid="parameter-schema">
      {rows.length === 0 ? (
        <p className="muted">This flow takes no parameters.</p>
      ) : (
        <table className="runs static">
          <thead>
            <tr>
              <th>Parameter</th>
              <th>Type</th>
              <th>Required</th>
              <th>Default</th>
              <th>Rules</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const fallback = defaults && !r.path.includes(".") && defaults[r.path] !== undefined ? defaults[r.path] : r.fallback;
              return (
                <tr key={r.path} data-parameter={r.path}>
                  <td>
                    <code>{r.path}</code>
                  </td>
                  <td>{r.type}</td>
                  <td>{r.required ? "yes" : "no"}</td>
                  <td>{fallback === undefined ? "–" : <code>{JSON.stringify(fallback)}</code>}</td>
                  <td className="muted">{r.rules.join(", ") || "–"}</td>
                  <td className="muted">{r.description ?? ""}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <details>
        <summary>JSON Schema</summary>
        <pre>{JSON.stringify(schema, null, 2)}</pre>
      </details>
    </div>
  );
}
