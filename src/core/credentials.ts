/**
 * API key format and password/key hashing.
 *
 * A key is `baton_<prefix>_<secret>`: the prefix (12 random base32 characters) is its public,
 * unique lookup handle, stored in clear so a request finds its row with one indexed read; the
 * secret (32 random bytes, base64url) is stored only as a scrypt hash. The issue asks for scrypt
 * (or argon2), and scrypt is in node:crypto. A 256-bit random secret would be safe behind any
 * hash — scrypt's cost protects low-entropy passwords — but one hashing scheme for keys and
 * passwords leaves nothing to choose wrong, and its cost (~50 ms on the libuv pool, off the event
 * loop) is paid once per key per cache lifetime: the server keeps verified keys for a minute
 * (server/authenticator.ts), and the prefix means a wrong key costs a hash only when its
 * prefix exists. Passwords use the same scrypt with their own salt.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from "node:crypto";

export const API_KEY_PREFIX = "baton_";
const PREFIX_CHARS = "abcdefghijklmnopqrstuvwxyz234567";
const PREFIX_LENGTH = 12;
const SECRET_BYTES = 32;
/** base64url of 32 bytes, unpadded. */
const SECRET_LENGTH = 43;

/** scrypt's cost: N = 2^14, r = 8, p = 1 (16 MiB, the parameters RFC 7914 and OWASP cite for interactive logins). */
const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32 } as const;

/** A freshly made key: the whole secret (shown once) and its public prefix. */
export interface NewApiKey {
  key: string;
  prefix: string;
  secret: string;
}

export function newApiKey(): NewApiKey {
  const bytes = randomBytes(PREFIX_LENGTH);
  const prefix = [...bytes].map((b) => PREFIX_CHARS[b % 32]).join("");
  const secret = randomBytes(SECRET_BYTES).toString("base64url");
  return { key: `${API_KEY_PREFIX}${prefix}_${secret}`, prefix, secret };
}

/** The prefix and secret of a stored key's text, or null when it has not that shape (then it may be a static key). */
export function parseApiKey(text: string): { prefix: string; secret: string } | null {
  if (!text.startsWith(API_KEY_PREFIX) || text.length !== API_KEY_PREFIX.length + PREFIX_LENGTH + 1 + SECRET_LENGTH) return null;
  const prefix = text.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + PREFIX_LENGTH);
  if (text[API_KEY_PREFIX.length + PREFIX_LENGTH] !== "_") return null;
  const secret = text.slice(API_KEY_PREFIX.length + PREFIX_LENGTH + 1);
  if (![...prefix].every((c) => PREFIX_CHARS.includes(c)) || !/^[A-Za-z0-9_-]+$/.test(secret)) return null;
  return { prefix, secret };
}

function scrypt(text: string, salt: Buffer, options: { N: number; r: number; p: number }, keyLength: number): Promise<Buffer> {
  const scryptOptions: ScryptOptions = { N: options.N, r: options.r, p: options.p, maxmem: 64 * 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCallback(text.normalize("NFC"), salt, keyLength, scryptOptions, (error, key) => (error ? reject(error) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash` (base64url): the parameters travel with the hash, so they can grow later. */
export async function hashSecret(text: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(text, salt, SCRYPT, SCRYPT.keyLength);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64url"), hash.toString("base64url")].join("$");
}

/** Whether `text` hashes to `stored` (compared in constant time); false for a malformed `stored`. */
export async function verifySecret(text: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (!Object.values(params).every((v) => Number.isSafeInteger(v) && v > 0) || expected.length === 0) return false;
  const actual = await scrypt(text, Buffer.from(salt, "base64url"), params, expected.length);
  return timingSafeEqual(actual, expected);
}

/**
 * An expiry such as `90d`, `12h`, `30m` or `2w`, in days (what the API takes). Refuses
 * anything else naming the option.
 */
export function parseExpiry(text: string, field = "--expires"): number {
  const match = /^(\d+(?:\.\d+)?)([mhdw])$/.exec(text.trim());
  const units = { m: 1 / 1440, h: 1 / 24, d: 1, w: 7 } as const;
  if (!match) throw new TypeError(`${field} must be a duration such as 90d, 12h, 30m or 2w, got "${text}"`);
  const days = Number(match[1]) * units[match[2] as keyof typeof units];
  if (!(days > 0) || days > 36_500) throw new TypeError(`${field} must be more than 0 and at most 100 years, got "${text}"`);
  return days;
}
