// Requests that still reach the service once it has begun to stop (pipelined
// behind one in flight, on a keep-alive connection) get a 503 in the API's
// error body, with Retry-After and the connection closed, so that a client
// or load balancer retries elsewhere.
import type { FastifyInstance } from 'fastify';
import { ServiceUnavailableError } from '../errors.js';

export function refuseWhileStopping(app: FastifyInstance): void {
  let stopping = false;
  app.addHook('preClose', async () => {
    stopping = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!stopping) return;
    reply.header('connection', 'close').header('retry-after', '1');
    throw new ServiceUnavailableError('The service is stopping; try again');
  });
}
