/** `GET /api/health`: liveness, and the database in use with its latency. */
import { z } from "zod";

export const HealthSchema = z.object({
  status: z.string(),
  version: z.string(),
  database: z.object({ dialect: z.string(), location: z.string(), latencyMs: z.number() }),
});
