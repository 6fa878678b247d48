/**
 * A server span per API request (tracing on: telemetry/tracing.ts), named after the route's
 * pattern (`POST /api/flow-runs/:id/state`), with the answer's status code. It continues the
 * caller's trace when the request carries a `traceparent` header: a remote flow's writes, a
 * worker's claims and heartbeats appear in the trace of the run that made them.
 */
import { SpanKind, SpanStatusCode, type Span } from "@opentelemetry/api";
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from "@opentelemetry/semantic-conventions";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { tracing } from "../telemetry/tracing.ts";
import { contextOf } from "../telemetry/trace-context.ts";

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Installs the hooks (only when tracing is on: off, requests pay nothing). */
export function installRequestSpans(app: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  const end = (request: FastifyRequest, status: number | null) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    if (status === null) span.setStatus({ code: SpanStatusCode.ERROR, message: "the client closed the request" });
    else {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      // Server spans: only a 5xx is the server's error (semantic conventions for HTTP).
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };
  app.addHook("onRequest", (request, _reply, done) => {
    // Matched at this point; a path no route matches is named by its method alone.
    const route = request.routeOptions.url;
    const parent = contextOf({ traceparent: header(request, "traceparent"), tracestate: header(request, "tracestate") });
    const span = tracing.tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_URL_PATH]: request.url.split("?")[0], ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}), "baton.request.id": request.id },
      },
      parent,
    );
    spans.set(request, span);
    done();
  });
  app.addHook("onResponse", (request, reply, done) => {
    end(request, reply.statusCode);
    done();
  });
  app.addHook("onRequestAbort", (request, done) => {
    end(request, null);
    done();
  });
}
