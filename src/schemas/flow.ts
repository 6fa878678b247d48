/** Flows: a name that runs are grouped under, registered by the first run or by `POST /api/flows`. */
import { z } from "zod";
import { epochMs, itemsOf, tagsInput } from "./fields.ts";

export const FlowSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    tags: z.array(z.string()),
    createdAt: epochMs,
    updatedAt: epochMs,
  })
  .meta({ id: "Flow" });
export type FlowRecord = z.output<typeof FlowSchema>;

export const FlowListSchema = itemsOf(FlowSchema);

/** Registers a flow, or updates its description and tags. */
export const FlowInputSchema = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().max(10_000).nullable().optional(),
  tags: tagsInput.optional(),
});
export type FlowInput = z.output<typeof FlowInputSchema>;

/** A flow by id or by name. */
export const FlowParamsSchema = z.object({ id: z.string().min(1).max(200) });
export type FlowParams = z.output<typeof FlowParamsSchema>;
