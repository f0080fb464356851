// OpenTelemetry traces (src/http/tracing.ts), received by a small OTLP/HTTP
// collector on 127.0.0.1 that keeps what the service sends: with
// OTEL_EXPORTER_OTLP_ENDPOINT set, each request is a span named by its
// operationId, continuing the caller's `traceparent`, with the database work
// under it; without it, nothing is traced and nothing is sent.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import t from 'tap';
import { OPERATION_ATTRIBUTE } from '../src/http/tracing.js';
import { createTestContext, persona, type Test as Tap } from './helpers/app.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** An OTLP/HTTP (JSON) traces endpoint: every export it was sent, and their raw bodies. */
async function startCollector(t: Tap): Promise<{ url: string; exports: OtlpExport[]; bodies: string[]; spans: () => OtlpSpan[] }> {
  const exports: OtlpExport[] = [];
  const bodies: string[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    if (request.method === 'POST' && request.url === '/v1/traces') {
      bodies.push(body);
      exports.push(JSON.parse(body) as OtlpExport);
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports,
    bodies,
    spans: () => exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))),
  };
}

function attribute(span: OtlpSpan, key: string): string | undefined {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue !== undefined ? String(value.intValue) : undefined);
}

t.test('without OTEL_EXPORTER_OTLP_ENDPOINT nothing is traced', async (t) => {
  const collector = await startCollector(t);
  const ctx = await createTestContext(t, 'pglite');
  if (!ctx) throw new Error('PGlite is always available');
  t.equal((await ctx.app.inject({ url: '/results' })).statusCode, 200);
  t.notOk(trace.getTracer('probe').startSpan('probe').isRecording(), 'no tracer provider: spans are no-ops');
  await ctx.app.close();
  t.same(collector.exports, [], 'nothing sent');
});

t.test('with OTEL_EXPORTER_OTLP_ENDPOINT: a span per request, named by its operation, the database under it', async (t) => {
  const collector = await startCollector(t);
  const ctx = await createTestContext(t, 'pglite', { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'perf-under-test' });
  if (!ctx) throw new Error('PGlite is always available');
  const user = persona('traced');
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const registered = await ctx.app.inject({
    method: 'POST',
    url: '/users:register',
    headers: { ...(await ctx.auth(user)), traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
  });
  t.equal(registered.statusCode, 201);
  t.equal((await ctx.app.inject({ url: '/results?per_page=5' })).statusCode, 200);
  t.equal((await ctx.app.inject({ url: '/healthz' })).statusCode, 200);
  // Closing sends what is buffered.
  await ctx.app.close();

  const spans = collector.spans();
  const resource = collector.exports[0]?.resourceSpans[0]?.resource.attributes ?? [];
  t.equal(resource.find((a) => a.key === 'service.name')?.value.stringValue, 'perf-under-test', 'OTEL_SERVICE_NAME');
  const register = spans.find((span) => attribute(span, OPERATION_ATTRIBUTE) === 'RegisterSelf');
  t.ok(register, 'a span for POST /users:register');
  t.equal(register?.name, 'POST RegisterSelf', 'named by its operationId');
  t.equal(register?.traceId, traceId, "continuing the caller's trace (W3C traceparent)");
  const list = spans.find((span) => attribute(span, OPERATION_ATTRIBUTE) === 'ListResults');
  t.equal(list?.name, 'GET ListResults');
  const database = spans.filter((span) => span.traceId === list?.traceId && span.name.startsWith('prisma:'));
  t.ok(database.length > 0, `the database work under it: ${database.map((span) => span.name).join(', ')}`);
  t.notOk(
    spans.some((span) => attribute(span, OPERATION_ATTRIBUTE) === undefined && /healthz/.test(JSON.stringify(span))),
    '/healthz is not traced',
  );
  t.notMatch(collector.bodies.join('\n'), /Bearer|eyJ[A-Za-z0-9_-]{10,}/, 'no token in any span');
});
