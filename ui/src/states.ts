/** State types and the names beneath each, from the server's table (src/core/states.ts). */
import { STATE_NAME_TYPE, STATE_NAMES, STATE_TYPES, type StateName, type StateType } from "../../src/core/states.ts";

/** "CANCELLING" → "Cancelling". */
const label = (type: StateType) => type.charAt(0) + type.slice(1).toLowerCase();

export const STATE_GROUPS: readonly { type: StateType; label: string; names: readonly StateName[] }[] = STATE_TYPES.map((type) => ({
  type,
  label: label(type),
  names: STATE_NAMES.filter((name) => STATE_NAME_TYPE[name] === type),
}));
