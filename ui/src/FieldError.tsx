/**
 * A form's error beside the input it is about. The server names the field at fault in its 400s
 * (`body.concurrencyLimit must be >= 1`, `body.spec.cron "x" is invalid`): `fieldOfMessage`
 * finds which of a form's fields that is, so the message shows where the fix is typed. Also the
 * browser-side check of a number field that forms share (`wholeNumber`).
 */

export function FieldError({ text, testId }: { text: string | undefined; testId: string }) {
  return text ? (
    <span className="error" data-testid={testId}>
      {text}
    </span>
  ) : null;
}

/** Which of `fields` a server message names (`body.<field>` or `params.<field>`, with `prefix` before the field), else null. */
export function fieldOfMessage<F extends string>(message: string, fields: readonly F[], prefix = "body."): F | null {
  for (const field of fields) {
    const at = `${prefix}${field}`;
    if (message.startsWith(at) && !/[A-Za-z0-9_]/.test(message.charAt(at.length))) return field;
    if (message.startsWith(`params.${field}`)) return field;
  }
  return null;
}

/** The field errors of a form: the browser's own checks, else the server's message at the field it names (or under `fallback`). */
export function fieldErrors<F extends string>(local: Partial<Record<F, string>>, serverError: string | null, fields: readonly F[], fallback: F): Partial<Record<F, string>> {
  if (Object.keys(local).length > 0 || !serverError) return local;
  return { [fieldOfMessage(serverError, fields) ?? fallback]: serverError } as Partial<Record<F, string>>;
}

/** "" → null (no limit); else a whole number of at least `min`, or why not. */
export function wholeNumber(text: string, min: number, emptyIs: number | null): { value: number | null } | { problem: string } {
  if (!text.trim()) return emptyIs === null ? { value: null } : { value: emptyIs };
  const n = Number(text);
  return Number.isInteger(n) && n >= min ? { value: n } : { problem: `a whole number of ${min} or more${emptyIs === null ? " (empty: no limit)" : ""}` };
}
