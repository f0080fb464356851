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

/** A container still to look into, and how it was reached (for the message only). */
interface Frame {
  item: object;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

function pathOf(part: string, frame: Frame | undefined, key?: string | number): string {
  const keys: (string | number)[] = key === undefined ? [] : [key];
  for (let at = frame; at?.key !== undefined; at = at.parent) keys.push(at.key);
  return [part, ...keys.reverse()].join('.');
}

function problemWithText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (!text.isWellFormed()) return 'must be valid Unicode (a lone surrogate such as \\ud800 is not)';
  return undefined;
}

/** What is wrong with a value that holds no other, if anything. */
function problemWithScalar(value: unknown): string | undefined {
  if (typeof value === 'string') return problemWithText(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return 'is a number out of range (not a finite double)';
  return undefined;
}

/**
 * The first unstorable value in `value`, as `part.key.key`. Iterative, so deep
 * JSON cannot overflow the stack; scalars are checked where they stand and
 * paths are only written for the one reported, so a large body costs a walk
 * and nothing more.
 */
export function findUnstorable(part: string, value: unknown): Unstorable | undefined {
  if (typeof value !== 'object' || value === null) {
    const reason = problemWithScalar(value);
    return reason ? { where: part, reason } : undefined;
  }
  const pending: Frame[] = [{ item: value, depth: 0, parent: undefined, key: undefined }];
  for (let frame = pending.pop(); frame !== undefined; frame = pending.pop()) {
    if (frame.depth >= MAX_DEPTH) return { where: pathOf(part, frame), reason: `is nested deeper than ${MAX_DEPTH} levels` };
    const isArray = Array.isArray(frame.item);
    const keys = isArray ? undefined : Object.keys(frame.item);
    const children = isArray ? (frame.item as unknown[]) : (frame.item as Record<string, unknown>);
    const count = keys ? keys.length : (children as unknown[]).length;
    for (let index = 0; index < count; index++) {
      const key: string | number = keys ? (keys[index] as string) : index;
      if (typeof key === 'string') {
        const keyProblem = problemWithText(key);
        if (keyProblem) return { where: pathOf(part, frame), reason: `${keyProblem} in a key` };
      }
      const child = (children as Record<string | number, unknown>)[key];
      if (typeof child === 'object' && child !== null) {
        pending.push({ item: child, depth: frame.depth + 1, parent: frame, key });
        continue;
      }
      const reason = problemWithScalar(child);
      if (reason) return { where: pathOf(part, frame, key), reason };
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
