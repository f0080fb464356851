// The `after` cursor of results pages: where the next page starts, as the
// sort values of the last result of the page before and its id
// (db/results-query.ts, PageStart). It is base64url JSON a client can read,
// `[order, ...values]`, where `order` stands for the sort it was made for.
//
// A cursor comes back from the client, so each value is checked against the
// kind its sort term holds before it reaches PostgreSQL, whose casts would
// otherwise fail on it (and answer 500).
import { createHash } from 'node:crypto';
import { type KeyKind, keyKinds, type PageStart, type ResultSortKey } from '../db/results-query.js';
import { UnprocessableError } from '../errors.js';
import { MAX_DEPTH } from '../http/storable-values.js';

/** A short digest of the sort: a cursor read with another sort would start at the wrong place. */
function orderTag(sort: ResultSortKey[]): string {
  return createHash('sha256').update(JSON.stringify(sort)).digest('base64url').slice(0, 8);
}

/** The longest `after` the spec accepts. */
const MAX_CURSOR_LENGTH = 8192;

/**
 * The `after` of the page that follows the result whose keys are `start`;
 * undefined where no cursor would be read back: a sort value too long for a
 * URL (a JSON string of kilobytes), or one outside what a cursor holds (a
 * date before year 1).
 */
export function writeCursor(sort: ResultSortKey[], start: PageStart): string | undefined {
  const cursor = Buffer.from(JSON.stringify([orderTag(sort), ...start])).toString('base64url');
  return cursor.length <= MAX_CURSOR_LENGTH && fits(keyKinds(sort), start) ? cursor : undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** As db/results-query.ts writes a timestamp: UTC, to the microsecond. */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;
/** As PostgreSQL writes a numeric: no exponent. */
const NUMERIC = /^-?\d+(\.\d+)?$/;
/**
 * What PostgreSQL's jsonb refuses in a string, and never writes: NUL and
 * surrogates as escapes (a backslash escaped before `u` is a literal one).
 */
const UNREADABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(0000|d[89a-f])/i;
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;
/** A number PostgreSQL's numeric cannot hold is far beyond this exponent. */
const LARGE_EXPONENT = /[eE][+-]?\d{4,}/;

function depth(json: string): number {
  let deepest = 0;
  let current = 0;
  for (const char of json.replace(JSON_STRING, '""')) {
    if (char === '[' || char === '{') deepest = Math.max(deepest, ++current);
    else if (char === ']' || char === '}') current -= 1;
  }
  return deepest;
}

function isJsonb(text: string): boolean {
  try {
    JSON.parse(text);
  } catch {
    return false;
  }
  return !UNREADABLE_ESCAPE.test(text) && !LARGE_EXPONENT.test(text.replace(JSON_STRING, '""')) && depth(text) <= MAX_DEPTH;
}

function isTimestamp(text: string): boolean {
  const parts = TIMESTAMP.exec(text);
  if (!parts) return false;
  const [year, month, day, hour, minute, second] = parts.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
}

const VALID: Record<KeyKind, (text: string) => boolean> = {
  uuid: (text) => UUID.test(text),
  timestamp: isTimestamp,
  text: (text) => !text.includes('\u0000'),
  numeric: (text) => NUMERIC.test(text),
  jsonb: isJsonb,
};

/** Whether `start` holds one value of each kind, each as a cursor may hold it. */
function fits(kinds: KeyKind[], start: readonly unknown[]): start is PageStart {
  return (
    start.length === kinds.length &&
    kinds.every((kind, index) => {
      const value = start[index];
      // Only JSON values may be missing (null); a column never is.
      return value === null ? kind === 'numeric' || kind === 'jsonb' : typeof value === 'string' && VALID[kind](value);
    })
  );
}

/** Where a page given `after` starts, for `sort`; a 422 for anything but a cursor of this sort. */
export function readCursor(after: string, sort: ResultSortKey[]): PageStart {
  const refused = (reason: string) =>
    new UnprocessableError(`after: ${reason}; follow the Link: rel="next" header of the page before`, { 'query.after': reason });
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
  } catch {
    throw refused('is not a page cursor');
  }
  if (!Array.isArray(decoded) || typeof decoded[0] !== 'string') throw refused('is not a page cursor');
  if (decoded[0] !== orderTag(sort)) throw refused('was made for another sort_by');
  const start: unknown[] = decoded.slice(1);
  if (!fits(keyKinds(sort), start)) throw refused('is not a page cursor');
  return start;
}
