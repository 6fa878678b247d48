/** API keys and accounts over the Baton API (remote mode, with an admin key): the server hashes and stores them. */
import type { CredentialAdmin } from "../services/credentials.ts";
import { AccountListSchema, AccountSchema, ApiKeyListSchema, ApiKeySchema, CreatedApiKeySchema, type AccountInput, type ApiKeyInput } from "../schemas/credential.ts";
import type { ApiClient } from "./api-client.ts";
const enc = encodeURIComponent;

export class RemoteCredentials implements CredentialAdmin {
  constructor(private readonly api: ApiClient) {}

  createKey(input: ApiKeyInput) {
    return this.api.request("POST", "/api/api-keys", input, CreatedApiKeySchema);
  }

  async listKeys() {
    return (await this.api.request("GET", "/api/api-keys", undefined, ApiKeyListSchema)).items;
  }

  revokeKey(idPrefixOrName: string) {
    return this.api.request("POST", `/api/api-keys/${enc(idPrefixOrName)}/revoke`, {}, ApiKeySchema);
  }

  createAccount(input: AccountInput) {
    return this.api.request("POST", "/api/accounts", input, AccountSchema);
  }

  async listAccounts() {
    return (await this.api.request("GET", "/api/accounts", undefined, AccountListSchema)).items;
  }

  async deleteAccount(name: string) {
    await this.api.request("DELETE", `/api/accounts/${enc(name)}`);
  }
}
