// The execution date-time of an upload (`execution_datetime`).
import { UnprocessableError } from '../errors.js';
import { readableOffset } from '../lists/dates.js';

/** Clocks differ: an execution a little "in the future" is tolerated. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** `…T23:59:60…`: a leap second, valid for ajv and PostgreSQL, that `Date` cannot read. */
const LEAP_SECOND = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:)60/;

/**
 * The spec's `date-time` format has already demanded a zone; this reads the
 * notations `Date` does not (`+02`, a leap second, which PostgreSQL too
 * counts as the next second) and answers a 422, never a 500, for anything
 * still unreadable or lying in the future.
 */
export function parseExecutionDatetime(text: string, field = 'query.execution_datetime'): Date {
  let iso = readableOffset(text.trim());
  const leap = LEAP_SECOND.test(iso);
  if (leap) iso = iso.replace(LEAP_SECOND, (_, minute: string) => `${minute}59`);
  const parsed = new Date(iso);
  if (Number.isNaN(parsed.getTime())) {
    throw new UnprocessableError(
      `execution_datetime: "${text.slice(0, 64)}" is not a date-time with a timezone, e.g. 2022-01-01T10:00:00Z`,
      { [field]: 'invalid date-time' },
    );
  }
  const date = leap ? new Date(parsed.getTime() + 1000) : parsed;
  if (date.getTime() > Date.now() + CLOCK_SKEW_MS) {
    throw new UnprocessableError('execution_datetime lies in the future', { [field]: 'in the future' });
  }
  return date;
}
