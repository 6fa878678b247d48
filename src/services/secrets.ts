/**
 * Secrets, the use cases the routes, the CLI, workers and the SDK share. Values are sealed
 * with the key (config/secret-key.ts) before they reach the store and opened only by `reveal`,
 * which the routes allow to admins and to runs whose job variables reference the secret. Every
 * other answer is a name and its times.
 */
import { BatonError } from "../core/errors.ts";
import { openSecret, sealSecret, type SecretKey } from "../core/secret-cipher.ts";
import type { SecretInfo, SecretStore } from "../store/value-types.ts";
import { checkValueName } from "./variables.ts";

/** The largest secret value (UTF-8 bytes). */
export const MAX_SECRET_BYTES = 64 * 1024;

export class SecretNotFoundError extends BatonError {
  override name = "SecretNotFoundError";
  constructor(readonly secretName: string) {
    super(`secret "${secretName}" does not exist; set it with: baton secret set ${secretName}`);
  }
}

/** Managing secrets (the CLI): set, list, delete; never a value out. */
export interface SecretAdmin {
  set(name: string, value: string): Promise<SecretInfo>;
  list(): Promise<SecretInfo[]>;
  /** False if there was none. */
  delete(name: string): Promise<boolean>;
}

/** Reading a secret's value, for a run (`flowRunId`: the run that reads it, which remote callers with a worker key must name). */
export interface SecretReader {
  reveal(name: string, flowRunId?: string | null): Promise<string>;
}

/** The value checked; the TypeError names the field. */
export function checkSecretValue(value: unknown, field = "value"): string {
  if (typeof value !== "string" || value === "") throw new TypeError(`${field} must be a non-empty string`);
  if (Buffer.byteLength(value) > MAX_SECRET_BYTES) throw new TypeError(`${field} is ${Buffer.byteLength(value)} bytes; a secret holds at most ${MAX_SECRET_BYTES}`);
  return value;
}

/** Secrets on the database, sealed with the key; the key is loaded on first use (a server that never sees a secret makes no key file). */
export class SecretVault implements SecretAdmin, SecretReader {
  private key: SecretKey | null = null;

  constructor(
    readonly store: SecretStore,
    private readonly loadKey: () => SecretKey,
  ) {}

  private currentKey(): SecretKey {
    return (this.key ??= this.loadKey());
  }

  async set(name: string, value: string): Promise<SecretInfo> {
    checkValueName(name, "secret");
    return this.store.putSecret(name, sealSecret(this.currentKey(), name, checkSecretValue(value)));
  }

  list(): Promise<SecretInfo[]> {
    return this.store.listSecrets();
  }

  delete(name: string): Promise<boolean> {
    return this.store.deleteSecret(name);
  }

  async reveal(name: string): Promise<string> {
    const found = await this.store.getSealedSecret(name);
    if (!found) throw new SecretNotFoundError(name);
    return openSecret(this.currentKey(), name, found.sealed);
  }
}
