/**
 * Named statements through Kysely's pg driver (src/store/pg-named.ts): a registered text is
 * prepared on the connection that runs it and reused there; other texts are not. (The claim's
 * queries use it: test/integration/orchestration-store.test.ts checks their answers.)
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { namedStatement, nameRegisteredStatements } from "../../src/store/pg-named.ts";
import { PG_ADMIN_URL } from "../support/databases.ts";

describe("named statements on PostgreSQL", () => {
  it("prepares a registered text once per connection and answers as before; leaves others unnamed", async () => {
    const pool = new pg.Pool({ connectionString: PG_ADMIN_URL, max: 1 });
    nameRegisteredStatements(pool);
    try {
      const text = namedStatement("select $1::int + 1 as n /* pg-named test */");
      expect((await pool.query(text, [41])).rows).toEqual([{ n: 42 }]);
      expect((await pool.query(text, [1])).rows).toEqual([{ n: 2 }]);
      await pool.query("select 1 /* not registered */");
      const prepared = (await pool.query("select statement from pg_prepared_statements")).rows.map((r) => String(r.statement));
      expect(prepared).toEqual([text]);
    } finally {
      await pool.end();
    }
  });

});
