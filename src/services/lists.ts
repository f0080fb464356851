// The list machinery shared by every resource (CONTRACT §3): pagination,
// sort_by, :search terms and upload/execution date ranges. A resource only
// declares its fields; the rules and the error messages live here, once.
import { UnprocessableError } from '../errors.js';
import { JsonText } from '../http/json-text.js';

export const DEFAULT_PER_PAGE = 100;

export interface PageQuery {
  page?: number;
  per_page?: number;
}

/** The pagination envelope of every list response. */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pages: number;
  per_page: number;
  has_next: boolean;
  has_prev: boolean;
  next_num: number | null;
  prev_num: number | null;
}

/** The window of rows a page query asks for, in Prisma's terms. */
export function pageWindow(query: PageQuery): { skip: number; take: number } {
  const perPage = query.per_page ?? DEFAULT_PER_PAGE;
  return { skip: ((query.page ?? 1) - 1) * perPage, take: perPage };
}

/** The envelope around one page of `total` matching items (a page past the end is empty, not an error). */
export function toPage<T>(query: PageQuery, items: T[], total: number): Page<T> {
  const page = query.page ?? 1;
  const perPage = query.per_page ?? DEFAULT_PER_PAGE;
  const pages = Math.ceil(total / perPage);
  const hasNext = page < pages;
  const hasPrev = page > 1;
  // In the order of the spec's Pagination schema, items last (toPageText writes it so).
  return {
    has_next: hasNext,
    has_prev: hasPrev,
    next_num: hasNext ? page + 1 : null,
    prev_num: hasPrev ? page - 1 : null,
    page,
    pages,
    per_page: perPage,
    total,
    items,
  };
}

/**
 * `toPage` for items that are JSON texts already: the page as JSON text, its
 * keys in the order the serializer writes every other list (the schema's).
 */
export function toPageText<T>(query: PageQuery, items: string[], total: number): JsonText<Page<T>> {
  const { items: _, ...envelope } = toPage(query, [], total);
  return new JsonText(`${JSON.stringify(envelope).slice(0, -1)},"items":[${items.join(',')}]}`);
}

/** Counts and fetches one page; the two queries run concurrently. */
export async function paginate<T>(
  query: PageQuery,
  count: () => Promise<number>,
  fetch: (window: { skip: number; take: number }) => Promise<T[]>,
): Promise<Page<T>> {
  const [total, items] = await Promise.all([count(), fetch(pageWindow(query))]);
  return toPage(query, items, total);
}

export type SortDirection = 'asc' | 'desc';

export interface SortKey {
  /** The field as the client named it, e.g. `docker_image` or `json.machine.cpu.count`. */
  field: string;
  direction: SortDirection;
}

/**
 * Parses `sort_by` ("+name,-upload_datetime") against the fields a resource
 * allows. `isAllowed` lets results accept `json.<path>` beside fixed names.
 */
export function parseSortBy(
  sortBy: string | undefined,
  fallback: string,
  allowed: readonly string[],
  isAllowed: (field: string) => boolean = (field) => allowed.includes(field),
): SortKey[] {
  const text = sortBy === undefined || sortBy.trim() === '' ? fallback : sortBy;
  return text.split(',').map((part) => {
    // An unencoded `+` arrives as a space (`sort_by=+name`): it meant ascending.
    const sign = part[0] === ' ' ? '+' : part[0];
    const field = part.slice(1);
    if (sign !== '+' && sign !== '-') {
      throw new UnprocessableError(
        `sort_by: "${part}" must start with + (ascending) or - (descending), e.g. sort_by=+${allowed[0] ?? 'id'}`,
        { 'query.sort_by': 'missing sign' },
      );
    }
    if (!isAllowed(field)) {
      throw new UnprocessableError(`sort_by: unknown field "${field}"; allowed: ${allowed.join(', ')}`, {
        'query.sort_by': `unknown field ${field}`,
      });
    }
    return { field, direction: sign === '+' ? 'asc' : 'desc' };
  });
}

/**
 * Prisma `orderBy` for `sort_by` over plain columns. The tie-breaker column
 * (unique) comes last so that pages are stable.
 */
export function columnOrder<F extends string, T extends string = 'id'>(
  sortBy: string | undefined,
  fallback: string,
  fields: readonly F[],
  tieBreaker: T = 'id' as T,
): Partial<Record<F | T, SortDirection>>[] {
  const keys = parseSortBy(sortBy, fallback, fields);
  const order = keys.map((key) => ({ [key.field]: key.direction }) as Partial<Record<F | T, SortDirection>>);
  if (keys.some((key) => key.field === tieBreaker)) return order;
  return [...order, { [tieBreaker]: 'asc' } as Partial<Record<F | T, SortDirection>>];
}

/**
 * `:search` terms: every term must appear, as a literal case-sensitive
 * substring, in at least one of the resource's text fields.
 */
export function termsWhere<W>(terms: readonly string[] | undefined, fieldsContaining: (term: string) => W[]): { AND: { OR: W[] }[] } {
  return { AND: (terms ?? []).map((term) => ({ OR: fieldsContaining(term) })) };
}

/** `{contains}` for Prisma that matches `term` literally: LIKE wildcards are escaped. */
export function containsLiteral(term: string): { contains: string } {
  return { contains: term.replace(/[\\%_]/g, (c) => `\\${c}`) };
}

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
