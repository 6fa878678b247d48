/** Variables and secrets as stored (their stores: variable-store.ts, secret-store.ts). */
import type { SealedValue } from "../core/secret-cipher.ts";
import type { SecretInfo } from "../schemas/secret.ts";
import type { Variable, VariableInput } from "../schemas/variable.ts";

export type { Variable, VariableInput } from "../schemas/variable.ts";
export type { SecretInfo } from "../schemas/secret.ts";

/** A secret as stored: sealed, never its value in clear. */
export interface SealedSecret extends SecretInfo {
  sealed: SealedValue;
}

export interface VariableStore {
  /** Creates or replaces; emits `baton.variable.set` (without the value) in the same transaction. */
  setVariable(input: VariableInput, now?: number): Promise<Variable>;
  getVariable(name: string): Promise<Variable | undefined>;
  listVariables(): Promise<Variable[]>;
  /** False if there was none; emits `baton.variable.deleted`. */
  deleteVariable(name: string): Promise<boolean>;
}

export interface SecretStore {
  /** Creates or replaces; emits `baton.secret.set` (names only) in the same transaction. */
  putSecret(name: string, sealed: SealedValue, now?: number): Promise<SecretInfo>;
  getSealedSecret(name: string): Promise<SealedSecret | undefined>;
  listSecrets(): Promise<SecretInfo[]>;
  /** False if there was none; emits `baton.secret.deleted`. */
  deleteSecret(name: string): Promise<boolean>;
}
