/**
 * Two real `baton server start` replicas on one PostgreSQL database: one leads (runs the
 * scheduler), the other follows; SIGKILLing the leader moves the scheduler to the other within
 * 5 s, and the runs of a deployment scheduled every second cover every slot exactly once across
 * the failover (slots are unique per deployment; the new leader catches up the missed ones).
 * `baton server status` names the leader through the API.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freshDatabaseUrl } from "../support/databases.ts";
import { cli, startServerProcess, stopProcess, until, type Proc } from "../support/processes.ts";

interface Health {
  leadership: { isLeader: boolean; since: number | null; holder: string | null; replica: string };
}

async function health(url: string): Promise<Health | undefined> {
  try {
    const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? ((await res.json()) as Health) : undefined;
  } catch {
    return undefined;
  }
}

describe("server replicas on one PostgreSQL", () => {
  let cleanup: () => Promise<void>;
  let db: pg.Client;
  let home: string;
  let env: Record<string, string>;
  const servers: Proc[] = [];

  beforeAll(async () => {
    const fresh = await freshDatabaseUrl("postgres");
    cleanup = fresh.cleanup;
    home = fs.mkdtempSync(path.join(os.tmpdir(), "baton-replicas-"));
    // Runs one slot ahead: the scheduler's passes (every 5 s) make the slots since the last one.
    env = { BATON_DATABASE_URL: fresh.url, BATON_HOME: home, BATON_SCHEDULE_HORIZON_MS: "1000", BATON_LATE_AFTER_MS: "60000" };
    db = new pg.Client(fresh.url);
    await db.connect();
  });

  afterAll(async () => {
    for (const s of servers) await stopProcess(s, 5_000);
    await db?.end();
    await cleanup?.();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("moves the scheduler to the other replica within 5 s of a SIGKILL, with every slot scheduled once", async () => {
    const a = await startServerProcess(env);
    servers.push(a.proc);
    const leaderA = await until(async () => (await health(a.url))?.leadership.isLeader && (await health(a.url))!.leadership, "replica A leads", 30_000);
    const b = await startServerProcess(env);
    servers.push(b.proc);
    expect((await health(b.url))?.leadership).toMatchObject({ isLeader: false, holder: leaderA.replica });

    const status = await cli(["server", "status", "--url", b.url], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`leader: ${leaderA.replica}`);
    expect(status.stdout).toContain("not the leader");

    const created = await fetch(`${b.url}/api/deployments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "tick", flowName: "tick", entrypoint: "flows/tick.ts:tick", schedules: [{ spec: { kind: "interval", intervalMs: 1000 } }] }),
    });
    expect(created.status).toBeLessThan(300);
    const slots = async () => (await db.query<{ slot: string }>("select expected_start_time as slot from flow_runs where expected_start_time is not null order by 1")).rows.map((r) => Number(r.slot));
    await until(async () => (await slots()).length >= 2, "the leader schedules runs", 30_000);

    a.proc.child.kill("SIGKILL");
    const killedAt = Date.now();
    await a.proc.exit;
    const leaderB = await until(async () => {
      const h = await health(b.url);
      return h?.leadership.isLeader ? h.leadership : undefined;
    }, "replica B leads", 15_000);
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThan(5_000);
    expect(leaderB).toMatchObject({ holder: leaderB.replica });

    // Slots up to some seconds after the kill: the new leader made them, and those A missed.
    await until(async () => (await slots()).some((s) => s > killedAt + 3_000), "replica B schedules runs", 30_000);
    const all = await slots();
    expect(new Set(all).size).toBe(all.length);
    const gaps = all.slice(1).map((s, i) => s - all[i]!);
    expect(gaps.every((g) => g === 1000)).toBe(true);
    expect(all[0]!).toBeLessThan(killedAt);
    const after = await cli(["server", "status", "--url", b.url], env);
    expect(after.stdout).toContain(`leader: ${leaderB.replica}`);
    console.log(`failover in ${failoverMs} ms; ${all.length} consecutive slots`);
  });
});
