/**
 * A response body that is already JSON, standing for a value of type T. The
 * operation binding sends its bytes as they are, without Fastify's
 * serializer: for bodies that PostgreSQL wrote (see db/results-query.ts),
 * parsing them only to serialize them again would be most of the request's
 * work. Encoded to UTF-8 once, so a remembered page is not encoded again for
 * every client that asks for it.
 */
export class JsonText<T> {
  /** Only to carry T, so a service method still says what it answers. */
  declare readonly value?: T;

  readonly bytes: Buffer;

  /** `text`, or the concatenation of `parts` (each UTF-8 already). */
  constructor(text: string | readonly Buffer[]) {
    this.bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.concat(text);
  }
}
