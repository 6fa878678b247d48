/**
 * `pauseFlowRun`: stop a flow run until someone gives it input — an approval gate, a value only
 * a person knows. The run goes Paused with the JSON Schema of the input it asks for; the
 * dashboard draws a form from it, `baton flow-run resume ID --input '{…}'` and
 * `POST /api/flow-runs/{id}/resume` take it too. Input that passes the schema resumes the run and
 * is what `pauseFlowRun` returns.
 *
 * A deployment's run is suspended while it waits (its process exits; it holds no worker slot)
 * and runs again from the start when resumed: tasks that finished return their stored results,
 * and this call returns the input instead of pausing again. Any other run waits in place.
 * Call it in the flow function (not in a task), and let its error pass if you wrap it in a
 * try/catch: that error is how a suspended run unwinds.
 *
 * @example
 * import { z } from "zod";
 * import { flow, pauseFlowRun } from "baton";
 * const promote = flow(async function promote() {
 *   const { approve, note } = await pauseFlowRun({
 *     description: "Promote model v7 to production?",
 *     input: z.object({ approve: z.boolean(), note: z.string().default("") }),
 *     timeoutMs: 24 * 3600_000,
 *     default: { approve: false },
 *   });
 *   return approve ? `promoted (${note})` : "kept v6";
 * });
 */
import { z } from "zod";
import { BatonError } from "../core/errors.ts";
import { checkPauseKey } from "../core/flow-run-inputs.ts";
import { findNonJson } from "../core/json-values.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import { pauseFlowRunHere, type PauseCall } from "../engine/pause.ts";

export interface PauseOptions<S extends z.ZodType = z.ZodType<unknown>> {
  /** The input asked for; its JSON Schema is stored for forms and checks. Default: any JSON. */
  input?: S;
  /** What the person resuming the run is asked (shown above the form). */
  description?: string;
  /** The run fails after this long without input (ms), or takes `default`. Default: no timeout. */
  timeoutMs?: number;
  /** Taken as the input when `timeoutMs` passes (it must pass `input`). */
  default?: z.input<S>;
  /** The pause's name within the run (default: its call order, pause-1, pause-2…). */
  key?: string;
}

/** Pauses the current flow run until it is resumed with input, and returns that input (see the module's comment). */
export async function pauseFlowRun<S extends z.ZodType = z.ZodType<unknown>>(options: PauseOptions<S> = {}): Promise<z.output<S>> {
  const ctx = currentEngineContext();
  if (!ctx) throw new BatonError("pauseFlowRun() needs a running flow: call it from a flow function");
  if (ctx.task) throw new BatonError(`pauseFlowRun() was called in task run ${ctx.task.name} (${ctx.task.id}); call it in the flow function, between tasks`);
  return (await pauseFlowRunHere(ctx.flow, compilePause(options))) as z.output<S>;
}

/** The options checked (each refusal names the option) and compiled for the engine. */
function compilePause<S extends z.ZodType>(options: PauseOptions<S>): PauseCall {
  const { input, description, timeoutMs, key } = options;
  if (input !== undefined && !(input instanceof z.ZodType)) throw new TypeError("pauseFlowRun: options.input must be a zod schema");
  if (description !== undefined && (typeof description !== "string" || description.length > 10_000))
    throw new TypeError("pauseFlowRun: options.description must be a string of at most 10,000 characters");
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) throw new TypeError(`pauseFlowRun: options.timeoutMs must be a positive integer (ms), got ${String(timeoutMs)}`);
  if (key !== undefined) checkPauseKey(key);
  let schema: Record<string, unknown> | null = null;
  if (input) {
    try {
      schema = z.toJSONSchema(input, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
    } catch (error) {
      throw new TypeError(`pauseFlowRun: options.input cannot be described as JSON Schema: ${(error as Error).message}`);
    }
    delete schema.$schema; // draft 2020-12 marker; the server validates with draft-07 semantics
  }
  const request: PauseCall["request"] = { schema, description: description ?? null };
  if ("default" in options && options.default !== undefined) {
    const nonJson = findNonJson(options.default, "options.default");
    if (nonJson) throw new TypeError(`pauseFlowRun: ${nonJson.path} is ${nonJson.what}; the default input must be JSON`);
    const checked = input?.safeParse(options.default);
    if (checked && !checked.success) throw new TypeError(`pauseFlowRun: options.default does not pass options.input: ${checked.error.message}`);
    request.default = options.default;
  }
  return { key, request, timeoutMs: timeoutMs ?? null, parse: (value) => (input ? input.parse(value) : value) };
}
