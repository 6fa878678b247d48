/**
 * How people name runs: by whole id, by the first characters of an id (`0193a4f2-7c1e`), or by
 * the run's name (`crimson-otter`); a task run also by its task key within its flow run
 * (`fit-3`). A reference that matches several runs is refused with the candidates listed, never
 * resolved by guessing. Ids are UUIDv7s whose first 8 characters are a timestamp shared by runs
 * made in the same few seconds, so a useful prefix is usually 12 characters or more.
 */
import { BatonError, RunNotFoundError } from "../core/errors.ts";
import type { FlowRun, RunStore, TaskRun } from "../store/types.ts";
import { AmbiguousReferenceError } from "./errors.ts";

/** Candidates listed in an ambiguity error. */
const LISTED = 5;

/** What may be an id prefix: hex digits and dashes (a name has letters past f). */
const ID_PREFIX = /^[0-9a-f][0-9a-f-]{3,35}$/i;

function pick<T extends { id: string }>(kind: "flow run" | "task run", reference: string, matches: readonly T[], nameOf: (run: T) => string, more = false): T {
  const unique = [...new Map(matches.map((m) => [m.id, m])).values()];
  if (unique.length === 1) return unique[0]!;
  if (unique.length === 0) throw new RunNotFoundError(kind, reference);
  throw new AmbiguousReferenceError(kind, reference, { candidates: unique.slice(0, LISTED).map((m) => ({ id: m.id, name: nameOf(m) })), more: more || unique.length > LISTED });
}

/** The flow run that `reference` names: its id, a unique id prefix (4 characters or more) or its name. */
export async function resolveFlowRun(store: Pick<RunStore, "getFlowRun" | "listFlowRuns">, reference: string): Promise<FlowRun> {
  const ref = reference.trim();
  const exact = ref ? await store.getFlowRun(ref) : undefined;
  if (exact) return exact;
  const [byPrefix, byName] = await Promise.all([
    ID_PREFIX.test(ref) ? store.listFlowRuns({ idPrefix: ref, limit: LISTED + 1 }) : [],
    ref ? store.listFlowRuns({ name: ref, limit: LISTED + 1 }) : [],
  ]);
  return pick("flow run", ref, [...byPrefix, ...byName], (r) => r.name, byPrefix.length > LISTED || byName.length > LISTED);
}

/**
 * The task run that `reference` names: its id, or within the flow run `flowRun` (a reference
 * as above) its task key or a unique id prefix. Without a flow run, a whole id or a unique id
 * prefix among all task runs (task keys repeat across runs, so a key needs its flow run).
 */
export async function resolveTaskRun(
  store: Pick<RunStore, "getFlowRun" | "listFlowRuns" | "getTaskRun" | "listTaskRuns" | "findTaskRunsByIdPrefix">,
  reference: string,
  flowRun?: string,
): Promise<TaskRun> {
  const ref = reference.trim();
  const exact = ref ? await store.getTaskRun(ref) : undefined;
  if (exact) return exact;
  if (flowRun === undefined) {
    if (!ID_PREFIX.test(ref)) throw new BatonError(`task run ${ref} was not found; to name a task run by its task key (fit-3), give its flow run too (--flow-run RUN)`);
    const found = await store.findTaskRunsByIdPrefix(ref, LISTED + 1);
    return pick("task run", ref, found, (t) => t.taskKey, found.length > LISTED);
  }
  const run = await resolveFlowRun(store, flowRun);
  const taskRuns = await store.listTaskRuns(run.id);
  const byKey = taskRuns.filter((t) => t.taskKey === ref);
  if (byKey.length) return pick("task run", ref, byKey, (t) => t.taskKey);
  const lower = ref.toLowerCase();
  return pick("task run", ref, ID_PREFIX.test(ref) ? taskRuns.filter((t) => t.id.startsWith(lower)) : [], (t) => t.taskKey);
}
