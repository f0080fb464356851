// Dates in query parameters (the spec's DateOrDateTime) and the
// `<x>_before` / `<x>_after` ranges of every list.
import { UnprocessableError } from '../errors.js';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const HAS_ZONE = /(Z|[+-]\d{2}(:?\d{2})?)$/i;

/** Date cannot read offsets written +02 or +0200 (valid ISO 8601): give it +02:00. */
export function readableOffset(iso: string): string {
  return iso.replace(/([+-]\d{2})$/, '$1:00').replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
}

/** A real calendar day: Date would roll 2023-02-31 over to March 3rd. */
function isCalendarDay(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** Parses the spec's DateOrDateTime (a date or an ISO 8601 date-time; no zone means UTC). */
export function parseDate(name: string, value: string): Date {
  let iso = value.replace(' ', 'T');
  if (DATE_ONLY.test(iso)) iso += 'T00:00:00Z';
  else if (!HAS_ZONE.test(iso)) iso += 'Z';
  else iso = readableOffset(iso);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime()) || !isCalendarDay(value.slice(0, 10))) {
    throw new UnprocessableError(`${name}: "${value}" is not a valid date`, { [`query.${name}`]: 'invalid date' });
  }
  return date;
}

/** The `upload_before` / `upload_after` filter of every list. */
export function uploadedWithin(query: { upload_before?: string; upload_after?: string }): {
  upload_datetime?: { lt?: Date; gt?: Date };
} {
  const range = dateRange('upload', query.upload_before, query.upload_after);
  return range ? { upload_datetime: range } : {};
}

/** `{lt, gt}` for a `<x>_before` / `<x>_after` pair of query parameters; undefined when neither is set. */
export function dateRange(name: string, before: string | undefined, after: string | undefined): { lt?: Date; gt?: Date } | undefined {
  if (before === undefined && after === undefined) return undefined;
  return {
    ...(before !== undefined ? { lt: parseDate(`${name}_before`, before) } : {}),
    ...(after !== undefined ? { gt: parseDate(`${name}_after`, after) } : {}),
  };
}
