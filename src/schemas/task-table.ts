/**
 * A flow run's task runs and dependencies as columns, for the dashboard's run page: what the
 * page draws and nothing else, task and state names listed once and referenced by index, times
 * relative to one base, dependencies as index triples (see server/routes/task-table.ts).
 */
import { z } from "zod";
import { StateNameSchema, StateTypeSchema } from "./state.ts";

const ints = z.array(z.int());
const nullableInts = z.array(z.int().nullable());
const indexedStrings = z.array(z.tuple([z.int(), z.string()])).describe("[row, text] pairs, only rows that have one");

export const TaskTableSchema = z.object({
  base: z.number().describe("epoch ms that the time columns are relative to"),
  ids: z.array(z.string()),
  keys: z.array(z.string()),
  names: ints.describe("index into taskNames"),
  taskNames: z.array(z.string()),
  states: ints.describe("index into stateNames and stateTypes"),
  stateNames: z.array(StateNameSchema),
  stateTypes: z.array(StateTypeSchema),
  stateAt: ints.describe("state timestamp - base"),
  runCounts: ints,
  start: nullableInts.describe("start time - base"),
  end: nullableInts.describe("end time - base"),
  messages: indexedStrings.describe("state messages: [row, message] pairs"),
  errors: indexedStrings.describe("error messages: [row, message] pairs"),
  deps: ints.describe("triples: row of the task run, row of its upstream, 0 = data / 1 = wait"),
});
export type TaskTable = z.output<typeof TaskTableSchema>;
