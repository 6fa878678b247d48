/**
 * Automations over Kysely (SQLite and PostgreSQL): their specs, the evaluator's transaction and
 * the actions' outbox.
 *
 * The evaluator reads a batch of the event log after the stored cursor *outside* a transaction
 * (the PostgreSQL tail runs its own snapshot, see event-log-tail.ts), then in one transaction
 * locks the cursor row (PostgreSQL FOR UPDATE; SQLite's BEGIN IMMEDIATE holds the whole file),
 * checks it is still the position it read from — another server process may have evaluated the
 * same batch meanwhile, and then this one commits nothing — and writes the bucket states, the
 * firings, their pending actions, their events and the new cursor together. A crash before the
 * commit leaves the old cursor and the old states: the batch is read and evaluated again, and
 * no window fires twice.
 *
 * Actions are claimed with a compare-and-set on (status, attempts, next_attempt_at): an
 * executor owns an action until its lease (`next_attempt_at` while running) runs out, so one
 * that died mid-attempt is taken over, and a late answer of the dead one is refused.
 */
import type { Selectable } from "kysely";
import { AutomationExistsError, compileAutomationSpec, type AutomationSpec } from "../core/automation-spec.ts";
import { automationChangeEvent, automationTriggeredEvent, type AutomationChange } from "../core/automation-events.ts";
import { bucketKey, bucketsToRead, evaluateBatch, type ActiveAutomation } from "../core/automation-evaluation.ts";
import { bucketIdle, type BucketState, type Fired } from "../core/automation-triggers.ts";
import { metricDue, metricStep, type Measurement } from "../core/automation-metrics.ts";
import { measureMetric } from "./metric-queries.ts";
import type { EventRecord, NewEvent } from "../core/event-records.ts";
import { newId } from "../core/ids.ts";
import type { KyselyStore } from "./kysely-store.ts";
import type { EventTailPosition } from "./types.ts";
import type { AutomationActionsTable, AutomationFiringsTable, AutomationsTable } from "./schema.ts";
import { appendEvents } from "./transitions/event-log.ts";
import type { Tx } from "./transitions/host.ts";
import type { ActionOutcome, ActionStatus, Automation, AutomationActionRecord, AutomationFiring, AutomationStore, ClaimedAction } from "./automation-types.ts";

/** Buckets one statement reads by key, at most (well under both dialects' parameter limits). */
const BUCKET_KEYS_PER_READ = 500;

/** The stored states of the buckets a pass reads (by `bucketKey`). */
async function readBuckets(tx: Tx, wanted: ReturnType<typeof bucketsToRead>): Promise<Map<string, BucketState>> {
  const stored = new Map<string, BucketState>();
  const add = (rows: { automation_id: string; bucket: string; state: string }[]) => {
    for (const b of rows) stored.set(bucketKey(b.automation_id, b.bucket), JSON.parse(b.state) as BucketState);
  };
  if (wanted.whole.length) add(await tx.selectFrom("automation_buckets").select(["automation_id", "bucket", "state"]).where("automation_id", "in", wanted.whole).execute());
  for (const [automationId, keys] of wanted.some) {
    const all = [...keys];
    for (let i = 0; i < all.length; i += BUCKET_KEYS_PER_READ)
      add(
        await tx
          .selectFrom("automation_buckets")
          .select(["automation_id", "bucket", "state"])
          .where("automation_id", "=", automationId)
          .where("bucket", "in", all.slice(i, i + BUCKET_KEYS_PER_READ))
          .execute(),
      );
  }
  return stored;
}

/** The one cursor row: the evaluator's position in the event log. */
const CURSOR = "events";
/** The row metric evaluations lock (PostgreSQL), so two servers' passes commit one after the other. */
const METRICS_LOCK = "metrics";

/** A firing to record, with the actions of its automation's spec. */
interface NewFiring {
  automation: { id: string; name: string };
  bucket: string;
  fired: Fired;
  firedAt: number;
  event: EventRecord | null;
  measurement: Measurement | null;
}

