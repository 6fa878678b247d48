/**
 * Secrets over Kysely (SQLite and PostgreSQL): only sealed values reach this file (sealing and
 * opening happen in services/secrets.ts with the key), so nothing here can write one in clear.
 */
import type { Selectable } from "kysely";
import { secretEvent } from "../core/value-events.ts";
import type { KyselyStore } from "./kysely-store.ts";
import type { SecretsTable } from "./schema.ts";
import { appendEvents } from "./transitions/event-log.ts";
import type { SealedSecret, SecretInfo, SecretStore } from "./value-types.ts";
import type { SealedValue } from "../core/secret-cipher.ts";
import type { JobVariables } from "../core/job-variables.ts";

const infoFromRow = (row: Pick<Selectable<SecretsTable>, "name" | "created_at" | "updated_at">): SecretInfo => ({
  name: row.name,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

export class KyselySecretStore implements SecretStore {
  constructor(private readonly base: KyselyStore) {}

  async putSecret(name: string, sealed: SealedValue, now = Date.now()): Promise<SecretInfo> {
    const columns = { ciphertext: sealed.ciphertext, nonce: sealed.nonce, auth_tag: sealed.authTag, key_fingerprint: sealed.keyFingerprint, updated_at: now };
    return this.base.transaction(async (tx) => {
      await tx
        .insertInto("secrets")
        .values({ name, ...columns, created_at: now })
        .onConflict((oc) => oc.column("name").doUpdateSet(columns))
        .execute();
      await appendEvents(tx, this.base, [secretEvent("set", name, now)]);
      return infoFromRow(await tx.selectFrom("secrets").select(["name", "created_at", "updated_at"]).where("name", "=", name).executeTakeFirstOrThrow());
    });
  }

  async getSealedSecret(name: string): Promise<SealedSecret | undefined> {
    const row = await this.base.db.selectFrom("secrets").selectAll().where("name", "=", name).executeTakeFirst();
    return row ? { ...infoFromRow(row), sealed: { ciphertext: row.ciphertext, nonce: row.nonce, authTag: row.auth_tag, keyFingerprint: row.key_fingerprint } } : undefined;
  }

  async listSecrets(): Promise<SecretInfo[]> {
    return (await this.base.db.selectFrom("secrets").select(["name", "created_at", "updated_at"]).orderBy("name").execute()).map(infoFromRow);
  }

  async deleteSecret(name: string): Promise<boolean> {
    return this.base.transaction(async (tx) => {
      const row = await tx.deleteFrom("secrets").where("name", "=", name).returning("name").executeTakeFirst();
      if (!row) return false;
      await appendEvents(tx, this.base, [secretEvent("deleted", name)]);
      return true;
    });
  }
}

/** A flow run's own job variables (not its pool's or deployment's), for the secrets its worker may read. */
export async function flowRunJobVariables(base: KyselyStore, id: string): Promise<JobVariables | null> {
  const row = await base.db.selectFrom("flow_runs").select("job_variables").where("id", "=", id).executeTakeFirst();
  return row?.job_variables ? (JSON.parse(row.job_variables) as JobVariables) : null;
}
