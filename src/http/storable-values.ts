// Values PostgreSQL cannot store are refused here, once for every operation,
// with a 422 naming where they are — rather than failing in the database as a
// 500 or being stored as something else: U+0000 in text or jsonb, a lone
// surrogate (\ud800, which would be stored as U+FFFD), numbers
// JSON.parse turned into ±Infinity (1e400), which jsonb would keep as null,
// and nesting so deep that the database client's serializer overflows.
import type { FastifyInstance } from 'fastify';
import { UnprocessableError } from '../errors.js';

/** Deepest nesting of arrays and objects a request may carry, the outermost counting as one. */
export const MAX_DEPTH = 512;

export interface Unstorable {
  where: string;
  reason: string;
}

/** The first unstorable value in `value`, as `part.key.key`; iterative so deep JSON cannot overflow the stack. */
export function findUnstorable(part: string, value: unknown): Unstorable | undefined {
  const pending: [string, unknown, number][] = [[part, value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [where, item, depth] = next;
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return { where, reason: 'must not contain the NUL character (\\u0000)' };
      if (!item.isWellFormed()) return { where, reason: 'must be valid Unicode (a lone surrogate such as \\ud800 is not)' };
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) return { where, reason: 'is a number out of range (not a finite double)' };
    } else if (typeof item === 'object' && item !== null) {
      if (depth >= MAX_DEPTH) return { where, reason: `is nested deeper than ${MAX_DEPTH} levels` };
      for (const [key, child] of Object.entries(item)) {
        if (key.includes('\u0000')) return { where, reason: 'must not contain the NUL character (\\u0000) in a key' };
        if (!key.isWellFormed()) return { where, reason: 'must be valid Unicode in a key (a lone surrogate such as \\ud800 is not)' };
        pending.push([`${where}.${key}`, child, depth + 1]);
      }
    }
  }
  return undefined;
}

/** Refuses, for every operation, a query or body holding a value PostgreSQL cannot store. */
export function refuseUnstorableValues(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const found = findUnstorable('query', request.query) ?? findUnstorable('body', request.body);
    if (found) throw new UnprocessableError(`${found.where} ${found.reason}`, { [found.where]: found.reason });
  });
}
