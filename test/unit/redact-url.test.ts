/** Database URLs shown anywhere (health, logs, config view) lose every credential pg would read from them. */
import os from "node:os";
import { describe, expect, it } from "vitest";
import { redactUrl } from "../../src/core/redact-url.ts";
import { describeSettings, loadSettings } from "../../src/config/settings.ts";

const SECRET = "Sup3r-s3cret";

describe("redactUrl", () => {
  it.each([
    ["userinfo", `postgres://baton:${SECRET}@db.internal:5432/baton`, "postgres://baton:***@db.internal:5432/baton"],
    ["a password holding @ and :", `postgres://baton:${SECRET}@:x@db:5432/baton`, "postgres://baton:***@db:5432/baton"],
    ["a percent-encoded password", `postgresql://baton:${SECRET}%2F%40@db/baton`, "postgresql://baton:***@db/baton"],
    ["?password=", `postgres://baton@db:5432/baton?password=${SECRET}`, "postgres://baton@db:5432/baton?password=***"],
    ["?user=&password= beside other parameters", `postgres://db/baton?user=baton&password=${SECRET}&sslmode=require`, "postgres://db/baton?user=baton&password=***&sslmode=require"],
    ["?sslpassword= and ?sslkey=", `postgres://db/baton?sslmode=verify-full&sslkey=/keys/${SECRET}.key&sslpassword=${SECRET}`, "postgres://db/baton?sslmode=verify-full&sslkey=***&sslpassword=***"],
    ["?passfile=", `postgres://db/baton?passfile=/home/${SECRET}/.pgpass`, "postgres://db/baton?passfile=***"],
    ["an upper-case or encoded parameter name", `postgres://db/baton?PASSWORD=${SECRET}&ssl%70assword=${SECRET}`, "postgres://db/baton?PASSWORD=***&ssl%70assword=***"],
    ["a repeated parameter", `postgres://db/baton?password=a&password=${SECRET}`, "postgres://db/baton?password=***&password=***"],
    ["an empty host (a Unix socket)", `postgres://baton:${SECRET}@/baton?host=/var/run/postgresql`, "postgres://baton:***@/baton?host=/var/run/postgresql"],
    ["userinfo and query together", `postgres://baton:${SECRET}@db/baton?sslpassword=${SECRET}`, "postgres://baton:***@db/baton?sslpassword=***"],
  ])("hides %s", (_what, url, expected) => {
    const shown = redactUrl(url);
    expect(shown).toBe(expected);
    expect(shown).not.toContain(SECRET);
  });

  it("leaves URLs without credentials exactly as they are", () => {
    for (const url of ["postgres://postgres@127.0.0.1:5432/postgres", "postgres://db/baton?host=/var/run/postgresql&sslmode=require", "sqlite:///var/lib/baton/baton.db", "sqlite::memory:"])
      expect(redactUrl(url)).toBe(url);
  });

  it("shows only the scheme of a URL it cannot parse", () => {
    const shown = redactUrl(`postgres://baton:${SECRET}@[bad-host/baton`);
    expect(shown).not.toContain(SECRET);
    expect(shown).toMatch(/^postgres:\(a URL that cannot be parsed, hidden/);
  });

  it("is what config view shows of the database URL", () => {
    const settings = loadSettings({ BATON_HOME: os.tmpdir(), BATON_DATABASE_URL: `postgres://baton:${SECRET}@db/baton?sslpassword=${SECRET}` });
    expect(describeSettings(settings).find((row) => row.name === "databaseUrl")!.value).toBe("postgres://baton:***@db/baton?sslpassword=***");
  });
});
