/**
 * Experiment tracking's values, checked before they leave the run: a run's parameters (any JSON
 * value, stored as JSON text, one per key: logging a key again replaces it) and its metrics (a
 * finite number per name and step; a step logged again replaces its value, so a retried task
 * redraws its curve instead of doubling it). Pure: the SDK (sdk/experiments.ts) and the API
 * (schemas/experiment.ts) share these rules.
 */

/** A metric's value at a step. */
export interface MetricPoint {
  name: string;
  step: number;
  value: number;
  timestamp: number;
}

/** What one run (a flow run, or one of its task runs) logged, on its way to the store. */
export interface RunValues {
  flowRunId: string;
  /** The task run that logged them; null: the flow run itself. */
  taskRunId: string | null;
  experiment: string;
  /** Parameter → its value as JSON text. */
  params: Record<string, string>;
  metrics: MetricPoint[];
}

export const MAX_NAME_LENGTH = 200;
export const MAX_PARAM_JSON = 10_000;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A parameter or metric name: non-empty, at most 200 characters, no control characters. */
export function nameProblem(name: unknown, field: string): string | null {
  if (typeof name !== "string" || name === "" || name.length > MAX_NAME_LENGTH || CONTROL.test(name))
    return `${field} must be a non-empty name of at most ${MAX_NAME_LENGTH} characters without control characters, got ${JSON.stringify(name)?.slice(0, 80) ?? String(name)}`;
  return null;
}

/** Parameters as JSON text per key; throws a TypeError naming the key at fault. */
export function paramsAsJson(params: unknown, field = "logParams(params)"): Record<string, string> {
  if (params === null || typeof params !== "object" || Array.isArray(params)) throw new TypeError(`${field} must be an object of parameter → value`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    const problem = nameProblem(key, `${field}: the key`);
    if (problem) throw new TypeError(problem);
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new TypeError(`${field}.${key} is not JSON: ${(error as Error).message}`);
    }
    if (json === undefined) throw new TypeError(`${field}.${key} is not JSON (got ${typeof value}); log a string, number, boolean, array or object`);
    if (json.length > MAX_PARAM_JSON) throw new TypeError(`${field}.${key} is ${json.length} characters as JSON; a parameter may be at most ${MAX_PARAM_JSON}`);
    out[key] = json;
  }
  return out;
}

/** A metric's value and step; throws a TypeError naming the metric. */
export function checkMetric(name: unknown, value: unknown, step: unknown, field = "logMetric"): void {
  const problem = nameProblem(name, `${field}(name)`);
  if (problem) throw new TypeError(problem);
  if (typeof value !== "number" || !Number.isFinite(value)) throw new TypeError(`${field}("${String(name)}", value): value must be a finite number, got ${String(value)}`);
  if (step !== undefined && (typeof step !== "number" || !Number.isSafeInteger(step) || step < 0))
    throw new TypeError(`${field}("${String(name)}", value, { step }): step must be a whole number ≥ 0, got ${String(step)}`);
}
