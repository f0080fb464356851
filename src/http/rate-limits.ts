// Rate limits per client (@fastify/rate-limit): a client is its user when the
// request carries a valid token (so users behind one NAT or proxy do not
// share a limit), its IP address otherwise. Writes have their own, tighter
// limit. Past a limit the request is refused with a 429, in the API's error
// body, with Retry-After. The check runs after authentication (it needs the
// user) and before anything else the operation does.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TooManyRequestsError } from '../errors.js';

export interface RateLimits {
  /** GET requests per client per window (RATE_LIMIT_READS); 0: unlimited. */
  reads: number;
  /** Other requests per client per window (RATE_LIMIT_WRITES); 0: unlimited. */
  writes: number;
  /** The window, ms (RATE_LIMIT_WINDOW_MS). */
  windowMs: number;
}

export type RateLimitHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

function clientOf(request: FastifyRequest): string {
  const identity = request.caller?.identity;
  return identity ? `user ${identity.iss} ${identity.sub}` : `ip ${request.ip}`;
}

/** The hook that enforces `limits` on an operation; undefined when both are off. */
export async function rateLimitHook(app: FastifyInstance, limits: RateLimits): Promise<RateLimitHook | undefined> {
  if (limits.reads <= 0 && limits.writes <= 0) return undefined;
  await app.register(rateLimit, { global: false });
  const limiter = (kind: 'read' | 'write', max: number) =>
    max <= 0
      ? undefined
      : {
          max,
          check: app.createRateLimit({ max, timeWindow: limits.windowMs, keyGenerator: (request) => `${kind} ${clientOf(request)}` }),
        };
  const reads = limiter('read', limits.reads);
  const writes = limiter('write', limits.writes);
  const perWindow = limits.windowMs % 60_000 === 0 ? `${limits.windowMs / 60_000} min` : `${limits.windowMs / 1000} s`;
  return async (request, reply) => {
    const isRead = request.method === 'GET' || request.method === 'HEAD';
    const limit = isRead ? reads : writes;
    if (!limit) return;
    const verdict = await limit.check(request);
    if (verdict.isAllowed || !verdict.isExceeded) return;
    reply.header('retry-after', String(verdict.ttlInSeconds));
    throw new TooManyRequestsError(
      `Rate limit of ${limit.max} ${isRead ? 'reads' : 'writes'} per ${perWindow} reached; try again in ${verdict.ttlInSeconds} s`,
    );
  };
}
