// The one module of raw SQL: which results a list or search returns, in
// which order. Everything a client sends (paths, values, terms, ids, dates)
// reaches PostgreSQL as a bound parameter; only fixed fragments chosen from
// the tables below (operators, directions, columns) are spliced in.
//
// JSON comparisons are typed and guarded by jsonb_typeof inside a CASE, so a
// result holding another type at the path does not match — and never makes
// the cast fail (the reference implementation answers 500 there).
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';

export type JsonOperator = '==' | '>' | '<' | '>=' | '<=';

/** One `filters=<path> <op> <value>` condition, already parsed. */
export type JsonFilter =
  | { path: string[]; operator: JsonOperator; type: 'number'; value: string }
  | { path: string[]; operator: JsonOperator; type: 'boolean'; value: boolean }
  | { path: string[]; operator: JsonOperator; type: 'string'; value: string };

export type ResultColumn =
  | 'id'
  | 'upload_datetime'
  | 'execution_datetime'
  | 'benchmark_id'
  | 'benchmark_name'
  | 'site_id'
  | 'site_name'
  | 'site_address'
  | 'flavor_id'
  | 'flavor_name';

export type ResultSortKey =
  | { column: ResultColumn; direction: 'asc' | 'desc' }
  | { jsonPath: string[]; direction: 'asc' | 'desc' };

export interface DateRange {
  lt?: Date;
  gt?: Date;
}

export interface ResultCriteria {
  /** Claimed results are hidden from lists unless this is set (the uploader's own list). */
  includeHidden?: boolean;
  uploader?: { sub: string; iss: string };
  benchmarkId?: string;
  siteId?: string;
  flavorId?: string;
  /** The result must carry every one of these tags. */
  tagIds?: string[];
  executed?: DateRange;
  uploaded?: DateRange;
  filters?: JsonFilter[];
  /** Every term must appear in the benchmark's image:tag, the site's name or address, the flavor's name, or be a tag's name. */
  terms?: string[];
}

const SQL_OPERATORS: Record<JsonOperator, Prisma.Sql> = {
  '==': Prisma.raw('='),
  '>': Prisma.raw('>'),
  '<': Prisma.raw('<'),
  '>=': Prisma.raw('>='),
  '<=': Prisma.raw('<='),
};

const DIRECTIONS = { asc: Prisma.raw('ASC'), desc: Prisma.raw('DESC') } as const;

/** Columns to sort by, and whether they need the joined tables. */
const COLUMNS: Record<ResultColumn, { sql: Prisma.Sql; joins: boolean }> = {
  id: { sql: Prisma.raw('r.id'), joins: false },
  upload_datetime: { sql: Prisma.raw('r.upload_datetime'), joins: false },
  execution_datetime: { sql: Prisma.raw('r.execution_datetime'), joins: false },
  benchmark_id: { sql: Prisma.raw('r.benchmark_id'), joins: false },
  benchmark_name: { sql: Prisma.raw("(b.docker_image || ':' || b.docker_tag)"), joins: true },
  site_id: { sql: Prisma.raw('r.site_id'), joins: false },
  site_name: { sql: Prisma.raw('s.name'), joins: true },
  site_address: { sql: Prisma.raw('s.address'), joins: true },
  flavor_id: { sql: Prisma.raw('r.flavor_id'), joins: false },
  flavor_name: { sql: Prisma.raw('f.name'), joins: true },
};

function jsonAt(path: string[]): Prisma.Sql {
  return Prisma.sql`(r.json #> ${path}::text[])`;
}

function jsonCondition(filter: JsonFilter): Prisma.Sql {
  const value = jsonAt(filter.path);
  const operator = SQL_OPERATORS[filter.operator];
  switch (filter.type) {
    case 'number':
      return Prisma.sql`(CASE WHEN jsonb_typeof(${value}) = 'number' THEN ${value}::numeric END) ${operator} ${filter.value}::numeric`;
    case 'boolean':
      return Prisma.sql`(CASE WHEN jsonb_typeof(${value}) = 'boolean' THEN ${value}::boolean END) ${operator} ${filter.value}::boolean`;
    case 'string':
      return Prisma.sql`(CASE WHEN jsonb_typeof(${value}) = 'string' THEN (r.json #>> ${filter.path}::text[]) END) ${operator} ${filter.value}::text`;
  }
}

