/** Variables over Kysely (SQLite and PostgreSQL): one row each by name, value as JSON text. */
import type { Selectable } from "kysely";
import { variableEvent } from "../core/value-events.ts";
import type { KyselyStore } from "./kysely-store.ts";
import type { VariablesTable } from "./schema.ts";
import { appendEvents } from "./transitions/event-log.ts";
import type { Variable, VariableInput, VariableStore } from "./value-types.ts";

const variableFromRow = (row: Selectable<VariablesTable>): Variable => ({
  name: row.name,
  value: JSON.parse(row.value) as unknown,
  tags: JSON.parse(row.tags) as string[],
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

export class KyselyVariableStore implements VariableStore {
  constructor(private readonly base: KyselyStore) {}

  async setVariable(input: VariableInput, now = Date.now()): Promise<Variable> {
    const tags = input.tags ?? [];
    const value = JSON.stringify(input.value);
    return this.base.transaction(async (tx) => {
      await tx
        .insertInto("variables")
        .values({ name: input.name, value, tags: JSON.stringify(tags), created_at: now, updated_at: now })
        .onConflict((oc) => oc.column("name").doUpdateSet({ value, tags: JSON.stringify(tags), updated_at: now }))
        .execute();
      await appendEvents(tx, this.base, [variableEvent("set", input.name, tags, now)]);
      return variableFromRow(await tx.selectFrom("variables").selectAll().where("name", "=", input.name).executeTakeFirstOrThrow());
    });
  }

  async getVariable(name: string): Promise<Variable | undefined> {
    const row = await this.base.db.selectFrom("variables").selectAll().where("name", "=", name).executeTakeFirst();
    return row ? variableFromRow(row) : undefined;
  }

  async listVariables(): Promise<Variable[]> {
    return (await this.base.db.selectFrom("variables").selectAll().orderBy("name").execute()).map(variableFromRow);
  }

  async deleteVariable(name: string): Promise<boolean> {
    return this.base.transaction(async (tx) => {
      const row = await tx.deleteFrom("variables").where("name", "=", name).returning("tags").executeTakeFirst();
      if (!row) return false;
      await appendEvents(tx, this.base, [variableEvent("deleted", name, JSON.parse(row.tags) as string[])]);
      return true;
    });
  }
}
