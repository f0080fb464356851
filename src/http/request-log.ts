// One log line per request, when its answer has been sent: the operation it
// ran (the spec's operationId, never the raw URL, so lines group by
// operation), its status, how long it took, who asked (the token's subject —
// never the token); the request id the client also received is on every
// line of the request's logger. A request
// slower than SLOW_REQUEST_MS is logged as a warning with `slow: true`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The operation a request ran: its operationId, or the route for the few routes outside the spec. */
export function operationOf(request: FastifyRequest): string {
  const schema = request.routeOptions.schema as { operationId?: unknown } | undefined;
  if (typeof schema?.operationId === 'string') return schema.operationId;
  return request.routeOptions.url ? `${request.method} ${request.routeOptions.url}` : 'no route';
}

export function logRequests(app: FastifyInstance, slowRequestMs: number): void {
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const entry = {
      operation: operationOf(request),
      method: request.method,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ...(request.caller ? { sub: request.caller.identity.sub, iss: request.caller.identity.iss } : {}),
    };
    if (reply.elapsedTime >= slowRequestMs) request.log.warn({ ...entry, slow: true }, 'request');
    else request.log.info(entry, 'request');
  });
}