/**
 * strpos, not LIKE: a term is a literal substring (`%` and `_` are ordinary
 * characters). The term is matched against the small catalog tables in
 * uncorrelated subqueries, which PostgreSQL runs once and hashes, so the
 * results table is filtered by ids without joining it to anything.
 */
function termCondition(term: string): Prisma.Sql {
  return Prisma.sql`(
    r.benchmark_id IN (SELECT id FROM benchmarks WHERE strpos(docker_image || ':' || docker_tag, ${term}) > 0)
    OR r.site_id IN (SELECT id FROM sites WHERE strpos(name, ${term}) > 0 OR strpos(address, ${term}) > 0)
    OR r.flavor_id IN (SELECT id FROM flavors WHERE strpos(name, ${term}) > 0)
    OR r.id IN (SELECT rt.result_id FROM result_tags rt JOIN tags tg ON tg.id = rt.tag_id WHERE tg.name = ${term})
  )`;
}

function dateConditions(column: Prisma.Sql, range: DateRange | undefined): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = [];
  if (range?.lt) conditions.push(Prisma.sql`${column} < ${range.lt}`);
  if (range?.gt) conditions.push(Prisma.sql`${column} > ${range.gt}`);
  return conditions;
}

function whereClause(criteria: ResultCriteria): Prisma.Sql {
  const conditions: Prisma.Sql[] = [];
  if (!criteria.includeHidden) conditions.push(Prisma.sql`r.deleted = false`);
  if (criteria.uploader) {
    conditions.push(Prisma.sql`r.uploader_sub = ${criteria.uploader.sub} AND r.uploader_iss = ${criteria.uploader.iss}`);
  }
  if (criteria.benchmarkId) conditions.push(Prisma.sql`r.benchmark_id = ${criteria.benchmarkId}::uuid`);
  if (criteria.siteId) conditions.push(Prisma.sql`r.site_id = ${criteria.siteId}::uuid`);
  if (criteria.flavorId) conditions.push(Prisma.sql`r.flavor_id = ${criteria.flavorId}::uuid`);
  for (const tagId of new Set(criteria.tagIds ?? [])) {
    conditions.push(Prisma.sql`EXISTS (SELECT 1 FROM result_tags rt WHERE rt.result_id = r.id AND rt.tag_id = ${tagId}::uuid)`);
  }
  conditions.push(...dateConditions(Prisma.raw('r.execution_datetime'), criteria.executed));
  conditions.push(...dateConditions(Prisma.raw('r.upload_datetime'), criteria.uploaded));
  for (const filter of criteria.filters ?? []) conditions.push(jsonCondition(filter));
  for (const term of criteria.terms ?? []) conditions.push(termCondition(term));
  return conditions.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
}

function orderClause(sort: ResultSortKey[]): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
  for (const key of sort) {
    const direction = DIRECTIONS[key.direction];
    if ('column' in key) {
      parts.push(Prisma.sql`${COLUMNS[key.column].sql} ${direction}`);
    } else {
      // Numbers numerically first; other JSON values after them; missing last.
      const value = jsonAt(key.jsonPath);
      parts.push(Prisma.sql`(CASE WHEN jsonb_typeof(${value}) = 'number' THEN ${value}::numeric END) ${direction} NULLS LAST`);
      parts.push(Prisma.sql`${value} ${direction} NULLS LAST`);
    }
  }
  // The id makes the order total, so pages never overlap.
  parts.push(Prisma.sql`r.id ASC`);
  return Prisma.sql`ORDER BY ${Prisma.join(parts, ', ')}`;
}

function needsJoins(sort: ResultSortKey[]): boolean {
  return sort.some((key) => 'column' in key && COLUMNS[key.column].joins);
}

/**
 * OFFSET is a bigint: a page far past the end (`page=1e30`) would overflow
 * it. Any offset this large is past the last row anyway.
 */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

