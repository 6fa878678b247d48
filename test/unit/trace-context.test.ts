/** The W3C trace-context helpers that carry a trace across processes, threads and HTTP, and the line a warm spare is handed. */
import { ROOT_CONTEXT, trace, TraceFlags, createTraceState } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { carrierOf, contextFromEnv, contextOf, traceEnvOf } from "../../src/telemetry/trace-context.ts";
import { tracingRequested } from "../../src/telemetry/tracing.ts";
import { parseSpareLine, spareLine } from "../../src/worker/infrastructure.ts";
import type { FlowRun } from "../../src/store/types.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";
const withSpan = (flags = TraceFlags.SAMPLED, traceState?: string) =>
  trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: flags, ...(traceState ? { traceState: createTraceState(traceState) } : {}) });

describe("traceparent", () => {
  it("formats the active span as version 00 with its sampled flag", () => {
    expect(carrierOf(withSpan())).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` });
    expect(carrierOf(withSpan(TraceFlags.NONE))).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-00` });
    expect(carrierOf(withSpan(TraceFlags.SAMPLED, "vendor=a,other=b"))).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: "vendor=a,other=b" });
  });

  it("has nothing to carry without a valid span", () => {
    expect(carrierOf(ROOT_CONTEXT)).toBeUndefined();
    expect(carrierOf(trace.setSpanContext(ROOT_CONTEXT, { traceId: "0".repeat(32), spanId: SPAN_ID, traceFlags: 1 }))).toBeUndefined();
    expect(traceEnvOf(ROOT_CONTEXT)).toEqual({});
  });

  it("reads back what it wrote as a remote parent", () => {
    const span = trace.getSpanContext(contextOf(carrierOf(withSpan(TraceFlags.SAMPLED, "vendor=a"))));
    expect(span).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(span?.traceState?.get("vendor")).toBe("a");
  });

  it("starts a new trace from a malformed or invalid traceparent", () => {
    for (const traceparent of [
      "",
      "garbage",
      `00-${TRACE_ID}-${SPAN_ID}`,
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
      `00-${"0".repeat(32)}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${"0".repeat(16)}-01`,
      `ff-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${SPAN_ID}-01-extra`,
    ])
      expect(trace.getSpanContext(contextOf({ traceparent })), traceparent).toBeUndefined();
    expect(contextOf(undefined)).toBe(ROOT_CONTEXT);
  });

  it("reads a later version's first four fields, as the specification asks", () => {
    expect(trace.getSpanContext(contextOf({ traceparent: `01-${TRACE_ID}-${SPAN_ID}-03-more` }))).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
  });

  it("crosses into a process's environment as TRACEPARENT and TRACESTATE", () => {
    const env = traceEnvOf(withSpan(TraceFlags.SAMPLED, "vendor=a"));
    expect(env).toEqual({ TRACEPARENT: `00-${TRACE_ID}-${SPAN_ID}-01`, TRACESTATE: "vendor=a" });
    expect(trace.getSpanContext(contextFromEnv(env))).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    expect(trace.getSpanContext(contextFromEnv({}))).toBeUndefined();
  });
});

describe("the line a warm spare is handed", () => {
  const run = { id: "run-1", name: "r", flowName: "f" } as FlowRun;
  const traceEnv = { TRACEPARENT: `00-${TRACE_ID}-${SPAN_ID}-01`, TRACESTATE: "vendor=a b,other=c" };

  it("carries the run's id, its trace context and the run as claimed, and reads back", () => {
    const line = spareLine("run-1", { run, traceEnv });
    expect(line.endsWith("\n")).toBe(true);
    expect(line.trim().split("\n")).toHaveLength(1);
    expect(parseSpareLine(line)).toEqual({ id: "run-1", run, trace: { traceparent: traceEnv.TRACEPARENT, tracestate: traceEnv.TRACESTATE } });
  });

  it("without tracing: the id and the run, as before", () => {
    expect(spareLine("run-1", { run })).toBe(`run-1 ${JSON.stringify(run)}\n`);
    expect(parseSpareLine(spareLine("run-1", { run }))).toEqual({ id: "run-1", run });
    expect(parseSpareLine("run-1\n")).toEqual({ id: "run-1" });
  });

  it("leaves out a run that is not the one handed over or cannot be read", () => {
    expect(parseSpareLine(`run-2 traceparent=${traceEnv.TRACEPARENT} ${JSON.stringify(run)}`)).toEqual({ id: "run-2", trace: { traceparent: traceEnv.TRACEPARENT } });
    expect(parseSpareLine("run-1 {not json")).toEqual({ id: "run-1" });
  });
});

describe("whether tracing is on", () => {
  it("only with an OTLP endpoint, unless the SDK or the traces exporter is turned off", () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:4318/v1/traces" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x", OTEL_SDK_DISABLED: "true" })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x", OTEL_TRACES_EXPORTER: "none" })).toBe(false);
  });
});
