/**
 * The weather example's loop end to end: a real `baton server start` (it runs automations), the
 * example's own deployments file serving train, retrain, score and monitor, and the example's
 * automation file made with `baton automation create -f`. Train, then score and monitor: the
 * real drift of 2015 against 2012 starts exactly one retraining run (one `model.drift` event per
 * check, not one per drifted feature), on reference + current data. On SQLite and PostgreSQL.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deserialize } from "../../src/core/serializer.ts";
import type { FlowRun } from "../../src/store/types.ts";
import { e2eDialects } from "../support/databases.ts";
import { cli, ROOT, startProcess, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";
import { openWorkerDatabase, type WorkerDatabase } from "./worker-harness.ts";
import { startHttpReceiver } from "../support/notification-receivers.ts";

const DEPLOYMENTS = path.join(ROOT, "examples/deployments.ts");
const AUTOMATION = path.join(ROOT, "examples/automations/retrain-on-drift.yaml");
const ROLLBACK = path.join(ROOT, "examples/automations/rollback-on-breach.yaml");
const BAD_MODEL = path.join(ROOT, "test/e2e/fixtures/bad-weather-model.ts");

describe.each(e2eDialects("sqlite"))("the weather example's monitor -> retrain loop behind a server process on %s", (dialect) => {
  let db: WorkerDatabase;
  let server: { proc: Proc; url: string };
  let serving: Proc;
  const client = () => ({ BATON_HOME: path.join(db.dir, "client"), BATON_API_URL: `${server.url}/api`, BATON_LOG_LEVEL: "warn" });
  const runsOf = async (deployment: string): Promise<FlowRun[]> => {
    const d = await db.orchestration.getDeployment(deployment);
    return d ? db.store.listFlowRuns({ deploymentId: d.id }) : [];
  };
  /** Starts a deployment's run through the server and waits for it to end Completed. */
  const runDeployment = async (name: string, params: Record<string, unknown> = {}): Promise<FlowRun> => {
    const before = new Set((await runsOf(name)).map((r) => r.id));
    const started = await cli(["deployment", "run", name, "--params-json", JSON.stringify(params)], client());
    expect(started.code, started.stderr).toBe(0);
    const ended = (r: FlowRun) => !before.has(r.id) && !["SCHEDULED", "PENDING", "RUNNING"].includes(r.state.type);
    const run = await until(async () => (await runsOf(name)).find(ended), `the ${name} run to end`, 120_000);
    expect(run.state.name, `${name}: ${run.state.message}\n${serving.stderr()}`).toBe("Completed");
    return run;
  };

  /** A small result, stored inline. */
  const resultOf = async (run: FlowRun) => deserialize((await db.store.getResult(run.resultId!))!.value!);

  beforeAll(async () => {
    db = await openWorkerDatabase(dialect);
    const env = { BATON_HOME: db.dir, BATON_DATABASE_URL: db.url };
    server = await startServerProcess(env);
    serving = startProcess(["--import", "tsx", DEPLOYMENTS], { ...env, BATON_LOG_LEVEL: "warn" });
    await until(() => (serving.stdout().match(/Serving deployment/g) ?? []).length === 4 || (serving.child.exitCode !== null && Promise.reject(new Error(serving.stderr()))), "the four deployments to be served", 60_000);
  }, 150_000);
  afterAll(async () => {
    if (serving) await stopProcess(serving);
    if (server) await stopProcess(server.proc);
    await db?.close();
  });

  it("train, score, then monitor: drift on the real shifted data starts exactly one retraining run", async () => {
    const created = await cli(["automation", "create", "-f", AUTOMATION], client());
    expect(created.code, created.stderr).toBe(0);
    expect((await db.orchestration.getDeployment("monitor"))!.schedules).toHaveLength(1);

    const trained = await runDeployment("train", { nEstimators: [8], maxDepth: [4, 8] }); // a small search: the retrain runs the full one
    const outDir = path.join(db.dir, "predictions");
    const scored = await runDeployment("score", { outDir });
    const { path: file, rows, accuracy } = (await resultOf(scored)) as { path: string; rows: number; accuracy: number };
    expect(rows).toBe(365);
    expect(accuracy).toBeGreaterThan(0.5);
    expect(path.dirname(file)).toBe(outDir);
    expect(fs.readFileSync(file, "utf8").trim().split("\n")).toHaveLength(366);

    const monitored = await runDeployment("monitor");
    const drift = (await db.store.listEvents({ event: ["model.drift"], related: monitored.id })).items;
    expect(drift).toHaveLength(1);
    expect(drift[0]!.payload).toMatchObject({ model: "weather", driftedFeatures: ["temp_max", "weather"] });
    expect((await db.store.listEvents({ event: ["model.metric"], related: monitored.id })).items.map((e) => e.payload.metric).sort()).toEqual(["accuracy", "macroF1"]);

    const [retrain] = await until(async () => {
      const runs = await runsOf("retrain");
      return runs.length && runs[0]!.state.type === "COMPLETED" ? runs : undefined;
    }, "the retraining run to complete", 180_000);
    expect(retrain!.tags).toContain("drift");
    expect(retrain!.createdAt).toBeGreaterThan(trained.createdAt);
    // Several evaluator passes later: still one firing, one retraining run.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await runsOf("retrain")).toHaveLength(1);
    const firings = (await (await fetch(`${server.url}/api/automations/retrain-weather-on-drift/firings`)).json()) as { items: { actions: { status: string }[] }[] };
    expect(firings.items).toHaveLength(1);
    expect(firings.items[0]!.actions).toMatchObject([{ status: "succeeded" }]);

    // The registry: train registered version 1 and promoted it (nothing was in production); the
    // retraining registered version 2 and its gate decided, with the decision recorded.
    const api = async <T>(p: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${server.url}/api${p}`, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status, `${p}: ${res.status}`).toBeLessThan(300);
      return (await res.json()) as T;
    };
    type Move = { kind: string; from: number | null; to: number | null; reason: string | null };
    const registry = await api<{ latestVersion: number; aliases: Record<string, number>; moves: Move[] }>("/models/weather");
    expect(registry.latestVersion).toBe(2);
    expect(registry.moves.at(-1)).toMatchObject({ kind: "promoted", from: null, to: 1 });
    const decision = registry.moves.find((m) => m.to === 2)!;
    expect(["promoted", "refused"]).toContain(decision.kind);
    const production = registry.aliases.production!;
    expect(production).toBe(decision.kind === "promoted" ? 2 : 1);

    // Score uses whatever production is.
    const rescored = await runDeployment("score", { outDir });
    const again = (await resultOf(rescored)) as { model: { version: number; trainedOn: { years: number[]; rows: number } } };
    expect(again.model.version).toBe(production);
    expect(again.model.trainedOn).toEqual(production === 2 ? { years: [2012, 2015], rows: 731 } : { years: [2012], rows: 366 });

    // Lineage from the production version: its training run, the data sets, the raw CSV.
    type Lineage = { trainingRun: { flowRunId: string }; datasets: { key: string }[]; sources: { key: string }[] };
    const lineage = await api<Lineage>(`/models/weather/versions/${production}/lineage`);
    expect(lineage.trainingRun.flowRunId).toBe(production === 2 ? retrain!.id : trained.id);
    expect(lineage.datasets.map((d) => d.key)).toEqual(expect.arrayContaining(["dataset://weather/training", expect.stringMatching(/^file:\/\/.*seattle-weather\.csv$/)]));
    expect(lineage.sources.map((d) => d.key)).toEqual([expect.stringMatching(/seattle-weather\.csv$/)]);

    // A bad model forced into production: the monitor's live accuracy falls below its minimum,
    // and the rollback automation brings the version before back and tells the team.
    const hook = await startHttpReceiver();
    try {
      const channel = path.join(db.dir, "ml-team.yaml");
      fs.writeFileSync(channel, JSON.stringify({ name: "ml-team", type: "webhook", settings: { url: `${hook.url}/ml-team` } }));
      for (const args of [["notification", "create", "-f", channel], ["automation", "create", "-f", ROLLBACK]]) {
        const made = await cli(args, client());
        expect(made.code, made.stderr).toBe(0);
      }
      const pushed = await cli(["run", BAD_MODEL, "--flow", "pushBadModel"], client());
      expect(pushed.code, pushed.stderr).toBe(0);
      expect((await api<{ aliases: Record<string, number> }>("/models/weather")).aliases.production).toBe(3);
      await runDeployment("monitor");
      const back = await until(async () => {
        const m = await api<{ aliases: Record<string, number>; moves: Move[] }>("/models/weather");
        return m.aliases.production === production ? m : undefined;
      }, "the automation to roll production back", 60_000);
      expect(back.moves[0]).toMatchObject({ kind: "rolled-back", from: 3, to: production });
      await until(() => hook.requests.length >= 1 || undefined, "the team's notification", 30_000);
      expect(hook.requests[0]!.path).toBe("/ml-team");
      expect(JSON.stringify(hook.requests[0]!.body)).toMatch(/accuracy 0(\.\d+)? < min 0\.6 on version 3: production rolled back/);
    } finally {
      await hook.close();
    }
  }, 500_000); // three trainings' searches on two shared cores, and a dozen processes
});
