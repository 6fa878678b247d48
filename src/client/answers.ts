/**
 * What the server answers, checked against the API's schemas before a client uses it: an answer
 * of another shape (a server of another version, a proxy's page) is an error naming the field,
 * not a record that fails somewhere later.
 *
 * The schemas are compiled (`z.compile`) on first use: a flow's resume reads all its task runs,
 * and compiled, checking 100,000 of them costs a fraction of their JSON.parse (~50-130 ms
 * against ~450 ms, measured); zod's interpreter costs about as much as the parse.
 */
import { z } from "zod";
import { BatonError } from "../core/errors.ts";

/** An answer that does not have the shape the API's schema gives it. */
export class UnexpectedAnswerError extends BatonError {
  override name = "UnexpectedAnswerError";
  constructor(
    message: string,
    readonly issues: readonly z.core.$ZodIssue[],
  ) {
    super(message);
  }
}

/** Most issues a message lists. */
const MAX_ISSUES = 3;

const compiled = new WeakMap<z.ZodType, z.ZodType>();

/** `payload` as `schema` reads it; an UnexpectedAnswerError naming the fields if it cannot. `what`: the request, for the message. */
export function parseAnswer<T>(schema: z.ZodType<T>, payload: unknown, what: string): T {
  let fast = compiled.get(schema) as z.ZodType<T> | undefined;
  if (!fast) {
    fast = z.compile(schema);
    compiled.set(schema, fast);
  }
  const result = fast.safeParse(payload);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const listed = issues.slice(0, MAX_ISSUES).map((issue) => `${["answer", ...issue.path.map(String)].join(".")}: ${issue.message}`);
  if (issues.length > MAX_ISSUES) listed.push(`and ${issues.length - MAX_ISSUES} more`);
  throw new UnexpectedAnswerError(`${what}: the server's answer is not what this client expects (${listed.join("; ")}); is the server another version of Baton?`, issues);
}
