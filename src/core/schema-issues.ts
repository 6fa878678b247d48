/**
 * Messages for JSON Schema (ajv) validation failures that name each field: "body.state.name
 * must be one of Scheduled, Late, …". Shared by the API's request validation, deployment
 * parameters (services/parameters.ts) and webhook templates.
 */
import { cutPath, excerpt, excerptValue } from "./excerpt.ts";

export interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Most issues one error lists: ajv with allErrors reports one per bad field, and a request can have thousands. */
const MAX_ISSUES = 10;
/**
 * "body.state.name must be one of Scheduled, Late, …" for each of ajv's issues under `part`
 * (body, querystring, parameters), and details with each issue's path, keyword and params.
 * Keys and values quoted from the request or the schema are cut.
 */
export function describeIssues(issues: readonly AjvIssue[], part: string): { message: string; details: unknown[] } {
  const shown = issues.slice(0, MAX_ISSUES);
  const messages = shown.map((issue) => {
    const field = cutPath(`${part}${(issue.instancePath ?? "").replace(/\//g, ".")}`);
    const params = issue.params ?? {};
    if (issue.keyword === "additionalProperties") return `${field} has an unknown field "${excerpt(String(params.additionalProperty))}"`;
    if (issue.keyword === "required") return `${field}.${excerpt(String(params.missingProperty))} is required`;
    if (issue.keyword === "pattern") return `${field} must match pattern "${excerpt(String(params.pattern))}"`;
    if (issue.keyword === "enum") return `${field} must be one of ${excerpt((params.allowedValues as unknown[]).join(", "))}`;
    return `${field} ${excerpt(issue.message ?? "is invalid")}`;
  });
  if (issues.length > shown.length) messages.push(`and ${issues.length - shown.length} more`);
  const details = shown.map((issue) => ({
    path: cutPath(issue.instancePath ?? ""),
    keyword: issue.keyword,
    params: Object.fromEntries(Object.entries(issue.params ?? {}).map(([key, value]) => [key, excerptValue(value)])),
  }));
  return { message: messages.join("; "), details };
}
