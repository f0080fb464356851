// Values PostgreSQL cannot store are refused here, once for every operation,
// with a 422 naming where they are — rather than failing in the database as a
// 500 or being stored as something else: U+0000 in text or jsonb, and numbers
// JSON.parse turned into ±Infinity (1e400), which jsonb would keep as null.
import type { FastifyInstance } from 'fastify';
import { UnprocessableError } from '../errors.js';

export interface Unstorable {
  where: string;
  reason: string;
}

/** The first unstorable value in `value`, as `part.key.key`; iterative so deep JSON cannot overflow the stack. */
export function findUnstorable(part: string, value: unknown): Unstorable | undefined {
  const pending: [string, unknown][] = [[part, value]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [where, item] = next;
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return { where, reason: 'must not contain the NUL character (\\u0000)' };
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) return { where, reason: 'is a number too large to store' };
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        if (key.includes('\u0000')) return { where, reason: 'must not contain the NUL character (\\u0000) in a key' };
        pending.push([`${where}.${key}`, child]);
      }
    }
  }
  return undefined;
}

export function registerValueGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const found = findUnstorable('query', request.query) ?? findUnstorable('body', request.body);
    if (found) throw new UnprocessableError(`${found.where} ${found.reason}`, { [found.where]: found.reason });
  });
}
