/**
 * Variables, the use cases the routes, the CLI and the SDK share: a name and tags are checked
 * and the value made JSON before anything is stored. In front of the database here; the remote
 * client (client/remote-values.ts) offers the same interface over the API.
 */
import { VALUE_NAME } from "../core/template-refs.ts";
import type { Variable, VariableInput, VariableStore } from "../store/value-types.ts";

/** The largest variable value, as JSON text. */
export const MAX_VARIABLE_BYTES = 64 * 1024;

/** Managing variables: on the database, or through the server. */
export interface VariableAdmin {
  set(input: VariableInput): Promise<Variable>;
  get(name: string): Promise<Variable | undefined>;
  list(): Promise<Variable[]>;
  /** False if there was none. */
  delete(name: string): Promise<boolean>;
}

export function checkValueName(name: unknown, what: "variable" | "secret", field = "name"): string {
  if (typeof name !== "string" || !VALUE_NAME.test(name))
    throw new TypeError(`${field}: a ${what} name is 1 to 200 letters, digits, _, . or - (starting with a letter, digit or _), got ${JSON.stringify(name)?.slice(0, 80)}`);
  return name;
}

/** The input checked; each TypeError names the field. */
export function compileVariableInput(input: VariableInput): VariableInput {
  const name = checkValueName(input.name, "variable");
  if (input.value === undefined) throw new TypeError("value is required (any JSON value)");
  const text = JSON.stringify(input.value);
  if (Buffer.byteLength(text) > MAX_VARIABLE_BYTES) throw new TypeError(`value is ${Buffer.byteLength(text)} bytes as JSON; a variable holds at most ${MAX_VARIABLE_BYTES}`);
  const tags = input.tags ?? [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string" || !t || t.length > 100)) throw new TypeError("tags must be a list of 1 to 100 character strings");
  return { name, value: JSON.parse(text) as unknown, tags: [...new Set(tags)] };
}

/** Variable management on the database. */
export function localVariableAdmin(variables: VariableStore): VariableAdmin {
  return {
    set: (input) => variables.setVariable(compileVariableInput(input)),
    get: (name) => variables.getVariable(name),
    list: () => variables.listVariables(),
    delete: (name) => variables.deleteVariable(name),
  };
}
