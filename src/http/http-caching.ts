// Conditional GETs and what caches may keep. Every successful GET answer
// carries a weak ETag (a hash of its JSON; for JSON held as bytes, memoized
// with them, see JsonText); `If-None-Match` with a current tag is answered
// `304` with no body. `Cache-Control: no-cache` lets a browser or proxy keep
// an answer but never use it without asking again (a write may have changed
// it), and an answer to a request with a token is `private`: never kept by a
// shared cache. (@fastify/etag tags every answer, POSTs and errors too, and
// knows no tag lists, so these few lines do it instead.)
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** A weak entity tag of `payload`'s bytes: equal JSON, equal tag, whatever the encoding it is sent in. */
export function entityTag(payload: string | Buffer): string {
  return `W/"${createHash('sha1').update(payload).digest('base64url')}"`;
}

/** Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2), or is `*`. */
export function notModified(request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match'];
  if (header === undefined) return false;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => {
    const candidate = tag.trim();
    return candidate === '*' || candidate.replace(/^W\//, '') === opaque;
  });
}

function isConditional(request: FastifyRequest, reply: FastifyReply): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && (reply.statusCode === 200 || reply.statusCode === 304);
}

/** Whether this successful GET is answered 304: the client holds the answer tagged `etag`. */
export function answersNotModified(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  return reply.statusCode === 200 && isConditional(request, reply) && notModified(request, etag);
}

/** Sets Cache-Control and Vary on the answers to GETs (a 304 too). */
export function cacheHeaders(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('cache-control', request.headers.authorization === undefined ? 'no-cache' : 'private, no-cache');
  const vary = reply.getHeader('vary');
  if (typeof vary !== 'string' || !/\bauthorization\b/i.test(vary)) {
    reply.header('vary', typeof vary === 'string' && vary !== '' ? `${vary}, Authorization` : 'Authorization');
  }
}

export function registerHttpCaching(app: FastifyInstance): void {
  // Runs before @fastify/compress's own onSend (route hooks run after these), on the JSON itself.
  app.addHook('onSend', async (request, reply, payload) => {
    if (!isConditional(request, reply)) return payload;
    cacheHeaders(request, reply);
    if (reply.statusCode !== 200) return payload;
    let etag = reply.getHeader('etag');
    if (typeof etag !== 'string') {
      if (!(typeof payload === 'string' || Buffer.isBuffer(payload))) return payload;
      etag = entityTag(payload);
      reply.header('etag', etag);
    }
    if (!answersNotModified(request, reply, etag)) return payload;
    reply.code(304);
    return '';
  });
}
