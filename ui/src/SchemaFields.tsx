/** The inputs of a form drawn from an object's JSON Schema (schema-form.ts): a deployment's Run form, a paused run's input form. */
import { enumOptions, fieldKind, toText, unwrapNullable, type JsonSchema } from "./schema-form.ts";

export function SchemaFields({
  schema,
  texts,
  fallbacks,
  onChange,
  problems = {},
}: {
  schema: JsonSchema;
  texts: Record<string, string>;
  /** What an empty field takes (a deployment's parameters); the schema's defaults otherwise. */
  fallbacks: Record<string, unknown>;
  onChange: (name: string, raw: JsonSchema, text: string) => void;
  /** A problem to show at a field, by field name. */
  problems?: Record<string, string>;
}) {
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([name, raw]) => {
        const { schema: field, nullable } = unwrapNullable(raw);
        const kind = fieldKind(raw);
        const fallback = fallbacks[name] ?? field.default;
        const required = schema.required?.includes(name) && fallback === undefined;
        const value = texts[name] ?? "";
        const change = (text: string) => onChange(name, raw, text);
        const problem = problems[name];
        const common = { name, "aria-invalid": problem ? true : undefined, "aria-describedby": problem ? `problem-${name}` : undefined };
        return (
          <label key={name} data-field={name}>
            <span>
              {field.title ?? name}
              {required ? " *" : ""} <span className="muted">({Array.isArray(field.type) ? field.type.join(" | ") : (field.type ?? kind)}{nullable ? ", or null" : ""})</span>
            </span>
            {kind === "boolean" || kind === "enum" ? (
              <select value={value} onChange={(e) => change(e.target.value)} {...common}>
                <option value="">{fallback === undefined ? "–" : `default (${toText(fallback, raw)})`}</option>
                {(kind === "boolean" ? [true, false] : (enumOptions(raw) ?? [])).map((o) => (
                  <option key={toText(o, raw)} value={toText(o, raw)}>
                    {toText(o, raw)}
                  </option>
                ))}
              </select>
            ) : kind === "json" ? (
              <textarea rows={3} value={value} onChange={(e) => change(e.target.value)} placeholder={fallback === undefined ? "JSON" : `default: ${JSON.stringify(fallback)}`} spellCheck={false} {...common} />
            ) : (
              <input
                type={kind === "integer" || kind === "number" ? "number" : "text"}
                step={kind === "integer" ? 1 : "any"}
                value={value}
                onChange={(e) => change(e.target.value)}
                placeholder={fallback === undefined ? "" : `default: ${toText(fallback, raw)}`}
                {...common}
              />
            )}
            {problem && (
              <span className="error field-error" id={`problem-${name}`} data-testid={`problem-${name}`}>
                {problem}
              </span>
            )}
            {field.description && <span className="muted">{field.description}</span>}
          </label>
        );
      })}
    </>
  );
}
