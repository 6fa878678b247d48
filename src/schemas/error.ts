/** Errors: a failure stored with a run (`ErrorInfo`), and the body of every 4xx and 5xx answer. */
import { z } from "zod";
import type { ErrorInfo } from "../core/errors.ts";
import { withJsonSchema } from "./json-schema.ts";
import type { Equal } from "./type-equality.ts";

/**
 * An error's cause is kept whole, as it was sent: Baton's SDK sends an ErrorInfo (core's
 * describeError), and the API has always stored and answered any object a client sends.
 */
const ErrorCauseSchema = withJsonSchema(
  z.custom<ErrorInfo>((value) => typeof value === "object" && value !== null && !Array.isArray(value), "must be object"),
  { type: "object", additionalProperties: true, description: "the error's cause, an ErrorInfo" },
);

/** core/errors.ts's `ErrorInfo`: an error as it is stored and travels (its class by name, its cause). */
export const ErrorInfoSchema = z
  .object({ name: z.string(), message: z.string(), stack: z.string().optional(), cause: ErrorCauseSchema.optional() })
  .meta({ id: "ErrorInfo" });
export const ERROR_INFO_MATCHES_CORE: Equal<z.output<typeof ErrorInfoSchema>, ErrorInfo> = true;

/** `{ "error": { "code", "message", "details" } }`: the message names the field and the problem. */
export const ErrorResponseSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .meta({ id: "ErrorResponse" });
