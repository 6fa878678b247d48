/**
 * A flow run's data, kept live. State events of task runs the page already has are applied to
 * the task list in place (batched, at most every 500 ms); only a task run the page has not seen
 * yet, or the run finishing, refetches the task list — coalesced, and less often for a large
 * run. The flow run itself, its history and sub-flows are small and refetched on its own state
 * events. Log events are not handled here: the log panel listens to them on its own, so a
 * chatty run does not re-render the page.
 */
import type { Artifact } from "./ArtifactView.tsx";
import { useEffect, useRef, useState } from "react";
import { get, useCoalescedReload, useData } from "./api.ts";
import { useLiveEvents } from "./live.ts";
import type { Dependency, FlowRun, LiveEvent, StateRecord, TaskRun, TaskTable } from "./types.ts";
import { TERMINAL_TYPES as TERMINAL } from "../../src/core/states.ts";

type StateEvent = Extract<LiveEvent, { kind: "state" }>;

export interface TaskList {
  items: TaskRun[];
  /** Task names, each once, and each item's index into them (what the graph groups by). */
  taskNames: string[];
  names: readonly number[];
  /** Dependencies as triples of item indices: the task run, its upstream, 0 = data / 1 = wait. */
  deps: readonly number[];
}

export const NO_TASKS: TaskList = { items: [], taskNames: [], names: [], deps: [] };

/** The dependencies of one task run on its upstreams. */
export function upstreamOf(list: TaskList, taskRunId: string): Dependency[] {
  const row = list.items.findIndex((t) => t.id === taskRunId);
  const out: Dependency[] = [];
  if (row < 0) return out;
  for (let k = 0; k + 2 < list.deps.length; k += 3)
    if (list.deps[k] === row) out.push({ taskRunId, upstreamTaskRunId: list.items[list.deps[k + 1]!]!.id, kind: list.deps[k + 2] === 1 ? "wait" : "data" });
  return out;
}

declare global {
  interface Window {
    /** Started by index.html before this script loaded, for the run page opened first. */
    __batonTaskTable?: { id: string; response: Promise<Response> };
  }
}

/** The prefetched task table if it is this run's (once: later loads fetch afresh). */
async function prefetched(flowRunId: string): Promise<TaskTable | null> {
  const early = window.__batonTaskTable;
  if (!early || early.id !== flowRunId) return null;
  window.__batonTaskTable = undefined;
  const response = await early.response.catch(() => null);
  return response?.ok ? ((await response.json()) as TaskTable) : null;
}

/** A flow run's task runs and dependencies, fetched in the compact column form. */
export async function fetchTaskList(flowRunId: string): Promise<TaskList> {
  const t = (await prefetched(flowRunId)) ?? (await get<TaskTable>(`/flow-runs/${encodeURIComponent(flowRunId)}/task-table`));
  const messages = new Map(t.messages);
  const errors = new Map(t.errors);
  const items: TaskRun[] = t.ids.map((id, i) => {
    const start = t.start[i]!;
    const end = t.end[i]!;
    const error = errors.get(i);
    return {
      id,
      taskKey: t.keys[i]!,
      taskName: t.taskNames[t.names[i]!]!,
      state: { name: t.stateNames[t.states[i]!]!, type: t.stateTypes[t.states[i]!]!, timestamp: t.base + t.stateAt[i]!, message: messages.get(i) ?? null },
      runCount: t.runCounts[i]!,
      startTime: start === null ? null : t.base + start,
      endTime: end === null ? null : t.base + end,
      error: error === undefined ? null : { message: error },
    };
  });
  return { items, taskNames: t.taskNames, names: t.names, deps: t.deps };
}

/** A task run after a state event: the new state, and the times and attempts it implies. */
export function applyState(t: TaskRun, e: StateEvent): TaskRun {
  if (e.timestamp < t.state.timestamp) return t; // an event older than what the page has
  const starts = e.type === "RUNNING" && t.state.type !== "RUNNING";
  return {
    ...t,
    state: { type: e.type, name: e.name, timestamp: e.timestamp, message: e.message ?? null },
    runCount: starts ? t.runCount + 1 : t.runCount,
    startTime: starts && t.startTime === null ? e.timestamp : t.startTime,
    endTime: TERMINAL.has(e.type) ? e.timestamp : starts ? null : t.endTime,
  };
}

