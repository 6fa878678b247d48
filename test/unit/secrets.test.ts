/**
 * Sealing secrets and resolving references, without a database: AES-256-GCM round trips, a
 * fresh nonce for every value, tampering and a wrong key refused with the secret and key named,
 * the key file made with mode 0600 (and refused when others can read it), BATON_SECRET_KEY
 * checked, and `{{ variables.x }}` / `{{ secrets.x }}` found, checked and resolved with the
 * field named on error. Redaction replaces registered values.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeSecretKey, openSecret, sealSecret, SecretDecryptionError } from "../../src/core/secret-cipher.ts";
import { loadSecretKey } from "../../src/config/secret-key.ts";
import { checkTemplateRefs, findTemplateRefs, resolveTemplateRefs, TemplateRefError } from "../../src/core/template-refs.ts";
import { clearRedacted, redact, registerRedacted } from "../../src/core/redaction.ts";
import { describeError } from "../../src/core/errors.ts";
import { loadSettings } from "../../src/config/settings.ts";

const key = makeSecretKey(randomBytes(32), "test");

describe("secret cipher", () => {
  it("round-trips a value, with a new nonce and ciphertext each time", () => {
    const a = sealSecret(key, "db", "p@ss wörd");
    const b = sealSecret(key, "db", "p@ss wörd");
    expect(openSecret(key, "db", a)).toBe("p@ss wörd");
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(Buffer.from(a.nonce, "base64")).toHaveLength(12);
    expect(JSON.stringify(a)).not.toContain("p@ss");
    const nonces = new Set(Array.from({ length: 1000 }, () => sealSecret(key, "db", "x").nonce));
    expect(nonces.size).toBe(1000);
  });

  it("refuses an altered ciphertext, tag or name, saying the value was altered", () => {
    const sealed = sealSecret(key, "db", "value-1234");
    const flipped = Buffer.from(sealed.ciphertext, "base64");
    flipped[0]! ^= 1;
    expect(() => openSecret(key, "db", { ...sealed, ciphertext: flipped.toString("base64") })).toThrow(/secret "db" cannot be decrypted: .*altered/);
    expect(() => openSecret(key, "db", { ...sealed, authTag: randomBytes(16).toString("base64") })).toThrow(SecretDecryptionError);
    // A row's ciphertext copied onto another secret does not open there.
    expect(() => openSecret(key, "other", sealed)).toThrow(/secret "other"/);
  });

  it("names the secret and both key fingerprints for a wrong key", () => {
    const sealed = sealSecret(key, "db", "value-1234");
    const other = makeSecretKey(randomBytes(32), "BATON_SECRET_KEY");
    const error = (() => {
      try {
        openSecret(other, "db", sealed);
      } catch (e) {
        return e as SecretDecryptionError;
      }
    })()!;
    expect(error).toBeInstanceOf(SecretDecryptionError);
    expect(error.message).toContain(`sealed with key ${key.fingerprint}`);
    expect(error.message).toContain(`this process has key ${other.fingerprint} (BATON_SECRET_KEY)`);
    expect(error.message).not.toContain(other.bytes.toString("base64"));
  });
});

describe("secret key", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const home = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-key-"));
    dirs.push(dir);
    return path.join(dir, "home");
  };

  it("creates $BATON_HOME/secret.key with mode 0600 once, and reads the same key after", () => {
    const h = home();
    const first = loadSecretKey(loadSettings({ BATON_HOME: h }));
    const file = path.join(h, "secret.key");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(first.source).toBe(file);
    expect(loadSecretKey(loadSettings({ BATON_HOME: h })).fingerprint).toBe(first.fingerprint);
  });

  it("refuses a key file others can read", () => {
    const h = home();
    loadSecretKey(loadSettings({ BATON_HOME: h }));
    fs.chmodSync(path.join(h, "secret.key"), 0o644);
    expect(() => loadSecretKey(loadSettings({ BATON_HOME: h }))).toThrow(/mode 0644.*chmod 600/);
  });

  it("takes BATON_SECRET_KEY as hex or base64, and names the setting when it is not 32 bytes", () => {
    const bytes = randomBytes(32);
    const h = home();
    expect(loadSecretKey(loadSettings({ BATON_HOME: h, BATON_SECRET_KEY: bytes.toString("hex") })).fingerprint).toBe(makeSecretKey(bytes, "x").fingerprint);
    expect(loadSecretKey(loadSettings({ BATON_HOME: h, BATON_SECRET_KEY: bytes.toString("base64") })).fingerprint).toBe(makeSecretKey(bytes, "x").fingerprint);
    expect(() => loadSecretKey(loadSettings({ BATON_HOME: h, BATON_SECRET_KEY: "too-short" }))).toThrow(/BATON_SECRET_KEY must be 32 bytes/);
    expect(fs.existsSync(path.join(h, "secret.key"))).toBe(false);
  });
});

describe("template references", () => {
  const values = { variables: new Map<string, unknown>([["region", "eu-west-1"], ["batch", 500], ["cfg", { a: 1 }]]), secrets: new Map([["db", "s3cr3t-value"]]) };

  it("finds references with their fields", () => {
    expect(findTemplateRefs({ env: { DB: "{{ secrets.db }}", URL: "https://{{variables.region}}.example/{{ variables.cfg }}" }, list: ["{{ variables.batch }}"] }, "job_variables")).toEqual([
      { kind: "secrets", name: "db", field: "job_variables.env.DB" },
      { kind: "variables", name: "region", field: "job_variables.env.URL" },
      { kind: "variables", name: "cfg", field: "job_variables.env.URL" },
      { kind: "variables", name: "batch", field: "job_variables.list[0]" },
    ]);
  });

  it("resolves a whole reference to the value itself and an embedded one to its text", () => {
    expect(resolveTemplateRefs({ n: "{{ variables.batch }}", url: "https://{{ variables.region }}/x?c={{ variables.cfg }}", pw: "{{ secrets.db }}", plain: "no {{ refs }}" }, values)).toEqual({
      n: 500,
      url: 'https://eu-west-1/x?c={"a":1}',
      pw: "s3cr3t-value",
      plain: "no {{ refs }}",
    });
  });

  it("names the field of a missing reference, and of a secret where secrets may not go", () => {
    expect(() => resolveTemplateRefs({ env: { DB_PASSWORD: "{{ secrets.nope }}" } }, values, "job_variables")).toThrow('job_variables.env.DB_PASSWORD: secret "nope" does not exist');
    expect(() => resolveTemplateRefs({ x: "{{ secrets.db }}" }, { variables: values.variables }, "parameters")).toThrow(TemplateRefError);
    expect(() => checkTemplateRefs({ x: "{{ secrets.db }}" }, "body.parameters", { variables: new Set(), secrets: null })).toThrow(/body\.parameters\.x: \{\{ secrets\.db \}\} may not be used here/);
    expect(() => checkTemplateRefs({ x: ["{{ variables.gone }}"] }, "body.parameters", { variables: new Set(), secrets: null })).toThrow('body.parameters.x[0]: variable "gone" does not exist');
  });
});

describe("redaction", () => {
  afterEach(() => clearRedacted());

  it("replaces registered values in text and in stored errors", () => {
    registerRedacted("hunter2-long");
    registerRedacted("abc"); // too short to redact safely
    expect(redact("pw=hunter2-long, abc")).toBe("pw=***, abc");
    const info = describeError(new Error("login with hunter2-long failed", { cause: new Error("hunter2-long") }));
    expect(JSON.stringify(info)).not.toContain("hunter2-long");
    expect(info.message).toBe("login with *** failed");
  });
});
