/**
 * "A model whose live metric falls below its threshold is rolled back automatically": the
 * monitoring code emits an event about the model when its live metric is below the threshold
 * (event triggers match names, resources and labels, not payload values), and an automation on
 * that event runs the `rollback-model` action — the alias goes back, the move is an event and an
 * audit entry with the automation as its actor; a spec naming a bad model is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids.ts";
import { serialize } from "../../src/core/serializer.ts";
import { apiHarness, expectError, type ApiHarness } from "../support/api.ts";
import { DIALECTS } from "../support/databases.ts";

const HOUR = 3_600_000;
const MANUAL = { evaluateMs: HOUR, actionMs: HOUR, actionBackoffMs: 20, actionBackoffMaxMs: 100, actionAttempts: 3 };

describe.each(DIALECTS)("rollback-model automation on %s", (dialect) => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await apiHarness(dialect, { automationService: MANUAL });
  });
  afterAll(async () => {
    await api?.server.automationService?.stop();
    await api?.close();
  });

  it("rolls production back when the live metric's event comes, as the automation", async () => {
    for (const f1 of [0.8, 0.85]) {
      expect((await api.call("POST", "/api/models/live/versions", { serializer: "devalue/1", value: serialize({ f1 }), metrics: { macroF1: f1 } })).status).toBe(201);
    }
    await api.call("POST", "/api/models/live/promote", { version: 1, force: true });
    await api.call("POST", "/api/models/live/promote", { version: 2, force: true });

    const spec = {
      name: "rollback-on-live-drop",
      trigger: { event: "model.live-metric-low", match: { labels: { kind: "model" } } },
      actions: [{ type: "rollback-model", model: "{{ event.resource.name }}" }],
    };
    expect((await api.call("POST", "/api/automations", spec)).status).toBe(201);
    // What a monitoring flow emits (emitEvent) once it measured macroF1 below its threshold.
    await api.store.emitEvents([
      { id: newId(), occurred: Date.now(), event: "model.live-metric-low", resource: { id: "model:live", name: "live", labels: { kind: "model" } }, related: [], payload: { macroF1: 0.41, threshold: 0.6 } },
    ]);
    const service = api.server.automationService!;
    await service.evaluate();
    await service.execute();

    const detail = (await api.call("GET", "/api/models/live")).body;
    expect(detail.aliases).toEqual({ production: 1 });
    expect(detail.moves[0]).toMatchObject({ kind: "rolled-back", from: 2, to: 1, actor: { kind: "automation", name: "rollback-on-live-drop" } });
    const events = await api.store.listEvents({ resource: "model:live", event: ["baton.model.rolled-back"] });
    expect(events.items).toHaveLength(1);
    const audit = (await api.call("GET", "/api/audit?action=model.rolled-back")).body.items;
    expect(audit[0]).toMatchObject({ actor: { kind: "automation", name: "rollback-on-live-drop" }, targets: ["model:live"] });
  });

  it("refuses a spec whose model is not a model name", async () => {
    const bad = { name: "bad-rollback", trigger: { event: "x.y" }, actions: [{ type: "rollback-model", model: "not a name" }] };
    expectError(await api.call("POST", "/api/automations", bad), 400, /actions\[0\]\.model must be a model name/);
    const alias = { name: "bad-alias", trigger: { event: "x.y" }, actions: [{ type: "rollback-model", model: "m", alias: "Prod" }] };
    expectError(await api.call("POST", "/api/automations", alias), 400, /alias/);
  });
});