const JOINS = Prisma.sql`
  JOIN benchmarks b ON b.id = r.benchmark_id
  JOIN sites s ON s.id = r.site_id
  JOIN flavors f ON f.id = r.flavor_id`;

/**
 * Counting every match is most of a page's database time on large tables
 * (25 ms for 100 000 results, where the page itself takes under 1 ms). The
 * same count asked again within COUNT_TTL_MS is answered from memory; any
 * write to results through this process makes every remembered count stale
 * at once (see resultsChanged), so only other instances' writes can be
 * seen late, by at most COUNT_TTL_MS.
 */
export const COUNT_TTL_MS = 2000;
const COUNT_CACHE_SIZE = 512;

interface CountCache {
  generation: number;
  entries: Map<string, { total: number; at: number; generation: number }>;
}

/** One cache per database (per Prisma client): never a count of another database. */
const caches = new WeakMap<PrismaClient, CountCache>();

function cacheOf(prisma: PrismaClient): CountCache {
  let cache = caches.get(prisma);
  if (!cache) {
    cache = { generation: 0, entries: new Map() };
    caches.set(prisma, cache);
  }
  return cache;
}

/** Call after any write through this process: every cached count of that database is stale. */
export function resultsChanged(prisma: PrismaClient): void {
  cacheOf(prisma).generation += 1;
}

async function countResults(prisma: PrismaClient, where: Prisma.Sql): Promise<number> {
  const cache = cacheOf(prisma);
  const key = JSON.stringify([where.sql, where.values]);
  const cached = cache.entries.get(key);
  const now = Date.now();
  if (cached && cached.generation === cache.generation && now - cached.at < COUNT_TTL_MS) return cached.total;
  // A write that lands while counting makes this count stale: it is stored under the old generation.
  const asked = cache.generation;
  const [row] = await prisma.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS total FROM results r ${where}`;
  const total = row?.total ?? 0;
  cache.entries.delete(key);
  cache.entries.set(key, { total, at: now, generation: asked });
  if (cache.entries.size > COUNT_CACHE_SIZE) {
    const oldest = cache.entries.keys().next().value;
    if (oldest !== undefined) cache.entries.delete(oldest);
  }
  return total;
}

/** The columns of a result row as the page query returns them (relations are loaded by the caller). */
export interface ResultPageRow {
  id: string;
  json: unknown;
  execution_datetime: Date;
  upload_datetime: Date;
  benchmark_id: string;
  site_id: string;
  flavor_id: string;
}

/**
 * One page of matching results, in order, and how many match in all. The
 * page's rows come with the query that chose them: no second round trip.
 */
export async function findResults(
  prisma: PrismaClient,
  criteria: ResultCriteria,
  sort: ResultSortKey[],
  window: { skip: number; take: number },
): Promise<{ rows: ResultPageRow[]; total: number }> {
  const where = whereClause(criteria);
  const joins = needsJoins(sort) ? JOINS : Prisma.empty;
  const [rows, total] = await Promise.all([
    prisma.$queryRaw<ResultPageRow[]>`
      SELECT r.id, r.json, r.execution_datetime, r.upload_datetime, r.benchmark_id, r.site_id, r.flavor_id
      FROM results r ${joins} ${where} ${orderClause(sort)}
      LIMIT ${window.take} OFFSET ${Math.min(window.skip, MAX_OFFSET)}`,
    countResults(prisma, where),
  ]);
  return { rows, total };
}

/**
 * Locks a result's row until the end of the transaction (FOR UPDATE), so that
 * concurrent replacements of its tags run one after the other instead of
 * colliding on the result_tags key. Undefined when there is no such result.
 */
export async function lockResult(
  tx: Prisma.TransactionClient,
  id: string,
): Promise<{ uploader_sub: string; uploader_iss: string } | undefined> {
  const rows = await tx.$queryRaw<{ uploader_sub: string; uploader_iss: string }[]>`
    SELECT uploader_sub, uploader_iss FROM results WHERE id = ${id}::uuid FOR UPDATE`;
  return rows[0];
}
