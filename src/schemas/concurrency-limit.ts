/** Concurrency limits (and rate limits) with their slots, and the leases that hold slots. */
import { z } from "zod";
import { epochMs, itemsOf, resourceName } from "./fields.ts";

export const LeaseSchema = z.object({ id: z.string(), limitName: z.string(), holder: z.string(), slots: z.int(), expiresAt: epochMs });
export type Lease = z.output<typeof LeaseSchema>;

export const ConcurrencyLimitSchema = z
  .object({
    name: z.string(),
    limit: z.int(),
    slotDecayPerSecond: z
      .number()
      .nullable()
      .describe("rate limit: slots are not released but free themselves, one every 1/decay s (a leaky bucket): a sustained slotDecayPerSecond slots per second, in bursts of up to limit"),
    activeSlots: z.number(),
    holders: z.array(z.object({ leaseId: z.string(), holder: z.string(), slots: z.int(), expiresAt: epochMs })),
    createdAt: epochMs,
  })
  .meta({ id: "ConcurrencyLimit" });
export type ConcurrencyLimit = z.output<typeof ConcurrencyLimitSchema>;

export const ConcurrencyLimitListSchema = itemsOf(ConcurrencyLimitSchema);
export type ConcurrencyLimitList = z.output<typeof ConcurrencyLimitListSchema>;

/** `POST /api/concurrency-limits`: creates or updates a limit (a rate limit with slotDecayPerSecond). */
export const ConcurrencyLimitInputSchema = z.strictObject({ name: resourceName, limit: z.int().min(1), slotDecayPerSecond: z.number().gt(0).nullable().optional() });
export type ConcurrencyLimitInput = z.output<typeof ConcurrencyLimitInputSchema>;

/** `POST /api/concurrency-limits/acquire`: slots of every named limit, all or nothing. */
export const AcquireSchema = z.strictObject({
  names: z.array(z.string().min(1).max(200)).min(1).max(50),
  holder: z.string().min(1).max(200),
  slots: z.int().min(1),
  ttlMs: z.int().min(100),
});
export type Acquire = z.output<typeof AcquireSchema>;
export const AcquireAnswerSchema = z.object({ acquired: z.boolean(), leases: z.array(LeaseSchema) });
export type AcquireAnswer = z.output<typeof AcquireAnswerSchema>;

/** `POST /api/concurrency-leases/renew`. */
export const RenewSchema = z.strictObject({ ids: z.array(z.string().max(64)).max(1000), ttlMs: z.int().min(100) });
export type Renew = z.output<typeof RenewSchema>;
export const RenewAnswerSchema = z.object({ renewed: z.array(z.string()) });
export type RenewAnswer = z.output<typeof RenewAnswerSchema>;

/** `POST /api/concurrency-leases/release`. */
export const ReleaseSchema = z.strictObject({ ids: z.array(z.string().max(64)).max(1000) });
export type Release = z.output<typeof ReleaseSchema>;
