/** `GET /api/health`: liveness, the database in use with its latency, and which replica leads. */
import { z } from "zod";
import { epochMs } from "./fields.ts";

export const LeadershipSchema = z.object({
  isLeader: z.boolean().describe("whether this replica runs the singleton services (scheduler, sweeps, retention, automations)"),
  since: epochMs.nullable().describe("since when this replica leads; null when it does not"),
  holder: z.string().nullable().describe("the leading replica's name, as the database says; null when none leads"),
  replica: z.string().describe("this replica's name (host:pid:random)"),
});
export type Leadership = z.output<typeof LeadershipSchema>;

export const HealthSchema = z.object({
  status: z.string(),
  version: z.string(),
  database: z.object({ dialect: z.string(), location: z.string(), latencyMs: z.number() }),
  leadership: LeadershipSchema,
});
export type Health = z.output<typeof HealthSchema>;