const automationFromRow = (row: Selectable<AutomationsTable>): Automation => ({
  id: row.id,
  name: row.name,
  spec: JSON.parse(row.spec) as AutomationSpec,
  paused: Number(row.paused) === 1,
  activeSince: Number(row.active_since),
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

const actionFromRow = (row: Selectable<AutomationActionsTable>): AutomationActionRecord => ({
  id: row.id,
  firingId: row.firing_id,
  automationId: row.automation_id,
  index: Number(row.action_index),
  type: row.type,
  status: row.status as ActionStatus,
  attempts: Number(row.attempts),
  nextAttemptAt: Number(row.next_attempt_at),
  outcomes: JSON.parse(row.outcomes) as ActionOutcome[],
  updatedAt: Number(row.updated_at),
});

const firingFromRow = (row: Selectable<AutomationFiringsTable>): Omit<AutomationFiring, "actions"> => ({
  id: row.id,
  automationId: row.automation_id,
  bucket: row.bucket,
  reason: row.reason,
  firedAt: Number(row.fired_at),
  windowStart: Number(row.window_start),
  windowEnd: Number(row.window_end),
  events: JSON.parse(row.events) as AutomationFiring["events"],
  event: row.event === null ? null : (JSON.parse(row.event) as EventRecord),
  measurement: row.measurement === null || row.measurement === undefined ? null : (JSON.parse(row.measurement) as Measurement),
});

const parseMetricState = (text: string | undefined) => (text === undefined ? undefined : (JSON.parse(text) as BucketState).metric);

export class KyselyAutomationStore implements AutomationStore {
  constructor(private readonly base: KyselyStore) {}

  private async find(tx: Tx, idOrName: string): Promise<Automation | undefined> {
    const row = await tx
      .selectFrom("automations")
      .selectAll()
      .where((eb) => eb.or([eb("id", "=", idOrName), eb("name", "=", idOrName)]))
      .executeTakeFirst();
    return row ? automationFromRow(row) : undefined;
  }

  private emit(tx: Tx, events: readonly NewEvent[]): Promise<void> {
    return appendEvents(tx, this.base, events);
  }

  /** The cursor as stored (its text is what the evaluator compares), made at the log's end the first time. */
  private async cursor(): Promise<string> {
    const read = async () => (await this.base.db.selectFrom("automation_cursor").select("position").where("name", "=", CURSOR).executeTakeFirst())?.position;
    const found = await read();
    if (found !== undefined) return found;
    const start = await this.base.eventTailStart();
    await this.base.db
      .insertInto("automation_cursor")
      .values({ name: CURSOR, position: JSON.stringify(start), updated_at: Date.now() })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    return (await read())!;
  }

  async createAutomation(spec: AutomationSpec): Promise<Automation> {
    // From now on the log is read: the automation's first events must not fall before the cursor's start.
    await this.cursor();
    const now = Date.now();
    const automation: Automation = { id: newId(), name: spec.name, spec, paused: false, activeSince: now, createdAt: now, updatedAt: now };
    await this.base.transaction(async (tx) => {
      if (await this.find(tx, spec.name)) throw new AutomationExistsError(spec.name);
      await tx
        .insertInto("automations")
        .values({ id: automation.id, name: spec.name, spec: JSON.stringify(spec), paused: 0, active_since: now, created_at: now, updated_at: now })
        .execute();
      await this.emit(tx, [automationChangeEvent("created", automation, now)]);
    });
    return automation;
  }

  /** Applies `change` to the automation in one transaction, its trigger state starting over when `reset`. */
  private async change(idOrName: string, kind: AutomationChange, fields: { spec?: AutomationSpec; paused?: boolean }, reset: boolean): Promise<Automation | undefined> {
    return this.base.transaction(async (tx) => {
      const found = await this.find(tx, idOrName);
      if (!found) return undefined;
      if (fields.spec && fields.spec.name !== found.name && (await this.find(tx, fields.spec.name))) throw new AutomationExistsError(fields.spec.name);
      const now = Date.now();
      const updated: Automation = { ...found, ...fields, name: fields.spec?.name ?? found.name, updatedAt: now, activeSince: reset ? now : found.activeSince };
      await tx
        .updateTable("automations")
        .set({ name: updated.name, spec: JSON.stringify(updated.spec), paused: updated.paused ? 1 : 0, active_since: updated.activeSince, updated_at: now })
        .where("id", "=", found.id)
        .execute();
      if (reset) await tx.deleteFrom("automation_buckets").where("automation_id", "=", found.id).execute();
      // Pausing a paused automation changes nothing: no event.
      if (kind === "updated" || found.paused !== updated.paused) await this.emit(tx, [automationChangeEvent(kind, updated, now)]);
      return updated;
    });
  }

  replaceAutomation(idOrName: string, spec: AutomationSpec): Promise<Automation | undefined> {
    return this.change(idOrName, "updated", { spec }, true);
  }

  async setAutomationPaused(idOrName: string, paused: boolean): Promise<Automation | undefined> {
    const found = await this.getAutomation(idOrName);
    // Resuming starts the windows over: what came while paused is not counted, nor is a deadline missed meanwhile.
    return found && this.change(found.id, paused ? "paused" : "resumed", { paused }, !paused && found.paused);
  }

  async deleteAutomation(idOrName: string): Promise<boolean> {
    return this.base.transaction(async (tx) => {
      const found = await this.find(tx, idOrName);
      if (!found) return false;
      for (const table of ["automation_actions", "automation_firings", "automation_buckets"] as const) await tx.deleteFrom(table).where("automation_id", "=", found.id).execute();
      await tx.deleteFrom("automations").where("id", "=", found.id).execute();
      await this.emit(tx, [automationChangeEvent("deleted", found)]);
      return true;
    });
  }

  getAutomation(idOrName: string): Promise<Automation | undefined> {
    return this.find(this.base.db, idOrName);
  }

  async listAutomations(): Promise<Automation[]> {
    return (await this.base.db.selectFrom("automations").selectAll().orderBy("name").execute()).map(automationFromRow);
  }

  async listFirings(automationId: string, limit: number): Promise<AutomationFiring[]> {
    const firings = (await this.base.db.selectFrom("automation_firings").selectAll().where("automation_id", "=", automationId).orderBy("fired_at", "desc").orderBy("id", "desc").limit(limit).execute()).map(
      firingFromRow,
    );
    if (!firings.length) return [];
    const actions = (
      await this.base.db
        .selectFrom("automation_actions")
        .selectAll()
        .where(
          "firing_id",
          "in",
          firings.map((f) => f.id),
        )
        .orderBy("action_index")
        .execute()
    ).map(actionFromRow);
    return firings.map((f) => ({ ...f, actions: actions.filter((a) => a.firingId === f.id) }));
  }

  async evaluateAutomations(options: { limit: number; now?: number }): Promise<{ events: number; firings: number; caughtUp: boolean }> {
    const before = await this.cursor();
    const batch = await this.base.tailEventLog(JSON.parse(before) as EventTailPosition, options.limit);
    const caughtUp = batch.events.length < options.limit;
    const after = JSON.stringify(batch.position);
    // Rerunnable: a rerun after a lost COMMIT finds the cursor moved and writes nothing.
    return this.base.transaction(
      async (tx) => {
        let query = tx.selectFrom("automation_cursor").select("position").where("name", "=", CURSOR);
        // SQLite has no FOR UPDATE: its BEGIN IMMEDIATE already holds the only write lock.
        if (this.base.dialect === "postgres") query = query.forUpdate();
        const row = await query.executeTakeFirst();
        if (row?.position !== before) return { events: 0, firings: 0, caughtUp: false };
        const now = options.now ?? Date.now();
        const automations: ActiveAutomation[] = (await tx.selectFrom("automations").selectAll().where("paused", "=", 0).execute()).map((r) => {
          const a = automationFromRow(r);
          return { id: a.id, name: a.name, trigger: compileAutomationSpec(a.spec).trigger, activeSince: a.activeSince };
        });
        const events = batch.events.map((e) => e.event);
        const stored = await readBuckets(tx, bucketsToRead(automations, events));
        const result = evaluateBatch(automations, stored, events, now, caughtUp);
        for (const b of result.buckets.values())
          await tx
            .insertInto("automation_buckets")
            .values({ automation_id: b.automationId, bucket: b.bucket, state: JSON.stringify(b.state), updated_at: now })
            .onConflict((oc) => oc.columns(["automation_id", "bucket"]).doUpdateSet((eb) => ({ state: eb.ref("excluded.state"), updated_at: eb.ref("excluded.updated_at") })))
            .execute();
        await this.recordFirings(tx, result.firings.map((f) => ({ ...f, measurement: null })), now);
        if (after !== before) await tx.updateTable("automation_cursor").set({ position: after, updated_at: now }).where("name", "=", CURSOR).execute();
        return { events: batch.events.length, firings: result.firings.length, caughtUp };
      },
      { rerunnable: true },
    );
  }

  /** Inserts the firings, their pending actions and their baton.automation.triggered events. */
  private async recordFirings(tx: Tx, firings: readonly NewFiring[], now: number): Promise<void> {
    if (!firings.length) return;
    const specs = new Map((await this.specsOf(tx, firings.map((f) => f.automation.id))).map((a) => [a.id, a.spec]));
    const events: NewEvent[] = [];
    for (const f of firings) {
      const id = newId();
      await tx
        .insertInto("automation_firings")
        .values({
          id,
          automation_id: f.automation.id,
          bucket: f.bucket,
          reason: f.fired.reason,
          fired_at: f.firedAt,
          window_start: f.fired.windowStart,
          window_end: f.fired.windowEnd,
          events: JSON.stringify(f.fired.events),
          event: f.event ? JSON.stringify(f.event) : null,
          measurement: f.measurement ? JSON.stringify(f.measurement) : null,
        })
        .execute();
      const actions = specs.get(f.automation.id)?.actions ?? [];
      if (actions.length)
        await tx
          .insertInto("automation_actions")
          .values(actions.map((a, index) => ({ id: newId(), firing_id: id, automation_id: f.automation.id, action_index: index, type: a.type, status: "pending", attempts: 0, next_attempt_at: now, outcomes: "[]", updated_at: now })))
          .execute();
      events.push(
        automationTriggeredEvent(f.automation, { id, bucket: f.bucket, reason: f.fired.reason, firedAt: f.firedAt, windowStart: f.fired.windowStart, windowEnd: f.fired.windowEnd, events: f.fired.events, measurement: f.measurement }),
      );
    }
    await this.emit(tx, events);
  }

  /**
   * Deletes the `for_each` buckets of reactive triggers whose kept events all left the window
   * (bucketIdle) and that nothing wrote for `idleMs`: a bucket per run id or per key otherwise
   * stays forever. Returns how many went. A bucket written meanwhile is kept (its updated_at).
   */
  async pruneIdleBuckets(options: { now?: number; idleMs?: number; limit?: number } = {}): Promise<number> {
    const now = options.now ?? Date.now();
    const before = now - (options.idleMs ?? 3600_000);
    const triggers = new Map(
      (await this.base.db.selectFrom("automations").select(["id", "spec"]).execute()).map((r) => [r.id, compileAutomationSpec(JSON.parse(r.spec) as AutomationSpec).trigger]),
    );
    const rows = await this.base.db
      .selectFrom("automation_buckets")
      .select(["automation_id", "bucket", "state", "updated_at"])
      .where("bucket", "!=", "")
      .where("updated_at", "<", before)
      .limit(options.limit ?? 5000)
      .execute();
    const idle = rows.filter((r) => {
      const trigger = triggers.get(r.automation_id);
      return trigger !== undefined && bucketIdle(trigger, JSON.parse(r.state) as BucketState, before);
    });
    let deleted = 0;
    for (let i = 0; i < idle.length; i += BUCKET_KEYS_PER_READ) {
      const chunk = idle.slice(i, i + BUCKET_KEYS_PER_READ);
      deleted += await this.base.transaction(async (tx) => {
        let n = 0;
        for (const r of chunk) {
          const result = await tx
            .deleteFrom("automation_buckets")
            .where("automation_id", "=", r.automation_id)
            .where("bucket", "=", r.bucket)
            .where("updated_at", "=", r.updated_at)
            .executeTakeFirst();
          n += Number(result.numDeletedRows);
        }
        return n;
      });
    }
    return deleted;
  }

  async evaluateMetricTriggers(options: { now?: number } = {}): Promise<{ measured: number; firings: number }> {
    const now = options.now ?? Date.now();
    const active = (await this.base.db.selectFrom("automations").selectAll().where("paused", "=", 0).execute()).flatMap((r) => {
      const a = automationFromRow(r);
      const trigger = compileAutomationSpec(a.spec).trigger;
      return trigger.kind === "metric" ? [{ automation: a, trigger }] : [];
    });
    if (!active.length) return { measured: 0, firings: 0 };
    const statesOf = async (tx: Tx) =>
      new Map(
        (
          await tx
            .selectFrom("automation_buckets")
            .select(["automation_id", "state"])
            .where(
              "automation_id",
              "in",
              active.map((a) => a.automation.id),
            )
            .where("bucket", "=", "")
            .execute()
        ).map((b) => [b.automation_id, b.state]),
      );
    const before = await statesOf(this.base.db);
    const due = active.filter(({ automation, trigger }) => metricDue(trigger, parseMetricState(before.get(automation.id)), now));
    if (!due.length) return { measured: 0, firings: 0 };
    // Measured outside the transaction: SQLite's write lock is not held over scans of the runs.
    const measured = await Promise.all(due.map(async (d) => ({ ...d, measurement: await measureMetric(this.base.db, d.trigger, now) })));
    await this.base.db
      .insertInto("automation_cursor")
      .values({ name: METRICS_LOCK, position: "", updated_at: now })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    return this.base.transaction(
      async (tx) => {
        let lock = tx.selectFrom("automation_cursor").select("name").where("name", "=", METRICS_LOCK);
        if (this.base.dialect === "postgres") lock = lock.forUpdate();
        await lock.executeTakeFirst();
        const current = await statesOf(tx);
        const rows = await tx
          .selectFrom("automations")
          .select(["id", "active_since", "paused"])
          .where(
            "id",
            "in",
            measured.map((m) => m.automation.id),
          )
          .execute();
        const activeSince = new Map(rows.filter((r) => Number(r.paused) === 0).map((r) => [r.id, Number(r.active_since)]));
        const firings: NewFiring[] = [];
        let count = 0;
        for (const { automation, trigger, measurement } of measured) {
          // Measured by another process meanwhile, or replaced, paused or deleted: its result stands.
          if (current.get(automation.id) !== before.get(automation.id) || activeSince.get(automation.id) !== automation.activeSince) continue;
          const stored = current.get(automation.id);
          const step = metricStep(trigger, parseMetricState(stored), measurement, now);
          const state = { ...(stored ? (JSON.parse(stored) as BucketState) : {}), metric: step.state };
          await tx
            .insertInto("automation_buckets")
            .values({ automation_id: automation.id, bucket: "", state: JSON.stringify(state), updated_at: now })
            .onConflict((oc) => oc.columns(["automation_id", "bucket"]).doUpdateSet((eb) => ({ state: eb.ref("excluded.state"), updated_at: eb.ref("excluded.updated_at") })))
            .execute();
          count++;
          if (step.fire)
            firings.push({ automation, bucket: "", fired: { reason: "metric", events: [], windowStart: measurement.windowStart, windowEnd: measurement.windowEnd }, firedAt: now, event: null, measurement });
        }
        await this.recordFirings(tx, firings, now);
        return { measured: count, firings: firings.length };
      },
      { rerunnable: true },
    );
  }

  private async specsOf(tx: Tx, ids: readonly string[]): Promise<Automation[]> {
    if (!ids.length) return [];
    return (await tx.selectFrom("automations").selectAll().where("id", "in", [...new Set(ids)]).execute()).map(automationFromRow);
  }

  async claimDueActions(now: number, leaseMs: number, limit: number): Promise<ClaimedAction[]> {
    const due = await this.base.db
      .selectFrom("automation_actions")
      .selectAll()
      .where("status", "in", ["pending", "running"])
      .where("next_attempt_at", "<=", now)
      .orderBy("next_attempt_at")
      .limit(limit)
      .execute();
    const claimed: AutomationActionRecord[] = [];
    for (const row of due) {
      // Compare-and-set: another executor that claimed it first changed one of these.
      const result = await this.base.db
        .updateTable("automation_actions")
        .set({ status: "running", attempts: Number(row.attempts) + 1, next_attempt_at: now + leaseMs, updated_at: now })
        .where("id", "=", row.id)
        .where("status", "=", row.status)
        .where("attempts", "=", row.attempts)
        .where("next_attempt_at", "=", row.next_attempt_at)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) claimed.push({ ...actionFromRow(row), status: "running", attempts: Number(row.attempts) + 1, nextAttemptAt: now + leaseMs, updatedAt: now });
    }
    if (!claimed.length) return [];
    const automations = new Map((await this.specsOf(this.base.db, claimed.map((a) => a.automationId))).map((a) => [a.id, a]));
    const firings = new Map(
      (
        await this.base.db
          .selectFrom("automation_firings")
          .selectAll()
          .where(
            "id",
            "in",
            claimed.map((a) => a.firingId),
          )
          .execute()
      ).map((r) => [r.id, firingFromRow(r)]),
    );
    return claimed.flatMap((action) => {
      const automation = automations.get(action.automationId);
      const firing = firings.get(action.firingId);
      return automation && firing ? [{ action, automation, firing }] : [];
    });
  }

  async recordActionAttempt(action: AutomationActionRecord, outcome: ActionOutcome, next: { status: ActionStatus; nextAttemptAt: number }, events: readonly NewEvent[] = []): Promise<boolean> {
    return this.base.transaction(async (tx) => {
      const result = await tx
        .updateTable("automation_actions")
        .set({ status: next.status, next_attempt_at: next.nextAttemptAt, outcomes: JSON.stringify([...action.outcomes, outcome]), updated_at: outcome.at })
        .where("id", "=", action.id)
        .where("status", "=", "running")
        .where("attempts", "=", action.attempts)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      if (events.length) await this.emit(tx, events);
      return true;
    });
  }
}
