/**
 * A run's own options in the Run form (name, tags, start time, work queue, job variables): their
 * texts turned into the fields of `POST /deployments/{name}/runs`, each problem named by its
 * field (the server checks them again; env names it refuses are its to say).
 */
import { tagList } from "./values.ts";

/** The run's own options, as typed (checked by `runOptions`). */
export interface RunOptionTexts {
  name: string;
  tags: string;
  start: string;
  workQueue: string;
  jobVariables: string;
}
export type OptionField = keyof RunOptionTexts;
export const OPTION_FIELDS: readonly OptionField[] = ["name", "tags", "start", "workQueue", "jobVariables"];

/** A datetime-local input's text (local time) as epoch ms, or null when it is not a time. */
function localTime(text: string): number | null {
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** The body's run options from the texts, or each field's problem. */
export function runOptions(o: RunOptionTexts): { body: Record<string, unknown>; problems: Partial<Record<OptionField, string>> } {
  const body: Record<string, unknown> = {};
  const problems: Partial<Record<OptionField, string>> = {};
  if (o.name.trim()) {
    if (o.name.trim().length > 200) problems.name = "name must have at most 200 characters";
    else body.name = o.name.trim();
  }
  const tags = tagList(o.tags);
  if (tags.some((t) => t.length > 100)) problems.tags = "tags must each have at most 100 characters";
  else if (tags.length) body.tags = tags;
  if (o.start) {
    const at = localTime(o.start);
    if (at === null) problems.start = "start must be a date and time";
    else body.scheduledAt = at;
  }
  if (o.workQueue) body.workQueue = o.workQueue;
  if (o.jobVariables.trim()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(o.jobVariables);
    } catch {
      problems.jobVariables = 'jobVariables must be JSON: { "env": { "NAME": "value" }, "cwd": "/path" }';
    }
    if (parsed !== undefined) {
      const v = parsed as Record<string, unknown>;
      const env = v.env as Record<string, unknown> | undefined;
      if (typeof v !== "object" || v === null || Array.isArray(v)) problems.jobVariables = "jobVariables must be an object";
      else if (Object.keys(v).some((k) => k !== "env" && k !== "cwd")) problems.jobVariables = `jobVariables has an unknown field "${Object.keys(v).find((k) => k !== "env" && k !== "cwd")}": only env and cwd`;
      else if (env !== undefined && (typeof env !== "object" || env === null || Array.isArray(env) || Object.values(env).some((x) => typeof x !== "string")))
        problems.jobVariables = "jobVariables.env must map names to string values";
      else if (v.cwd !== undefined && (typeof v.cwd !== "string" || !v.cwd)) problems.jobVariables = "jobVariables.cwd must be a non-empty string";
      else body.jobVariables = v;
    }
  }
  return { body, problems };
}
