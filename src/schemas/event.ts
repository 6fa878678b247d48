/**
 * Durable events (see core/event-records.ts): as code emits them, as a caller outside a run
 * sends them (`POST /api/events`), as stored and listed.
 */
import { z } from "zod";
import { EVENT_NAME, type NewEvent } from "../core/event-records.ts";
import { epochMs, pageOf } from "./fields.ts";
import type { Equal } from "./type-equality.ts";

const text = (max: number) => z.string().min(1).max(max);

/** An event as code emits it; the store gives it its place in the log. */
export const NewEventSchema = z
  .strictObject({
    id: z.string().min(1).max(64).describe("a UUIDv7: an event sent twice is stored once"),
    occurred: epochMs,
    event: z.string().min(1).max(200).regex(EVENT_NAME).describe("a dotted name, e.g. data.arrived"),
    resource: z.strictObject({
      id: text(500),
      name: z.string().max(500).nullable().optional(),
      labels: z.record(z.string(), z.string().max(1000)).meta({ maxProperties: 50 }).optional(),
    }),
    related: z.array(z.strictObject({ role: text(100), id: text(500), name: z.string().max(500).nullable().optional() })).max(100),
    payload: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "NewEvent" });
export const NEW_EVENT_MATCHES_CORE: Equal<z.output<typeof NewEventSchema>, NewEvent> = true;

/** An event as a caller outside a run sends it: the server fills in what is missing. */
export const EventInputSchema = NewEventSchema.extend({
  id: NewEventSchema.shape.id.describe("a UUIDv7 (default: a new one); send one to make a retried request harmless").optional(),
  occurred: epochMs.describe("when it happened, epoch ms (default: now)").optional(),
  related: NewEventSchema.shape.related.describe("other resources it concerns (default: none)").optional(),
  payload: z.record(z.string(), z.unknown()).describe("anything else (default: {})").optional(),
}).meta({ id: "EventInput" });

/**
 * An event as stored: `seq` is its place in the log, `received` when the server stored it. Its
 * resource and related resources keep fields this version does not know of.
 */
export const EventRecordSchema = z
  .object({
    seq: z.int(),
    id: z.string(),
    occurred: epochMs,
    received: epochMs,
    event: z.string(),
    resource: z.looseObject({ id: z.string(), name: z.string().nullable().optional(), labels: z.record(z.string(), z.string()).optional() }),
    related: z.array(z.looseObject({ role: z.string(), id: z.string(), name: z.string().nullable().optional() })),
    payload: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "EventRecord" });

/** `POST /api/events`: up to 1,000 events, stored in one transaction. */
export const EventInputsSchema = z.array(EventInputSchema).min(1).max(1000);
export type EventInputs = z.output<typeof EventInputsSchema>;
export const EmittedSchema = z.object({ ids: z.array(z.string()) });
export type Emitted = z.output<typeof EmittedSchema>;

const id = text(500);

/** The filters shared by the listing and the stream. */
export const EventFilterQuerySchema = z.strictObject({
  event: z.string().min(1).max(2000).describe("event name patterns, comma-separated: data.arrived, baton.flow-run.*, *").optional(),
  resource: id.describe("the id of the resource events are about").optional(),
  related: id.describe("the id of a resource events are related to (a flow run, a deployment, a tag...)").optional(),
  involves: id.describe("the id of a resource events are about or related to").optional(),
  since: epochMs.describe("occurred at or after (epoch ms)").optional(),
  until: epochMs.describe("occurred before (epoch ms)").optional(),
});
export type EventFilterQuery = z.output<typeof EventFilterQuerySchema>;

/** `GET /api/events`. */
export const EventListQuerySchema = EventFilterQuerySchema.extend({
  limit: z.int().min(1).max(1000).default(100),
  cursor: z.string().min(1).max(200).describe("the nextCursor of the previous page").optional(),
  order: z.enum(["newest", "oldest"]).default("newest"),
});
export type EventListQuery = z.output<typeof EventListQuerySchema>;

export const EventPageSchema = pageOf(EventRecordSchema);
export type EventPage = z.output<typeof EventPageSchema>;

/** `GET /api/events/stream`: where to resume, as the stream's own message ids. */
export const EventStreamHeadersSchema = z.object({ "last-event-id": z.string().max(8192).optional() });
