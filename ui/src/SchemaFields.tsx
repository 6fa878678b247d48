/** The inputs of a form drawn from an object's JSON Schema (schema-form.ts): a deployment's Run form, a paused run's input form. */
import { fieldKind, toText, unwrapNullable, type JsonSchema } from "./schema-form.ts";

export function SchemaFields({
  schema,
  texts,
  fallbacks,
  onChange,
}: {
  schema: JsonSchema;
  texts: Record<string, string>;
  /** What an empty field takes (a deployment's parameters); the schema's defaults otherwise. */
  fallbacks: Record<string, unknown>;
  onChange: (name: string, raw: JsonSchema, text: string) => void;
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
        return (
          <label key={name}>
            <span>
              {field.title ?? name}
              {required ? " *" : ""} <span className="muted">({Array.isArray(field.type) ? field.type.join(" | ") : (field.type ?? kind)}{nullable ? ", or null" : ""})</span>
            </span>
            {kind === "boolean" || kind === "enum" ? (
              <select value={value} onChange={(e) => change(e.target.value)} name={name}>
                <option value="">{fallback === undefined ? "–" : `default (${toText(fallback, raw)})`}</option>
                {(kind === "boolean" ? [true, false] : (field.enum ?? [])).map((o) => (
                  <option key={toText(o, raw)} value={toText(o, raw)}>
                    {toText(o, raw)}
                  </option>
                ))}
              </select>
            ) : kind === "json" ? (
              <textarea name={name} rows={3} value={value} onChange={(e) => change(e.target.value)} placeholder={fallback === undefined ? "JSON" : `default: ${JSON.stringify(fallback)}`} spellCheck={false} />
            ) : (
              <input
                name={name}
                type={kind === "integer" || kind === "number" ? "number" : "text"}
                step={kind === "integer" ? 1 : "any"}
                value={value}
                onChange={(e) => change(e.target.value)}
                placeholder={fallback === undefined ? "" : `default: ${toText(fallback, raw)}`}
              />
            )}
            {field.description && <span className="muted">{field.description}</span>}
          </label>
        );
      })}
    </>
  );
}
