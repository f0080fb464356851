// Query strings as EOSC clients send them: `tags_ids=a&tags_ids=b` and
// `tags_ids[]=a&tags_ids[]=b` both mean the list [a, b]; `+` is a space;
// %-escapes encode UTF-8, or the request is refused.
import { isUtf8 } from 'node:buffer';
import { parse } from 'node:querystring';
import type { FastifyInstance } from 'fastify';
import { InvalidEncodingError } from '../errors.js';

export function parseQueryString(text: string): Record<string, string | string[]> {
  const parsed = parse(text);
  // No prototype: a parameter named __proto__ is just an (unknown) parameter.
  const query: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [rawKey, value] of Object.entries(parsed)) {
    if (value === undefined) continue;
    const key = rawKey.endsWith('[]') ? rawKey.slice(0, -2) : rawKey;
    const existing = query[key];
    if (existing === undefined) {
      // Keep the bracket form a list even with one value.
      query[key] = rawKey.endsWith('[]') && !Array.isArray(value) ? [value] : value;
    } else {
      query[key] = [...[existing].flat(), ...[value].flat()];
    }
  }
  return query;
}

/** Runs of %-escapes, which must decode as UTF-8 together (a character may take up to four). */
const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g;

/**
 * Whether every run of %-escapes in a query string decodes as UTF-8.
 * node:querystring turns the others into U+FFFD silently; a `%` not
 * followed by two hex digits is a literal `%`, as it has always been read.
 */
export function hasValidEscapes(query: string): boolean {
  for (const [run] of query.matchAll(ESCAPES)) {
    if (!isUtf8(Buffer.from(run.replaceAll('%', ''), 'hex'))) return false;
  }
  return true;
}

/** A 400 for a query string whose %-escapes are not UTF-8, before anything reads it. */
export function refuseMalformedQueryStrings(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    const start = request.url.indexOf('?');
    if (start >= 0 && !hasValidEscapes(request.url.slice(start + 1))) {
      throw new InvalidEncodingError('The query string is not valid UTF-8: its %-escapes must encode UTF-8 bytes');
    }
  });
}
