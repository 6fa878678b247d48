/**
 * W3C trace context (https://www.w3.org/TR/trace-context/) across Baton's boundaries: HTTP
 * headers of the API client, the environment of a run's process (TRACEPARENT and TRACESTATE,
 * the carrier OpenTelemetry specifies for environment variables, which a container
 * infrastructure passes the same way), the line a worker hands its warm spare and the job of a
 * worker thread. Formatting and parsing are done here rather than through the global
 * propagator, so they do the same whether or not this process registered one.
 */
import { createTraceState, isSpanContextValid, ROOT_CONTEXT, trace, TraceFlags, type Context } from "@opentelemetry/api";

/** A trace's context as it crosses a boundary: the `traceparent` and, if any, `tracestate` values. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The carrier of the span active in `ctx`, or undefined when there is none (or it is invalid). */
export function carrierOf(ctx: Context): TraceCarrier | undefined {
  const span = trace.getSpanContext(ctx);
  if (!span || !isSpanContextValid(span)) return undefined;
  const flags = (span.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, "0");
  const traceparent = `00-${span.traceId}-${span.spanId}-${flags}`;
  const tracestate = span.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/**
 * The context whose remote parent `carrier` names; ROOT_CONTEXT (a new trace) when it names
 * none or is malformed. Version 00 and, as the specification asks, later versions' first four
 * fields are read; version ff and all-zero ids are invalid.
 */
export function contextOf(carrier: Partial<TraceCarrier> | undefined, base: Context = ROOT_CONTEXT): Context {
  const match = carrier?.traceparent ? TRACEPARENT.exec(carrier.traceparent.trim()) : null;
  if (!match) return base;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === "ff" || (version === "00" && rest !== undefined)) return base;
  const span = { traceId, spanId, traceFlags: parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true, ...(carrier?.tracestate ? { traceState: createTraceState(carrier.tracestate) } : {}) };
  return isSpanContextValid(span) ? trace.setSpanContext(base, span) : base;
}

/** Environment variables carrying the span active in `ctx` to a process or container it starts. */
export function traceEnvOf(ctx: Context): Record<string, string> {
  const carrier = carrierOf(ctx);
  if (!carrier) return {};
  return carrier.tracestate ? { TRACEPARENT: carrier.traceparent, TRACESTATE: carrier.tracestate } : { TRACEPARENT: carrier.traceparent };
}

/** The context a process was started in (TRACEPARENT / TRACESTATE in its environment), or ROOT_CONTEXT. */
export function contextFromEnv(env: Record<string, string | undefined> = process.env): Context {
  return contextOf({ traceparent: env.TRACEPARENT, tracestate: env.TRACESTATE });
}
