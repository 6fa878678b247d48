/**
 * The store's outage policy without a database: which errors mean "reconnect and try again",
 * and how long the retry rides an outage out (one clock for the whole store).
 */
import { describe, expect, it } from "vitest";
import { DatabaseUnreachableError } from "../../src/core/errors.ts";
import { isConnectionLoss } from "../../src/store/db-errors.ts";
import { ConnectionRetry } from "../../src/store/pg-reconnect.ts";

/** What pg and Node produce for a server that is away, restarting or refusing. */
const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5999"), { code: "ECONNREFUSED" });
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: "FATAL" });

describe("isConnectionLoss", () => {
  it("is true for a server that is unreachable, restarting or full", () => {
    for (const error of [
      refused,
      Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
      Object.assign(new Error("write EPIPE"), { code: "EPIPE" }),
      new Error("Connection terminated unexpectedly"),
      new Error("Client has encountered a connection error and is not queryable"),
      pgError("57P01", "terminating connection due to administrator command"),
      pgError("57P02", "terminating connection because of crash of another server process"),
      pgError("57P03", "the database system is starting up"),
      pgError("53300", "sorry, too many clients already"),
      pgError("08006", "connection failure"),
    ])
      expect(isConnectionLoss(error), error.message).toBe(true);
  });

  it("is false for errors a new connection would not fix", () => {
    for (const error of [
      pgError("23505", "duplicate key value violates unique constraint"),
      pgError("40001", "could not serialize access"),
      pgError("40P01", "deadlock detected"),
      pgError("53100", "could not extend file: No space left on device"),
      Object.assign(new Error("getaddrinfo ENOTFOUND db.example"), { code: "ENOTFOUND" }),
      Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" }),
      new Error("Connection terminated"), // our own close()
      new Error("Cannot use a pool after calling end on the pool"),
    ])
      expect(isConnectionLoss(error), error.message).toBe(false);
  });
});

describe("ConnectionRetry", () => {
  it("tries again until the database answers", async () => {
    const retry = new ConnectionRetry("postgres://db", 10_000);
    let attempts = 0;
    const value = await retry.run(async () => {
      if (++attempts < 3) throw refused;
      return "answer";
    });
    expect(value).toBe("answer");
    expect(attempts).toBe(3);
  });

  it("remembers when the database came back after an outage", async () => {
    const retry = new ConnectionRetry("postgres://db", 10_000);
    await retry.run(async () => "ok");
    expect(retry.reconnectedAt).toBe(0);
    let attempts = 0;
    await retry.run(async () => {
      if (++attempts < 2) throw refused;
    });
    const back = retry.reconnectedAt;
    expect(back).toBeGreaterThan(Date.now() - 5_000);
    await new Promise((r) => setTimeout(r, 5));
    await retry.run(async () => "ok"); // no outage in between: unchanged
    expect(retry.reconnectedAt).toBe(back);
  });

  it("does not retry other errors", async () => {
    const retry = new ConnectionRetry("postgres://db", 10_000);
    let attempts = 0;
    const duplicate = pgError("23505", "duplicate key");
    await expect(
      retry.run(async () => {
        attempts++;
        throw duplicate;
      }),
    ).rejects.toBe(duplicate);
    expect(attempts).toBe(1);
  });

  it("gives up when the window ends, saying for how long, and later work fails at once until the database answers", async () => {
    const retry = new ConnectionRetry("postgres://db", 400);
    const started = Date.now();
    let attempts = 0;
    const failing = () =>
      retry.run(async () => {
        attempts++;
        throw refused;
      });
    const error = (await failing().catch((e: unknown) => e)) as DatabaseUnreachableError;
    expect(error).toBeInstanceOf(DatabaseUnreachableError);
    expect(error.message).toMatch(/^the database at postgres:\/\/db was unreachable for 0\.\d s \(BATON_DATABASE_RETRY_MS\): connect ECONNREFUSED/);
    expect(error.cause).toBe(refused);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(attempts).toBeGreaterThan(1);

    // The outage is the store's: the next piece of work does not get a window of its own.
    attempts = 0;
    await expect(failing()).rejects.toBeInstanceOf(DatabaseUnreachableError);
    expect(attempts).toBe(1);

    // One success ends the outage: the next failure gets a whole window again.
    await retry.run(async () => "ok");
    attempts = 0;
    await expect(failing()).rejects.toBeInstanceOf(DatabaseUnreachableError);
    expect(attempts).toBeGreaterThan(1);
  });

  it("stops waiting when closed", async () => {
    const retry = new ConnectionRetry("postgres://db", 60_000);
    const started = Date.now();
    const pending = retry.run(async () => {
      throw refused;
    });
    setTimeout(() => retry.close(), 200);
    await expect(pending).rejects.toThrow(/the store of postgres:\/\/db was closed while waiting for the database/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