export function useRunData(id: string) {
  const path = `/flow-runs/${encodeURIComponent(id)}`;
  const [runReload, reloadRun] = useCoalescedReload(500);
  const [auxReload, reloadAux] = useCoalescedReload(2000);
  const run = useData<FlowRun>(path, runReload);
  const history = useData<StateRecord[]>(`${path}/states`, runReload);
  const children = useData<{ items: FlowRun[] }>(`/flow-runs?parent=${encodeURIComponent(id)}&limit=100`, `${runReload}:${auxReload}`);
  // An artifact's write is announced on the run's stream: a progress bar moves as it is updated.
  const [artifactReload, reloadArtifacts] = useCoalescedReload(250);
  const artifacts = useData<{ items: Artifact[] }>(`/artifacts?flowRunId=${encodeURIComponent(id)}`, `${runReload}:${auxReload}:${artifactReload}`);

  // The task list: `structure` changes only on a full fetch (the graph is laid out again),
  // `items` also on applied state events.
  const [tasks, setTasks] = useState<{ structure: TaskList; items: TaskRun[]; error: string | null } | null>(null);
  const [big, setBig] = useState(false);
  const [taskReload, reloadTasks] = useCoalescedReload(big ? 2000 : 500);
  // Task run id -> index, built on the first state event that needs it: a finished run's page
  // never does, and for 100,000 task runs the map costs a noticeable part of the first render.
  const index = useRef<{ items: TaskRun[]; map: Map<string, number> | null }>({ items: [], map: null });
  const rowOf = (taskRunId: string) => {
    const ix = index.current;
    ix.map ??= new Map(ix.items.map((t, i) => [t.id, i]));
    return ix.map.get(taskRunId);
  };
  const sinceFetch = useRef<StateEvent[] | null>(null);
  const pending = useRef<StateEvent[]>([]);
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    let live = true;
    sinceFetch.current = [];
    fetchTaskList(id).then(
      (list) => {
        if (!live) return;
        index.current = { items: list.items, map: null };
        // Events that arrived while the list was on its way may be newer than it.
        const late = sinceFetch.current ?? [];
        sinceFetch.current = null;
        const items = late.length ? patch(list.items, late) : list.items;
        setBig(list.items.length > 2000);
        setTasks({ structure: list, items, error: null });
      },
      (e: Error) => live && setTasks((t) => ({ structure: t?.structure ?? NO_TASKS, items: t?.items ?? [], error: e.message })),
    );
    return () => {
      live = false;
    };
  }, [id, taskReload]);
  useEffect(() => () => void (flushTimer.current && clearTimeout(flushTimer.current)), []);

  const patch = (items: TaskRun[], events: StateEvent[]): TaskRun[] => {
    const next = items.slice();
    for (const e of events) {
      const i = rowOf(e.taskRunId!);
      if (i !== undefined && next[i]) next[i] = applyState(next[i]!, e);
    }
    return next;
  };

  const flush = () => {
    flushTimer.current = null;
    const events = pending.current;
    pending.current = [];
    if (events.some((e) => rowOf(e.taskRunId!) === undefined)) reloadTasks();
    setTasks((t) => (t ? { ...t, items: patch(t.items, events) } : t));
  };

  useLiveEvents(id, (event) => {
    if (event.kind === "resource" && event.resource === "artifacts") reloadArtifacts();
    if (event.kind !== "state") return;
    if (event.taskRunId === null) {
      reloadRun();
      // Finished: fetch the task list once more for exact times and attempts.
      if (TERMINAL.has(event.type)) reloadTasks();
      return;
    }
    reloadAux();
    sinceFetch.current?.push(event);
    pending.current.push(event);
    if (!flushTimer.current) flushTimer.current = setTimeout(flush, 500);
  });

  return { run, history, children, artifacts, tasks, reloadRun };
}
