/** Variables and secrets over the Baton API (remote mode): the server checks input and holds the secret key. */
import type { SecretInfo, Variable, VariableInput } from "../store/value-types.ts";
import type { VariableAdmin } from "../services/variables.ts";
import { SecretNotFoundError, type SecretAdmin, type SecretReader } from "../services/secrets.ts";
import { orUndefined, type ApiClient } from "./api-client.ts";
import { SecretInfoListSchema, SecretInfoSchema, SecretValueSchema } from "../schemas/secret.ts";
import { VariableListSchema, VariableSchema } from "../schemas/variable.ts";
const enc = encodeURIComponent;

export class RemoteVariables implements VariableAdmin {
  constructor(private readonly api: ApiClient) {}

  set(input: VariableInput): Promise<Variable> {
    return this.api.request("PUT", `/api/variables/${enc(input.name)}`, { value: input.value, ...(input.tags ? { tags: input.tags } : {}) }, VariableSchema);
  }

  get(name: string): Promise<Variable | undefined> {
    return orUndefined(this.api.request("GET", `/api/variables/${enc(name)}`, undefined, VariableSchema));
  }

  async list(): Promise<Variable[]> {
    return (await this.api.request("GET", "/api/variables", undefined, VariableListSchema)).items;
  }

  async delete(name: string): Promise<boolean> {
    return (await orUndefined(this.api.request("DELETE", `/api/variables/${enc(name)}`).then(() => true))) ?? false;
  }
}

export class RemoteSecrets implements SecretAdmin, SecretReader {
  constructor(private readonly api: ApiClient) {}

  set(name: string, value: string): Promise<SecretInfo> {
    return this.api.request("PUT", `/api/secrets/${enc(name)}`, { value }, SecretInfoSchema);
  }

  async list(): Promise<SecretInfo[]> {
    return (await this.api.request("GET", "/api/secrets", undefined, SecretInfoListSchema)).items;
  }

  async delete(name: string): Promise<boolean> {
    return (await orUndefined(this.api.request("DELETE", `/api/secrets/${enc(name)}`).then(() => true))) ?? false;
  }

  /** With a worker key the server needs the run (its job variables must reference the secret). */
  async reveal(name: string, flowRunId?: string | null): Promise<string> {
    const query = flowRunId ? `?flowRunId=${enc(flowRunId)}` : "";
    const found = await orUndefined(this.api.request("GET", `/api/secrets/${enc(name)}/value${query}`, undefined, SecretValueSchema));
    if (!found) throw new SecretNotFoundError(name);
    return found.value;
  }
}
