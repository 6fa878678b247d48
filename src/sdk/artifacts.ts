/**
 * Artifacts: what a run publishes for people to read next to it — a markdown report, a table
 * (an array of row objects), a link. Shown on the run's page in the dashboard. An attempt that
 * runs again (a retry, a resume) publishes its artifacts in place of the earlier attempt's: the
 * nth artifact of the flow function, or of a task run, replaces the nth of the attempt before.
 *
 * @example
 * await createArtifact({ type: "table", key: "model-scores", data: scores, description: "accuracy per depth" });
 */
import { BatonError } from "../core/errors.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import type { Artifact } from "../store/types.ts";

export interface ArtifactInput {
  type: Artifact["type"];
  data: unknown;
  key?: string;
  description?: string;
}

export async function createArtifact(input: ArtifactInput): Promise<Artifact> {
  const ctx = currentEngineContext();
  if (!ctx) throw new BatonError("createArtifact() needs a running flow: call it from a flow or a task");
  if (!["markdown", "table", "link"].includes(input.type)) throw new TypeError(`artifact type must be markdown, table or link, got ${JSON.stringify(input.type)}`);
  if (input.type === "markdown" && typeof input.data !== "string") throw new TypeError("a markdown artifact's data must be a string");
  if (input.type === "table" && (!Array.isArray(input.data) || input.data.some((row) => row === null || typeof row !== "object")))
    throw new TypeError("a table artifact's data must be an array of row objects");
  if (input.type === "link" && (typeof input.data !== "object" || input.data === null || typeof (input.data as { url?: unknown }).url !== "string"))
    throw new TypeError("a link artifact's data must be { url, title? }");
  const artifact: Artifact = {
    id: ctx.flow.nextArtifactId(ctx.task),
    key: input.key ?? null,
    type: input.type,
    data: JSON.parse(JSON.stringify(input.data)) as unknown,
    description: input.description ?? null,
    flowRunId: ctx.flow.flowRun.id,
    taskRunId: ctx.task?.id ?? null,
    createdAt: Date.now(),
  };
  // The task run's own records may still be queued: the server refuses an artifact of a task
  // run it does not know, so they are committed first.
  if (artifact.taskRunId) await ctx.flow.runtime.batcher.write([]);
  await ctx.flow.runtime.store.createArtifact(artifact);
  return artifact;
}
