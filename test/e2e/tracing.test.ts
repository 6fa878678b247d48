/**
 * OpenTelemetry traces end to end: a server process, a remote worker process and the run's own
 * process (started by the worker, with a task on a worker thread) all export to a real local
 * OTLP/HTTP receiver, and one deployment run is one trace: the worker's claim → the run
 * process's flow-run span → each task run's span → the user's own span inside each task, with
 * the server's spans of the API requests that run made in the same trace. SQLite only: the
 * trace does not depend on the database, and every store test runs both dialects already.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.ts";
import { openWorkerDatabase, startWorkerProcess, type WorkerDatabase } from "./worker-harness.ts";

const TRACED_FLOWS = path.join(ROOT, "test/e2e/fixtures/traced-flows.ts");
const SPAN_KIND_SERVER = 2;

describe("tracing", () => {
  let db: WorkerDatabase;
  let receiver: OtlpReceiver;
  let server: { proc: Proc; url: string } | undefined;
  let worker: Proc | undefined;

  beforeAll(async () => {
    db = await openWorkerDatabase("sqlite");
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    if (worker) await stopProcess(worker);
    if (server) await stopProcess(server.proc);
    await receiver?.close();
    await db?.close();
  });

  it("one trace holds a deployment run from the worker's claim to the user's spans in its tasks, and the API requests it made", async () => {
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: "100", BATON_THREADS: "1" };
    server = await startServerProcess({ BATON_DATABASE_URL: db.url, ...otel, OTEL_SERVICE_NAME: "e2e-server" });
    await db.orchestration.upsertWorkPool({ name: "traced" });
    const deployment = await db.orchestration.upsertDeployment({ name: "traced", flowName: "traced", entrypoint: `${TRACED_FLOWS}:traced`, workPool: "traced" });
    const run = await db.createRun(deployment, { n: 4 });
    // Beats at their defaults' scale: on a loaded machine a run's cold process may take seconds to start.
    worker = startWorkerProcess(db.url, "traced", { BATON_API_URL: server.url, ...otel, OTEL_SERVICE_NAME: "e2e-worker", BATON_HEARTBEAT_MS: "2000" }, ["--heartbeat-ms", "5000"]);
    const done = await until(async () => {
      const current = await db.store.getFlowRun(run.id);
      return current && ["Completed", "Failed", "Crashed"].includes(current.state.name) ? current : undefined;
    }, "the run to end", 90_000);
    expect(done.state.name, worker.stdout() + worker.stderr()).toBe("Completed");

    const named = (name: string) => receiver.spans.find((s) => s.name === name);
    // The run's process sent its spans before it exited; the worker ends its claim's span when that process exits.
    const [claim, flowRun, prepare, crunch, userPrepare, userCrunch] = await until(() => {
      const found = ["claim flow-run traced", "flow-run traced", "task-run prepare", "task-run crunch", "user-prepare", "user-crunch"].map(named);
      return found.every(Boolean) ? (found as ReceivedSpan[]) : undefined;
    }, "the run's spans", 30_000) as [ReceivedSpan, ReceivedSpan, ReceivedSpan, ReceivedSpan, ReceivedSpan, ReceivedSpan];
    expect(receiver.refused).toEqual([]);

    // One trace, whose root is the worker's claim.
    expect(new Set([claim, flowRun, prepare, crunch, userPrepare, userCrunch].map((s) => s.traceId)).size).toBe(1);
    expect(claim.parentSpanId).toBe("");
    expect(flowRun.parentSpanId).toBe(claim.spanId);
    expect(prepare.parentSpanId).toBe(flowRun.spanId);
    expect(crunch.parentSpanId).toBe(flowRun.spanId);
    expect(userPrepare.parentSpanId).toBe(prepare.spanId);
    // Made in a worker thread, under the task run's span of the main thread.
    expect(userCrunch.parentSpanId).toBe(crunch.spanId);

    expect(claim.service).toBe("e2e-worker");
    expect(claim.attributes).toMatchObject({ "baton.flow_run.id": run.id, "baton.deployment.id": deployment.id, "baton.flow.name": "traced", "baton.work_pool.name": "traced", "process.exit.code": 0 });
    expect(flowRun.attributes).toMatchObject({ "baton.flow_run.id": run.id, "baton.flow.name": "traced", "baton.deployment.id": deployment.id, "baton.flow_run.state": "Completed" });
    const taskRuns = await db.store.listTaskRuns(run.id);
    for (const [span, name] of [[prepare, "prepare"], [crunch, "crunch"]] as const) {
      const taskRun = taskRuns.find((t) => t.taskName === name)!;
      expect(span.attributes).toMatchObject({ "baton.task_run.id": taskRun.id, "baton.task.key": taskRun.taskKey, "baton.flow_run.id": run.id, "baton.task_run.state": "Completed" });
    }
    expect(crunch.attributes["baton.task.runner"]).toBe("threads");

    // The run's process is remote: the server's spans of its requests continue its trace, named by route pattern.
    const requests = await until(() => {
      const inTrace = receiver.spans.filter((s) => s.traceId === claim.traceId && s.kind === SPAN_KIND_SERVER);
      const parents = new Set(inTrace.map((s) => s.parentSpanId));
      return parents.has(flowRun.spanId) && parents.has(claim.spanId) ? inTrace : undefined;
    }, "the server's request spans in the run's trace", 30_000);
    for (const request of requests) {
      expect(request.service).toBe("e2e-server");
      expect(request.name).toBe(`${request.attributes["http.request.method"]} ${request.attributes["http.route"]}`);
      expect(request.attributes["http.route"]).toMatch(/^\/api\//);
      expect(request.attributes["http.response.status_code"]).toBeGreaterThanOrEqual(200);
    }
    // The run's state changes went through a route with a parameter, named by its pattern, not its URL.
    expect(requests.some((r) => String(r.attributes["http.route"]).includes(":"))).toBe(true);
  }, 180_000);
});
