// PostgreSQL text and jsonb cannot hold U+0000. A NUL anywhere in the query
// or the JSON body is refused here, once for every operation, with a 422
// naming where it is — rather than failing in the database as a 500.
import type { FastifyInstance } from 'fastify';
import { UnprocessableError } from '../errors.js';

/** The first place in `value` holding a NUL, as `part.key.key`; iterative so deep JSON cannot overflow the stack. */
export function findNul(part: string, value: unknown): string | undefined {
  const pending: [string, unknown][] = [[part, value]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [where, item] = next;
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return where;
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        if (key.includes('\u0000')) return where;
        pending.push([`${where}.${key}`, child]);
      }
    }
  }
  return undefined;
}

export function registerNulGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const where = findNul('query', request.query) ?? findNul('body', request.body);
    if (where !== undefined) {
      throw new UnprocessableError(`${where} must not contain the NUL character (\\u0000)`, { [where]: 'contains \\u0000' });
    }
  });
}
