// OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; nothing at all otherwise — no
// provider, no context manager, no hooks. Each request is a span (@fastify/otel)
// named and tagged by its operationId, continuing a caller's W3C
// `traceparent`; each Prisma operation and database query under it is a child
// span (@prisma/instrumentation, through Prisma's own tracing hooks, so no
// module is patched). Spans go out in batches over OTLP/HTTP (JSON).
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { PrismaInstrumentation } from '@prisma/instrumentation';
import type { FastifyInstance } from 'fastify';
import type { TracingConfig } from '../config.js';
import { version } from '../version.js';

/** The operationId of a span's request, as an attribute. */
export const OPERATION_ATTRIBUTE = 'eosc_perf.operation';

/**
 * Starts tracing for `app` (before its routes are added) and stops it, sending
 * what is buffered, when the app closes. One per process: the provider is the
 * OpenTelemetry API's global one.
 */
export async function registerTracing(app: FastifyInstance, config: TracingConfig): Promise<void> {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': version }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: config.tracesUrl }) })],
  });
  trace.setGlobalTracerProvider(provider);
  const prisma = new PrismaInstrumentation();
  prisma.setTracerProvider(provider);
  prisma.enable();
  const fastify = new FastifyOtelInstrumentation({
    // One span per request and its handler; a span per lifecycle hook is more noise than help.
    instrumentHooks: false,
    ignorePaths: ({ url }) => url.endsWith('/healthz') || url.endsWith('/metrics'),
    requestHook: (span, request) => {
      const operationId = (request.routeOptions.schema as { operationId?: string } | undefined)?.operationId;
      if (!operationId) return;
      span.setAttribute(OPERATION_ATTRIBUTE, operationId);
      span.updateName(`${request.method} ${operationId}`);
    },
  });
  fastify.setTracerProvider(provider);
  await app.register(fastify.plugin());
  app.addHook('onClose', async () => {
    prisma.disable();
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
}
