/** The infrastructure of each work pool type (process: worker/infrastructure.ts; docker: worker/docker.ts). */
import { DockerInfrastructure } from "./docker.ts";
import { ProcessInfrastructure, type Infrastructure } from "./infrastructure.ts";

/** The work pool types a worker can start runs for. */
export const WORK_POOL_TYPES = ["process", "docker"] as const;

export function infrastructureFor(type: string): Infrastructure {
  if (type === "process") return new ProcessInfrastructure();
  if (type === "docker") return new DockerInfrastructure();
  throw new TypeError(`work pool type "${type}" is not supported; supported: ${WORK_POOL_TYPES.join(", ")}`);
}
