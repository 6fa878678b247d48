/** Job variables (see core/job-variables.ts): the environment of a run's process and its working directory. */
import { z } from "zod";
import { ENV_NAME, IMAGE_NAME, MEMORY_SIZE, NETWORK_NAME, PULL_POLICIES, VOLUME, type JobVariables } from "../core/job-variables.ts";
import type { Equal } from "./type-equality.ts";

export const JobVariablesSchema = z.strictObject({
  env: z
    .record(z.string().regex(ENV_NAME), z.string().max(100_000))
    .meta({ maxProperties: 500 })
    .describe("environment variables of the run's process (on top of the worker's own)")
    .optional(),
  cwd: z.string().min(1).max(4000).describe("working directory of the run's process; relative paths are read from the worker's").optional(),
  image: z.string().max(1000).regex(IMAGE_NAME).describe("Docker pools: the image of the run's container").optional(),
  volumes: z.array(z.string().max(4000).regex(VOLUME)).max(100).describe("Docker pools: bind mounts HOST_PATH:CONTAINER_PATH[:ro]").optional(),
  cpus: z.number().gt(0).max(1024).describe("Docker pools: CPUs the container may use").optional(),
  memory: z
    .union([z.int().min(6 * 1024 * 1024), z.string().max(40).regex(MEMORY_SIZE)])
    .describe("Docker pools: the container's memory limit, bytes or a size like 512m, 2g")
    .optional(),
  gpus: z.union([z.literal("all"), z.int().min(1)]).describe('Docker pools: GPUs given to the container: "all" or how many').optional(),
  network: z.string().max(200).regex(NETWORK_NAME).describe("Docker pools: the container's network (default host)").optional(),
  pull: z.enum(PULL_POLICIES).describe("Docker pools: when the image is pulled (default missing)").optional(),
});
export const JOB_VARIABLES_MATCH_CORE: Equal<z.output<typeof JobVariablesSchema>, JobVariables> = true;
