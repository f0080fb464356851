// Request bodies. JSON is the only body the API reads; but operations without
// a body (register, approve, …) must accept any Content-Type with an empty
// body, because generated clients send form-encoded headers there.
import type { FastifyInstance } from 'fastify';
import { UnsupportedMediaTypeError } from '../errors.js';

export function registerBodyParsers(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    done(new UnsupportedMediaTypeError(), undefined);
  });
}
