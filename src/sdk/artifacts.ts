/**
 * Artifacts: what a run publishes for people to read next to it — a markdown report, a table
 * (an array of row objects), a link, a progress (0..100) and an image (PNG or SVG bytes, or a
 * URL). Shown on the run's page and on the dashboard's Artifacts page (the latest of each key
 * across runs). An attempt that runs again (a retry, a resume) publishes its artifacts in place
 * of the earlier attempt's: the nth artifact of the flow function, or of a task run, replaces
 * the nth of the attempt before.
 *
 * A progress and a table return a handle that changes the artifact in place — same id, an
 * `updatedAt` time — and an open dashboard shows the change at once.
 *
 * @example
 * const progress = await createProgressArtifact(0, { key: "training", description: "epochs done" });
 * for (let epoch = 1; epoch <= 10; epoch++) await progress.update(epoch * 10);
 * const scores = await createTableArtifact([{ depth: 1, accuracy: 0.71 }], { key: "model-scores" });
 * await scores.append([{ depth: 2, accuracy: 0.78 }]);
 */
import { BatonError } from "../core/errors.ts";
import { checkArtifactData, checkProgress, checkRows, imageData, type ArtifactType } from "../core/artifacts.ts";
import { currentEngineContext } from "../engine/run-context.ts";
import type { Artifact } from "../store/types.ts";

export interface ArtifactInput {
  type: ArtifactType;
  data: unknown;
  key?: string;
  description?: string;
}

/** What every kind of artifact may be given besides its data. */
export interface ArtifactOptions {
  /** A stable name: the Artifacts page shows the latest artifact of each key, with its history. */
  key?: string;
  description?: string;
}

async function publish(input: ArtifactInput, content?: Uint8Array) {
  const ctx = currentEngineContext();
  if (!ctx) throw new BatonError(`creating a ${input.type} artifact needs a running flow: call it from a flow or a task`);
  checkArtifactData(input.type, input.data);
  const artifact: Artifact = {
    id: ctx.flow.nextArtifactId(ctx.task),
    key: input.key ?? null,
    type: input.type,
    data: JSON.parse(JSON.stringify(input.data)) as unknown,
    description: input.description ?? null,
    flowRunId: ctx.flow.flowRun.id,
    taskRunId: ctx.task?.id ?? null,
    createdAt: Date.now(),
    updatedAt: null,
  };
  // The task run's own records may still be queued: the server refuses an artifact of a task
  // run it does not know, so they are committed first.
  if (artifact.taskRunId) await ctx.flow.runtime.batcher.write([]);
  const store = ctx.flow.runtime.store;
  await store.createArtifact(artifact, content);
  /** Changes the artifact in place; usable after the task returned too (it holds the run's store). */
  const change = async (data: unknown, append: boolean): Promise<Artifact> => {
    const updated = await store.updateArtifact(artifact.id, { flowRunId: artifact.flowRunId, data, append, at: Date.now() });
    if (!updated) throw new BatonError(`artifact ${artifact.id} of flow run ${artifact.flowRunId} is gone (was the run deleted?)`);
    Object.assign(artifact, { data: updated.data, updatedAt: updated.updatedAt });
    return updated;
  };
  return { artifact, change };
}

export async function createArtifact(input: ArtifactInput): Promise<Artifact> {
  if (input.type === "image") throw new TypeError("an image artifact carries bytes: use createImageArtifact(bytesOrUrl)");
  return (await publish(input)).artifact;
}

/** A markdown report; the dashboard renders it with scripts and event handlers removed. */
export async function createMarkdownArtifact(markdown: string, options: ArtifactOptions = {}): Promise<Artifact> {
  return (await publish({ type: "markdown", data: markdown, ...options })).artifact;
}

/** A link to something a run made elsewhere (http or https). */
export async function createLinkArtifact(url: string, options: ArtifactOptions & { title?: string } = {}): Promise<Artifact> {
  const { title, ...rest } = options;
  return (await publish({ type: "link", data: title === undefined ? { url } : { url, title }, ...rest })).artifact;
}

/** A progress artifact: `update()` moves it (0..100) in place. */
export interface ProgressArtifact {
  readonly artifact: Artifact;
  update(progress: number): Promise<void>;
}

export async function createProgressArtifact(progress: number, options: ArtifactOptions = {}): Promise<ProgressArtifact> {
  checkProgress(progress);
  const { artifact, change } = await publish({ type: "progress", data: progress, ...options });
  return {
    artifact,
    async update(next) {
      checkProgress(next);
      await change(next, false);
    },
  };
}

/** A table artifact: `update()` replaces its rows, `append()` adds rows, in place. */
export interface TableArtifact {
  readonly artifact: Artifact;
  update(rows: readonly Record<string, unknown>[]): Promise<void>;
  append(rows: readonly Record<string, unknown>[]): Promise<void>;
}

export async function createTableArtifact(rows: readonly Record<string, unknown>[], options: ArtifactOptions = {}): Promise<TableArtifact> {
  checkRows(rows);
  const { artifact, change } = await publish({ type: "table", data: rows, ...options });
  const json = (r: readonly Record<string, unknown>[]) => {
    checkRows(r);
    return JSON.parse(JSON.stringify(r)) as unknown;
  };
  return {
    artifact,
    async update(next) {
      await change(json(next), false);
    },
    async append(more) {
      await change(json(more), true);
    },
  };
}

/**
 * An image: PNG or SVG bytes (at most 2 MiB; the type is read from the bytes, `mimeType` only
 * double-checks it), or an http(s) URL of an image stored elsewhere.
 */
export async function createImageArtifact(bytesOrUrl: Uint8Array | string, options: ArtifactOptions & { mimeType?: string } = {}): Promise<Artifact> {
  const { mimeType, ...rest } = options;
  if (typeof bytesOrUrl === "string") return (await publish({ type: "image", data: mimeType ? { url: bytesOrUrl, mimeType } : { url: bytesOrUrl }, ...rest })).artifact;
  return (await publish({ type: "image", data: imageData(bytesOrUrl, mimeType), ...rest }, bytesOrUrl)).artifact;
}
