/** Job variables (see core/job-variables.ts): the environment of a run's process and its working directory. */
import { z } from "zod";
import { ENV_NAME, type JobVariables } from "../core/job-variables.ts";
import type { Equal } from "./type-equality.ts";

export const JobVariablesSchema = z.strictObject({
  env: z
    .record(z.string().regex(ENV_NAME), z.string().max(100_000))
    .meta({ maxProperties: 500 })
    .describe("environment variables of the run's process (on top of the worker's own)")
    .optional(),
  cwd: z.string().min(1).max(4000).describe("working directory of the run's process; relative paths are read from the worker's").optional(),
});
export const JOB_VARIABLES_MATCH_CORE: Equal<z.output<typeof JobVariablesSchema>, JobVariables> = true;
