// Request bodies. JSON in UTF-8 is the only body the API reads (RFC 8259
// §8.1): another charset is a 415, bytes that are not UTF-8 a 400 — never
// stored with U+FFFD in their place. Operations without a body (register,
// approve, …) accept any Content-Type with an empty body, because generated
// clients send form-encoded headers there.
import { isUtf8 } from 'node:buffer';
import type { FastifyBodyParser, FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidEncodingError, UnsupportedMediaTypeError } from '../errors.js';

/** The charset a Content-Type names, lower-cased; undefined when none. */
function charsetOf(request: FastifyRequest): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(request.headers['content-type'] ?? '');
  return match?.[1]?.toLowerCase();
}

export function registerBodyParsers(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length === 0) {
      done(null, undefined);
      return;
    }
    const charset = charsetOf(request);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new UnsupportedMediaTypeError(`Send the request body as JSON in UTF-8, not charset=${charset.slice(0, 40)}`), undefined);
      return;
    }
    if (!isUtf8(bytes)) {
      done(new InvalidEncodingError('The request body is not valid UTF-8'), undefined);
      return;
    }
    parseJson(request, bytes.toString('utf8'), done);
  });
  const refuse: FastifyBodyParser<Buffer> = (_request, body, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    done(new UnsupportedMediaTypeError(), undefined);
  };
  // The media types the spec answers in besides JSON are refused like any other, but by name:
  // fastify-openapi-glue looks for a parser of every media type the spec mentions, answers
  // included, and would warn at every start.
  app.addContentTypeParser(['text/plain', 'text/csv', 'application/x-ndjson'], { parseAs: 'buffer' }, refuse);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, refuse);
}
