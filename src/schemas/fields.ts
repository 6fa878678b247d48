/**
 * The field types the API's resources share: epoch-millisecond times, 32-bit counts, ids and
 * names. Each says what the database can store, so a value it cannot is refused by validation
 * with the field's name, not by the database.
 */
import { z } from "zod";

/**
 * Epoch milliseconds: an integer (PostgreSQL stores times as bigint, so 1.5 must be refused by
 * validation, not by the database), from 1970 to the last date JavaScript can represent.
 */
export const epochMs = z.int().min(0).max(8_640_000_000_000_000).describe("epoch milliseconds");

/** A count stored in a 32-bit integer column. */
export const int32 = z.int().min(0).max(2_147_483_647);

/** A log level (pino's: 10 trace … 60 fatal). */
export const logLevel = z.int().min(0).max(100);

/** An id a client may choose (a UUIDv7 by default). */
export const apiId = z.string().min(1).max(64);

/** The name of a deployment, work pool, queue or limit: it appears in URLs and CLI arguments. */
export const resourceName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:@/-]+$/);

/** Tags a client sends. */
export const tagsInput = z.array(z.string().max(100)).max(50);

/** A positive limit, or null for none. */
export const positiveIntOrNull = z.int().min(1).nullable();

/** Path parameters of a resource addressed by id. */
export const IdParamsSchema = z.object({ id: apiId });
export type IdParams = z.output<typeof IdParamsSchema>;
/** Path parameters of a resource addressed by name (or id). */
export const NameParamsSchema = z.object({ name: z.string().min(1).max(200) });
export type NameParams = z.output<typeof NameParamsSchema>;

/** A JSON object whose fields are the caller's. */
export const jsonObject = z.record(z.string(), z.unknown());

/** The answer of a listing. */
export const itemsOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

/** A page of a listing, and the cursor of the next (null on the last page). */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
