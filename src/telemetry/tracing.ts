/**
 * OpenTelemetry traces, exported over OTLP/HTTP (JSON) when OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, and off otherwise. Off costs one boolean read on
 * the hot path: callers test `tracing.enabled` before they make a span, read a context or
 * format a traceparent, and the SDK is not even loaded. On, this process registers the global
 * tracer provider, the W3C trace-context propagator and an AsyncLocalStorage context manager,
 * so a user's `trace.getTracer("x").startActiveSpan(...)` inside a task nests under the task's
 * span. The exporter, the batch processor and the sampler read the standard OTEL_ variables
 * (OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER
 * and its _ARG, OTEL_BSP_*); OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it off.
 */
import { context, propagation, trace, type Tracer } from "@opentelemetry/api";

interface Provider {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Whether spans are made in this process, and the tracer that makes them. */
export const tracing: { enabled: boolean; tracer: Tracer } = { enabled: false, tracer: trace.getTracer("baton") };

let provider: Provider | null = null;
let starting: Promise<void> | null = null;

/** Whether the environment asks for traces (an OTLP endpoint, and the SDK not disabled). */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === "none") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/**
 * Starts tracing in this process if the environment asks for it (idempotent; each process and
 * each worker thread calls it once before it runs anything it traces). The SDK is imported
 * only then, so a process without an endpoint loads none of it.
 */
export function startTracing(): Promise<void> {
  if (!tracingRequested()) return Promise.resolve();
  starting ??= (async () => {
    const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { defaultResource, detectResources, envDetector, resourceFromAttributes }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }] =
      await Promise.all([
        import("@opentelemetry/sdk-trace-base"),
        import("@opentelemetry/exporter-trace-otlp-http"),
        import("@opentelemetry/resources"),
        import("@opentelemetry/context-async-hooks"),
        import("@opentelemetry/core"),
      ]);
    // service.name "baton" unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise.
    const resource = defaultResource().merge(resourceFromAttributes({ "service.name": "baton" })).merge(detectResources({ detectors: [envDetector] }));
    const created = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
    // Another SDK the user registered first keeps its place; Baton's spans then go to it.
    trace.setGlobalTracerProvider(created);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    provider = created;
    tracing.tracer = trace.getTracer("baton");
    tracing.enabled = true;
    // A process that ends by emptying its event loop sends its last spans first.
    process.once("beforeExit", () => void flushTracing());
  })().catch((error: unknown) => {
    // Tracing is an aid: a broken setup is said once and the process runs on without it.
    process.stderr.write(`baton: OpenTelemetry tracing could not start, continuing without it: ${(error as Error).message}\n`);
  });
  return starting;
}

/** Sends the spans ended so far (a short-lived process's before it exits). Never throws. */
export async function flushTracing(): Promise<void> {
  if (starting) await starting.catch(() => undefined);
  await provider?.forceFlush().catch(() => undefined);
}
