/**
 * The key that seals secrets: BATON_SECRET_KEY (32 bytes as 64 hex digits or base64), else the
 * key file `$BATON_HOME/secret.key`, made on first use with mode 0600. Every process that reads
 * or sets secrets on the database (server, CLI, workers, their runs) needs the same key: on one
 * machine they share BATON_HOME; elsewhere, set BATON_SECRET_KEY (clients in remote mode need
 * none: the server holds the key).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { BatonConfigError } from "../core/errors.ts";
import { makeSecretKey, SECRET_KEY_BYTES, type SecretKey } from "../core/secret-cipher.ts";
import { loadSettings, type Settings } from "./settings.ts";

export const SECRET_KEY_FILE = "secret.key";

/** 32 bytes from hex or base64 text, or null. */
function decodeKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, "base64");
    if (bytes.length === SECRET_KEY_BYTES) return bytes;
  }
  return null;
}

/** The key file's contents, creating it (atomically: a racing process reads the winner's) when missing. */
function readOrCreateKeyFile(file: string): string {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    fs.writeFileSync(temp, randomBytes(SECRET_KEY_BYTES).toString("base64") + "\n", { mode: 0o600 });
    try {
      fs.linkSync(temp, file); // fails if another process made it first: theirs wins
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      fs.rmSync(temp, { force: true });
    }
  }
  // Like ssh with its keys: a key others can read protects nothing.
  const mode = fs.statSync(file).mode & 0o777;
  if (process.platform !== "win32" && (mode & 0o077) !== 0)
    throw new BatonConfigError(`${file} has mode 0${mode.toString(8)}: a secret key must be readable by its owner only; run chmod 600 ${file}`);
  return fs.readFileSync(file, "utf8");
}

/** The secret key of this process's settings. */
export function loadSecretKey(settings: Pick<Settings, "home" | "secretKey"> = loadSettings()): SecretKey {
  const fromEnv = settings.secretKey.value;
  if (fromEnv !== null) {
    const bytes = decodeKey(fromEnv);
    if (!bytes) throw new BatonConfigError(`BATON_SECRET_KEY must be ${SECRET_KEY_BYTES} bytes written as 64 hex digits or as base64 (make one with: openssl rand -base64 32)`);
    return makeSecretKey(bytes, "BATON_SECRET_KEY");
  }
  const file = path.join(settings.home.value, SECRET_KEY_FILE);
  const bytes = decodeKey(readOrCreateKeyFile(file));
  if (!bytes) throw new BatonConfigError(`${file} does not hold a ${SECRET_KEY_BYTES}-byte key (64 hex digits or base64); restore it, or set BATON_SECRET_KEY`);
  return makeSecretKey(bytes, file);
}
