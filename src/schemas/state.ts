/** A run's state, its history rows, and a state a client proposes. */
import { z } from "zod";
import { StateName, StateType, type State } from "../core/states.ts";
import { epochMs } from "./fields.ts";
import type { Equal } from "./type-equality.ts";

export const StateTypeSchema = z.enum(StateType);
export const StateNameSchema = z.enum(StateName);

/** core/states.ts's `State` (the compiler checks that the two agree). */
export const StateSchema = z
  .object({
    type: StateTypeSchema,
    name: StateNameSchema,
    timestamp: epochMs,
    message: z.string().nullable().optional(),
    scheduledAt: epochMs.nullable().optional().describe("for SCHEDULED states: when the run is due (epoch ms)"),
  })
  .meta({ id: "State" });
export const STATE_MATCHES_CORE: Equal<z.output<typeof StateSchema>, State> = true;

/** A row of a flow run's or task run's state history. */
export const StateRecordSchema = StateSchema.extend({ id: z.int(), flowRunId: z.string(), taskRunId: z.string().nullable() }).meta({ id: "StateRecord" });
export type StateRecord = z.output<typeof StateRecordSchema>;

/** A proposed state: the type follows from the name (a state as reads answer it may be sent back, type included). */
export const ProposedStateSchema = z.strictObject({
  type: StateTypeSchema.optional().describe("optional, it follows from the name; when given it must be the name's type"),
  name: StateNameSchema,
  message: z.string().max(10_000).nullable().optional(),
  scheduledAt: epochMs.nullable().optional(),
  timestamp: epochMs.optional(),
});

/** A state history answer. */
export const StateHistorySchema = z.array(StateRecordSchema);
