import type { FastifyReply, FastifyRequest } from 'fastify';
import { acceptedEncoding, COMPRESSION_THRESHOLD, compressBytes, type Encoding } from './compression.js';
import { answersNotModified, entityTag } from './http-caching.js';
import { type LinkBase, type NextPage, nextPageLink } from './page-links.js';

/**
 * A response body that is already JSON, standing for a value of type T. The
 * operation binding sends its bytes as they are, without Fastify's
 * serializer: for bodies that PostgreSQL wrote (see db/results-query.ts),
 * parsing them only to serialize them again would be most of the request's
 * work. Encoded to UTF-8, tagged and compressed at most once each, so a
 * remembered page costs none of that again for every client that asks for it.
 */
export class JsonText<T> {
  /** Only to carry T, so a service method still says what it answers. */
  declare readonly value?: T;

  readonly bytes: Buffer;
  /** For a list page that another follows: that page, sent as `Link: <…>; rel="next"` (page-links.ts). */
  next?: NextPage;
  private tag: string | undefined;
  private readonly compressed = new Map<Encoding, Promise<Buffer>>();

  /** `text`, or the concatenation of `parts` (each UTF-8 already). */
  constructor(text: string | readonly Buffer[]) {
    this.bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.concat(text);
  }

  /** The ETag of these bytes (http-caching.ts). */
  get etag(): string {
    this.tag ??= entityTag(this.bytes);
    return this.tag;
  }

  /** These bytes compressed with `encoding`. */
  encoded(encoding: Encoding): Promise<Buffer> {
    let bytes = this.compressed.get(encoding);
    if (!bytes) {
      bytes = compressBytes(this.bytes, encoding);
      // A failure is not remembered: the next ask tries again.
      bytes.catch(() => this.compressed.delete(encoding));
      this.compressed.set(encoding, bytes);
    }
    return bytes;
  }
}

/**
 * Answers `request` with `text`: 304 when the client holds these bytes
 * already, else compressed as it accepts (once per JsonText), else as they are.
 */
export async function sendJsonText(
  request: FastifyRequest,
  reply: FastifyReply,
  text: JsonText<unknown>,
  linkBase?: LinkBase,
): Promise<FastifyReply> {
  reply.type('application/json; charset=utf-8');
  // The caching hook (http-caching.ts) adds Authorization to it, and answers a GET's 304 too,
  // but only after compressing: a client that holds the page gets its 304 before.
  reply.header('vary', 'Accept-Encoding');
  if (text.next) reply.header('link', nextPageLink(request, text.next, linkBase));
  if (reply.statusCode === 200) {
    reply.header('etag', text.etag);
    if (answersNotModified(request, reply, text.etag)) return reply.code(304).send();
  }
  const encoding = text.bytes.length >= COMPRESSION_THRESHOLD ? acceptedEncoding(request) : undefined;
  if (encoding === undefined) return reply.send(text.bytes);
  // Set, so @fastify/compress leaves these bytes alone.
  reply.header('content-encoding', encoding);
  return reply.send(await text.encoded(encoding));
}
