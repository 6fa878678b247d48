/**
 * Experiment tracking from `runner: "threads"` tasks. A worker thread has no flow run (no store,
 * no engine context), so what its task logs crosses to the main thread over a MessagePort given
 * with the job, as it is logged: a long training loop's curve arrives while it runs. The main
 * thread records each message as the task's own call would (logged-values.ts: same batch, same
 * automatic steps, attributed to the task run) and answers once it is written, which settles the
 * thread's call; the thread hands back its task's outcome only after every answer, so a value
 * logged without `await` is stored before the task run ends, as in the main thread.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { MessagePort } from "node:worker_threads";
import { BatonError, describeError, errorFromInfo, type ErrorInfo } from "../core/errors.ts";
import { recordMetrics, recordParams, type LoggedMetric } from "./logged-values.ts";
import { processWide } from "./process-wide.ts";
import type { EngineContext } from "./run-context.ts";

/** Checked values of one call: parameters as JSON text, or metrics in the order logged. */
export type LoggedValues = { params: Record<string, string> } | { metrics: LoggedMetric[] };
type ValuesMessage = LoggedValues & { id: number };
interface ValuesAnswer {
  id: number;
  error?: ErrorInfo;
}

/** Thread side: sends a task's values and settles each call when the main thread has written it. */
export class ThreadValuesSender {
  private nextId = 0;
  private finished = false;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void; settled: Promise<void> }>();

  constructor(private readonly port: MessagePort) {
    port.on("message", (answer: ValuesAnswer) => {
      const call = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (answer.error) call?.reject(errorFromInfo(answer.error));
      else call?.resolve();
    });
  }

  send(values: LoggedValues): Promise<void> {
    // A call left running after the task returned (a timer, a promise not awaited) has no run to log to.
    // Marked handled, as below: an unhandled rejection would end the thread, and the job now running in it.
    if (this.finished) {
      const late = Promise.reject(new BatonError("a value was logged after its thread task had ended; await logging calls inside the task"));
      late.catch(() => undefined);
      return late;
    }
    const id = this.nextId++;
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const settled = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    // Not awaited by the caller must not mean an unhandled rejection; an awaiting caller still sees it.
    settled.catch(() => undefined);
    this.waiting.set(id, { resolve, reject, settled });
    this.port.postMessage({ ...values, id } satisfies ValuesMessage);
    return settled;
  }

  /** Settles once every value sent so far was written or refused; then closes the port. */
  async finish(): Promise<void> {
    while (this.waiting.size) await Promise.allSettled([...this.waiting.values()].map((w) => w.settled));
    this.finished = true;
    this.port.close();
  }
}

const senders = processWide(
  "thread-values",
  () => new AsyncLocalStorage<ThreadValuesSender>(),
  (value): value is AsyncLocalStorage<ThreadValuesSender> => value instanceof AsyncLocalStorage,
);

/** Runs a thread task's function with its sender as the destination of what it logs. */
export function withThreadValues<T>(sender: ThreadValuesSender, fn: () => T): T {
  return senders.run(sender, fn);
}

/** Inside a thread task: where its logged values go; undefined elsewhere. */
export function currentThreadValues(): ThreadValuesSender | undefined {
  return senders.getStore();
}

/** Main side: records what the thread task of `ctx` sends on `port` until the port closes. */
export function receiveThreadValues(port: MessagePort, ctx: EngineContext): void {
  port.on("message", (message: ValuesMessage) => {
    const written = "params" in message ? recordParams(ctx, message.params) : recordMetrics(ctx, message.metrics);
    written.then(
      () => port.postMessage({ id: message.id } satisfies ValuesAnswer),
      (error: unknown) => port.postMessage({ id: message.id, error: describeError(error) } satisfies ValuesAnswer),
    );
  });
}
