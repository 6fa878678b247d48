/** A refused state proposal as the one refusal error (the API answers it 409 INVALID_TRANSITION). */
import { InvalidTransitionError } from "../core/errors.ts";
import type { State } from "../core/states.ts";
import type { SetStateResult } from "./types.ts";

export function refusalError(id: string, proposed: Pick<State, "name">, result: Extract<SetStateResult, { accepted: false }>): InvalidTransitionError {
  return new InvalidTransitionError(id, result.run.state.name, proposed.name, result.rule, result.reason, result.kind, result.delayMs ?? null, "flow run", result.run);
}
