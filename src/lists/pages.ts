// Pages of every list (docs/CONTRACT.md §3): `page` and `per_page` in, the
// pagination envelope out. The rest of the list machinery is beside this
// file: sorting.ts (sort_by), dates.ts (date ranges), search.ts (:search terms).
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
 * `toPage` for items that are JSON already, each given as the UTF-8 parts of
 * its text: the page as JSON text, its keys in the order the serializer
 * writes every other list (the schema's). `following`: more items follow,
 * from the cursor `after` if there is one: the page links to them.
 */
export function toPageText<T>(
  query: PageQuery,
  items: readonly (readonly Buffer[])[],
  total: number,
  following?: { after?: string },
): JsonText<Page<T>> {
  const { items: _, ...envelope } = toPage(query, [], total);
  const parts: Buffer[] = [Buffer.from(`${JSON.stringify(envelope).slice(0, -1)},"items":[`)];
  for (const [index, item] of items.entries()) {
    if (index > 0) parts.push(COMMA);
    parts.push(...item);
  }
  parts.push(END);
  const text = new JsonText<Page<T>>(parts);
  if (following) text.next = { page: envelope.page + 1, ...following };
  return text;
}

const COMMA = Buffer.from(',');
const END = Buffer.from(']}');

/** Counts and fetches one page; the two queries run concurrently. */
export async function paginate<T>(
  query: PageQuery,
  count: () => Promise<number>,
  fetch: (window: { skip: number; take: number }) => Promise<T[]>,
): Promise<Page<T>> {
  const [total, items] = await Promise.all([count(), fetch(pageWindow(query))]);
  return toPage(query, items, total);
}

/** A Prisma model (`prisma.benchmark`, `prisma.claim`, …) as far as a list needs it. */
export interface ListableModel<Where, Order, Row> {
  count(args: { where: Where }): PromiseLike<number>;
  findMany(args: { where: Where; orderBy: Order; skip: number; take: number }): PromiseLike<Row[]>;
}

/**
 * The list of every resource Prisma keeps: the rows matching `where` in
 * `orderBy` order, one page of them as `view` shows each, and the total.
 */
export function listPage<Where, Order, Row, View>(
  model: ListableModel<Where, Order, Row>,
  query: PageQuery,
  { where, orderBy }: { where: Where; orderBy: Order },
  view: (row: Row) => View,
): Promise<Page<View>> {
  return paginate(
    query,
    async () => model.count({ where }),
    async (window) => (await model.findMany({ where, orderBy, ...window })).map(view),
  );
}
