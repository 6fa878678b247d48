/**
 * Sealing secret values: AES-256-GCM with a random 12-byte nonce per value (a nonce reused
 * under one key would give away both plaintexts' XOR and the authentication key), and the
 * secret's name as additional authenticated data, so a ciphertext copied onto another secret's
 * row fails to open instead of handing out the wrong value. The key's fingerprint is stored
 * beside each value: a value that does not open says whether the key changed or the row did.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { BatonError } from "./errors.ts";

/** A 32-byte key and its fingerprint (never the key itself in messages). */
export interface SecretKey {
  bytes: Buffer;
  /** First 16 hex digits of SHA-256 over a label and the key. */
  fingerprint: string;
  /** Where it came from, for messages: "BATON_SECRET_KEY" or the key file's path. */
  source: string;
}

/** A sealed value as stored: base64 ciphertext, nonce and auth tag, and the sealing key's fingerprint. */
export interface SealedValue {
  ciphertext: string;
  nonce: string;
  authTag: string;
  keyFingerprint: string;
}

export const SECRET_KEY_BYTES = 32;
const NONCE_BYTES = 12;

/** The value of a secret could not be opened: the key differs, or the stored value was altered. */
export class SecretDecryptionError extends BatonError {
  override name = "SecretDecryptionError";
  constructor(
    readonly secretName: string,
    readonly storedFingerprint: string,
    readonly key: Pick<SecretKey, "fingerprint" | "source">,
  ) {
    super(
      storedFingerprint === key.fingerprint
        ? `secret "${secretName}" cannot be decrypted: its stored value fails authentication under key ${key.fingerprint} (${key.source}), so it was altered; set it again with: baton secret set ${secretName}`
        : `secret "${secretName}" cannot be decrypted: it was sealed with key ${storedFingerprint}, but this process has key ${key.fingerprint} (${key.source}); use the key it was set with (BATON_SECRET_KEY or $BATON_HOME/secret.key), or set it again with: baton secret set ${secretName}`,
    );
  }
}

/** The fingerprint of a key: safe to show, useless to an attacker. */
export function keyFingerprint(bytes: Buffer): string {
  return createHash("sha256").update("baton-secret-key\0").update(bytes).digest("hex").slice(0, 16);
}

export function makeSecretKey(bytes: Buffer, source: string): SecretKey {
  if (bytes.length !== SECRET_KEY_BYTES) throw new TypeError(`a secret key is ${SECRET_KEY_BYTES} bytes, got ${bytes.length}`);
  return { bytes, fingerprint: keyFingerprint(bytes), source };
}

/** Seals `plaintext` as the value of secret `name`. */
export function sealSecret(key: SecretKey, name: string, plaintext: string): SealedValue {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.bytes, nonce);
  cipher.setAAD(Buffer.from(name, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return { ciphertext: ciphertext.toString("base64"), nonce: nonce.toString("base64"), authTag: cipher.getAuthTag().toString("base64"), keyFingerprint: key.fingerprint };
}

/** Opens the value of secret `name`; a wrong key or an altered value is a SecretDecryptionError. */
export function openSecret(key: SecretKey, name: string, sealed: SealedValue): string {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key.bytes, Buffer.from(sealed.nonce, "base64"));
    decipher.setAAD(Buffer.from(name, "utf8"));
    decipher.setAuthTag(Buffer.from(sealed.authTag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "base64")), decipher.final()]).toString("utf8");
  } catch {
    throw new SecretDecryptionError(name, sealed.keyFingerprint, key);
  }
}
