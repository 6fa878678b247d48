/**
 * The model registry's API on SQLite and PostgreSQL: registering (lineage checked), reading
 * versions and values, promoting through declared thresholds or forced, refusals recorded and
 * answered, rollback; bad input is a 4xx naming the field, never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serialize, deserialize } from "../../src/core/serializer.ts";
import { DIALECTS } from "../support/databases.ts";
import { apiHarness, claimedFlowRun, expectError, taskRunOp, type ApiHarness } from "../support/api.ts";
import type { FlowRun } from "../../src/store/types.ts";

describe.each(DIALECTS)("models API on %s", (dialect) => {
  let api: ApiHarness;
  let run: FlowRun;
  beforeAll(async () => {
    api = await apiHarness(dialect);
    run = await claimedFlowRun(api.store, "model-flow");
  });
  afterAll(() => api.close());

  const version = (value: unknown, metrics: Record<string, number>, fields: Record<string, unknown> = {}) => ({ serializer: "devalue/1", value: serialize(value), metrics, ...fields });

  it("registers versions with their run, reads them and their values, promotes through thresholds, refuses, forces and rolls back", async () => {
    const first = await api.call("POST", "/api/models/api-clf/versions", version({ w: [1, 2] }, { macroF1: 0.7 }, { flowRunId: run.id, params: { depth: 3 } }));
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ name: "api-clf", version: 1, flowRunId: run.id, params: { depth: 3 }, source: "value" });
    expect((await api.call("POST", "/api/models/api-clf/versions", version("two", { macroF1: 0.6 }))).body.version).toBe(2);

    const value = (await api.call("GET", "/api/models/api-clf/versions/1/value")).body;
    expect(deserialize(value.value)).toEqual({ w: [1, 2] });
    expect(value.sha256).toBe(first.body.sha256);
    expect((await api.call("GET", "/api/models/api-clf/versions/2")).body).toMatchObject({ version: 2, metrics: { macroF1: 0.6 } });

    const gate = [{ metric: "macroF1", min: 0.5, betterThanCurrent: true }];
    expect((await api.call("POST", "/api/models/api-clf/promote", { version: 1, gate })).body).toEqual({ promoted: true, from: null, to: 1 });
    expect((await api.call("POST", "/api/models/api-clf/promote", { version: 2, gate })).body).toEqual({ promoted: false, reason: "macroF1 0.6 is not better than version 1's 0.7 (higher is better)" });
    expect((await api.call("POST", "/api/models/api-clf/promote", { version: 2, force: true })).body).toEqual({ promoted: true, from: 1, to: 2 });
    expect((await api.call("GET", "/api/models/api-clf/aliases/production")).body).toEqual({ name: "api-clf", alias: "production", version: 2 });
    expect((await api.call("POST", "/api/models/api-clf/rollback", {})).body).toEqual({ from: 2, to: 1 });
    expectError(await api.call("GET", "/api/models/api-clf/aliases/staging"), 404, /model "api-clf" has no alias "staging"/);
    expectError(await api.call("POST", "/api/models/api-clf/rollback", {}), 409, /nothing to roll back to/);

    const detail = (await api.call("GET", "/api/models/api-clf")).body;
    expect(detail).toMatchObject({ latestVersion: 2, aliases: { production: 1 } });
    expect(detail.moves.map((m: { kind: string; undone: boolean }) => [m.kind, m.undone])).toEqual([
      ["rolled-back", false],
      ["promoted", true],
      ["refused", false],
      ["promoted", false],
    ]);
    expect((await api.call("GET", "/api/models")).body.items).toContainEqual(expect.objectContaining({ name: "api-clf", latestVersion: 2, aliases: { production: 1 } }));
    // The request's own audit entry, beside the registry's.
    const audit = await api.call("GET", "/api/audit?target=model:api-clf");
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(expect.arrayContaining(["model.rolled-back", "model.refused", "model.promoted"]));
  });

  it("refuses bad input naming the field, and unknown names with a 404", async () => {
    expectError(await api.call("POST", "/api/models/bad name/versions", version(1, {})), 400, /name/);
    expectError(await api.call("POST", "/api/models/m/versions", { value: "[1]" }), 400, /serializer/);
    expectError(await api.call("POST", "/api/models/m/versions", version(1, { f1: "high" } as never)), 400, /metrics/);
    expectError(await api.call("POST", "/api/models/m/versions", version(1, {}, { path: "/etc/passwd" })), 400, /path/);
    expectError(await api.call("POST", "/api/models/m/versions", version(1, {}, { flowRunId: "0193aaaa-0000-7000-8000-000000000000" })), 404, /flow run/);
    const other = await claimedFlowRun(api.store, "model-other");
    const op = taskRunOp(other.id);
    expect((await api.call("POST", "/api/batch", { ops: [op] })).status).toBe(200);
    expectError(await api.call("POST", "/api/models/m/versions", version(1, {}, { flowRunId: run.id, taskRunId: op.taskRun.id })), 409, /body\.taskRunId: task run .* belongs to flow run/);
    expectError(await api.call("GET", "/api/models/nope"), 404, /model "nope" does not exist/);
    expectError(await api.call("GET", "/api/models/nope/versions/1"), 404, /has no version 1/);
    expectError(await api.call("GET", "/api/models/nope/versions/0"), 400, /version/);
    expectError(await api.call("POST", "/api/models/nope/promote", { version: 1 }), 400, /body\.gate: give declared thresholds/);
    expectError(await api.call("POST", "/api/models/nope/promote", { version: 1, gate: [{ metric: "f1" }] }), 400, /body\.gate\.0 checks nothing/);
    expectError(await api.call("POST", "/api/models/nope/promote", { version: 1, force: true }), 404, /has no version 1/);
    expectError(await api.call("POST", "/api/models/nope/promote", { version: 1, force: true, to: "Prod!" }), 400, /to/);
    expectError(await api.call("POST", "/api/models/nope/rollback", {}), 404, /model "nope" does not exist/);
    expect((await api.call("POST", "/api/models/m/versions", version(1, { acc: 0.9 }))).status).toBe(201);
    expectError(await api.call("POST", "/api/models/m/promote", { version: 1, gate: [{ metric: "f1", min: 0.5 }] }), 400, /model "m" version 1 has no metric "f1"/);
    expectError(await api.call("POST", "/api/models/m/moves", { kind: "refused", alias: "production", version: 1 }), 400, /body\.reason is required/);
    expectError(await api.call("POST", "/api/models/m/moves", { kind: "promoted", alias: "production" }), 400, /body\.version is required/);
  });
});
