// Raw SQL that reads results: which results a list or search returns, in
// which order, and their JSON as the API shows it. Everything a client sends
// (paths, values, terms, ids, dates) reaches PostgreSQL as a bound parameter;
// only fixed fragments chosen from the tables below (operators, directions,
// columns) are spliced in.
//
// JSON comparisons are typed and guarded by jsonb_typeof inside a CASE, so a
// result holding another type at the path does not match — and never makes
// the cast fail (the reference implementation answers 500 there).
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import { BENCHMARK_SHAPE, FLAVOR_SHAPE, type FieldKind, RESULT_OWN_SHAPE, SITE_SHAPE, TAG_SHAPE } from '../views.js';

export type JsonOperator = '==' | '>' | '<' | '>=' | '<=';

/** One `filters=<path> <op> <value>` condition, already parsed. */
export type JsonFilter =
  | { path: string[]; operator: JsonOperator; type: 'number'; value: string }
  | { path: string[]; operator: JsonOperator; type: 'boolean'; value: boolean }
  | { path: string[]; operator: JsonOperator; type: 'string'; value: string };

export type ResultSortKey = { column: ResultColumn; direction: 'asc' | 'desc' } | { jsonPath: string[]; direction: 'asc' | 'desc' };

/**
 * What a value results are sorted by holds, as a page cursor carries it:
 * PostgreSQL's text of it (`keyText`), read back with the cast of its kind.
 */
export type KeyKind = 'uuid' | 'timestamp' | 'text' | 'numeric' | 'jsonb';

/**
 * Where a page starts: the sort values of the result before it, one per
 * term of the order (see `sortTerms`), then that result's id; null where it
 * had no value at a JSON path. Checked against `keyKinds` before it is used.
 */
export type PageStart = readonly (string | null)[];

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

/**
 * The columns results sort by (`sort_by=+site_name`), whether they need the
 * joined tables, and the kind of value they hold (for page cursors). Every one
 * is NOT NULL.
 */
const COLUMNS = {
  id: { sql: Prisma.raw('r.id'), joins: false, kind: 'uuid' },
  upload_datetime: { sql: Prisma.raw('r.upload_datetime'), joins: false, kind: 'timestamp' },
  execution_datetime: { sql: Prisma.raw('r.execution_datetime'), joins: false, kind: 'timestamp' },
  benchmark_id: { sql: Prisma.raw('r.benchmark_id'), joins: false, kind: 'uuid' },
  benchmark_name: { sql: Prisma.raw("(b.docker_image || ':' || b.docker_tag)"), joins: true, kind: 'text' },
  site_id: { sql: Prisma.raw('r.site_id'), joins: false, kind: 'uuid' },
  site_name: { sql: Prisma.raw('s.name'), joins: true, kind: 'text' },
  site_address: { sql: Prisma.raw('s.address'), joins: true, kind: 'text' },
  flavor_id: { sql: Prisma.raw('r.flavor_id'), joins: false, kind: 'uuid' },
  flavor_name: { sql: Prisma.raw('f.name'), joins: true, kind: 'text' },
} as const satisfies Record<string, { sql: Prisma.Sql; joins: boolean; kind: KeyKind }>;

export type ResultColumn = keyof typeof COLUMNS;

/** The fixed fields of `sort_by` for results, in the order error messages list them. */
export const RESULT_SORT_COLUMNS = Object.keys(COLUMNS) as ResultColumn[];

function jsonAt(path: string[]): Prisma.Sql {
  return Prisma.sql`(r.json #> ${path}::text[])`;
}

/**
 * Where a query reads the values it filters and sorts by: straight from the
 * result's row (`ROW`), or from a subquery that took each once (findResults).
 */
interface ValueSource {
  /** The jsonb at `path` in the result's JSON. */
  jsonAt(path: string[]): Prisma.Sql;
  /** The column the `index`-th key of `sort_by` names. */
  column(column: ResultColumn, index: number): Prisma.Sql;
}

const ROW: ValueSource = { jsonAt, column: (column) => COLUMNS[column].sql };

/** `filter` on `value`, the jsonb at its path. */
function jsonCondition(filter: JsonFilter, value: Prisma.Sql): Prisma.Sql {
  const operator = SQL_OPERATORS[filter.operator];
  switch (filter.type) {
    case 'number':
      return Prisma.sql`(CASE WHEN jsonb_typeof(${value}) = 'number' THEN ${value}::numeric END) ${operator} ${filter.value}::numeric`;
    case 'boolean':
      return Prisma.sql`(CASE WHEN jsonb_typeof(${value}) = 'boolean' THEN ${value}::boolean END) ${operator} ${filter.value}::boolean`;
    case 'string':
      return Prisma.sql`(CASE WHEN jsonb_typeof(${value}) = 'string' THEN ${value} #>> '{}' END) ${operator} ${filter.value}::text`;
  }
}

/** The catalog entries one search term names (docs/CONTRACT.md §3: a literal, case-sensitive substring). */
interface TermMatch {
  benchmark_ids: string[];
  site_ids: string[];
  flavor_ids: string[];
  tag_ids: string[];
}

/**
 * Looks every term up in the small catalog tables first (strpos, not LIKE:
 * `%` and `_` are ordinary characters), so that the results table is then
 * filtered by ids that PostgreSQL knows when it plans: its id indexes
 * combine (BitmapOr/BitmapAnd) instead of every result being tested.
 */
async function matchTerms(prisma: PrismaClient, terms: string[]): Promise<TermMatch[]> {
  if (terms.length === 0) return [];
  return prisma.$queryRaw<TermMatch[]>`
    SELECT
      ARRAY(SELECT id::text FROM benchmarks WHERE strpos(docker_image || ':' || docker_tag, t.term) > 0) AS benchmark_ids,
      ARRAY(SELECT id::text FROM sites WHERE strpos(name, t.term) > 0 OR strpos(address, t.term) > 0) AS site_ids,
      ARRAY(SELECT id::text FROM flavors WHERE strpos(name, t.term) > 0) AS flavor_ids,
      ARRAY(SELECT id::text FROM tags WHERE name = t.term) AS tag_ids
    FROM unnest(${terms}::text[]) WITH ORDINALITY AS t(term, n)
    ORDER BY t.n`;
}

/** A result matches a term when its benchmark, site, flavor or one of its tags does; nothing named: false. */
function termCondition(match: TermMatch): Prisma.Sql {
  const arms: Prisma.Sql[] = [];
  if (match.benchmark_ids.length > 0) arms.push(Prisma.sql`r.benchmark_id = ANY (${match.benchmark_ids}::uuid[])`);
  if (match.site_ids.length > 0) arms.push(Prisma.sql`r.site_id = ANY (${match.site_ids}::uuid[])`);
  if (match.flavor_ids.length > 0) arms.push(Prisma.sql`r.flavor_id = ANY (${match.flavor_ids}::uuid[])`);
  if (match.tag_ids.length > 0) {
    arms.push(Prisma.sql`r.id IN (SELECT rt.result_id FROM result_tags rt WHERE rt.tag_id = ANY (${match.tag_ids}::uuid[]))`);
  }
  return arms.length > 0 ? Prisma.sql`(${Prisma.join(arms, ' OR ')})` : Prisma.sql`false`;
}

function dateConditions(column: Prisma.Sql, range: DateRange | undefined): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = [];
  if (range?.lt) conditions.push(Prisma.sql`${column} < ${range.lt}`);
  if (range?.gt) conditions.push(Prisma.sql`${column} > ${range.gt}`);
  return conditions;
}

/** The WHERE clause of the results that match, for findResults and countResults. */
export interface ResultWhere {
  readonly sql: Prisma.Sql;
  readonly conditions: readonly Prisma.Sql[];
  /** The conditions but the JSON filters, and those filters (findResults tests them apart). */
  readonly plain: readonly Prisma.Sql[];
  readonly filters: readonly JsonFilter[];
}

function whereClause(conditions: readonly Prisma.Sql[]): Prisma.Sql {
  return conditions.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
}

/** Turns criteria into SQL; looks search terms up in the catalog first. */
export async function resultWhere(prisma: PrismaClient, criteria: ResultCriteria): Promise<ResultWhere> {
  const conditions: Prisma.Sql[] = [];
  if (!criteria.includeHidden) conditions.push(Prisma.sql`r.deleted = false`);
  if (criteria.uploader) {
    conditions.push(Prisma.sql`r.uploader_sub = ${criteria.uploader.sub} AND r.uploader_iss = ${criteria.uploader.iss}`);
  }
  if (criteria.benchmarkId) conditions.push(Prisma.sql`r.benchmark_id = ${criteria.benchmarkId}::uuid`);
  if (criteria.siteId) conditions.push(Prisma.sql`r.site_id = ${criteria.siteId}::uuid`);
  if (criteria.flavorId) conditions.push(Prisma.sql`r.flavor_id = ${criteria.flavorId}::uuid`);
  const tagIds = [...new Set(criteria.tagIds ?? [])];
  if (tagIds.length > 0) {
    // One grouped lookup for every tag: one EXISTS per tag made the planner
    // join up to 50 relations, which took it seconds.
    conditions.push(Prisma.sql`r.id IN (
      SELECT rt.result_id FROM result_tags rt WHERE rt.tag_id = ANY (${tagIds}::uuid[])
      GROUP BY rt.result_id HAVING count(*) = ${tagIds.length}::int)`);
  }
  conditions.push(...dateConditions(Prisma.raw('r.execution_datetime'), criteria.executed));
  conditions.push(...dateConditions(Prisma.raw('r.upload_datetime'), criteria.uploaded));
  for (const match of await matchTerms(prisma, criteria.terms ?? [])) conditions.push(termCondition(match));
  const filters = criteria.filters ?? [];
  const all = [...conditions, ...filters.map((filter) => jsonCondition(filter, jsonAt(filter.path)))];
  return { sql: whereClause(all), conditions: all, plain: conditions, filters };
}

/** One term of an ORDER BY: the value sorted by, and how. */
interface SortTerm {
  value: Prisma.Sql;
  direction: 'asc' | 'desc';
  /** NULLS LAST: the value may be null (JSON); columns never are. */
  nullsLast: boolean;
  kind: KeyKind;
}

/** What `sort` orders results by, term by term (then the id: see orderBy), read from `source`. */
function sortTerms(sort: ResultSortKey[], source: ValueSource = ROW): SortTerm[] {
  const terms: SortTerm[] = [];
  for (const [index, key] of sort.entries()) {
    const direction = key.direction;
    if ('column' in key) {
      terms.push({ value: source.column(key.column, index), direction, nullsLast: false, kind: COLUMNS[key.column].kind });
    } else {
      // Numbers numerically first; other JSON values after them; missing last.
      const value = source.jsonAt(key.jsonPath);
      terms.push({
        value: Prisma.sql`(CASE WHEN jsonb_typeof(${value}) = 'number' THEN ${value}::numeric END)`,
        direction,
        nullsLast: true,
        kind: 'numeric',
      });
      terms.push({ value, direction, nullsLast: true, kind: 'jsonb' });
    }
  }
  return terms;
}

/** The kinds of the values a page start holds for `sort`: one per sort term, then the id's. */
export function keyKinds(sort: ResultSortKey[]): KeyKind[] {
  return [...sortTerms(sort).map((term) => term.kind), 'uuid'];
}

/** ORDER BY `terms`, then `id`: the id makes the order total, so pages never overlap. */
function orderBy(terms: SortTerm[], id: Prisma.Sql): Prisma.Sql {
  const parts = terms.map(
    (term) => Prisma.sql`${term.value} ${DIRECTIONS[term.direction]}${term.nullsLast ? Prisma.raw(' NULLS LAST') : Prisma.empty}`,
  );
  return Prisma.sql`ORDER BY ${Prisma.join([...parts, Prisma.sql`${id} ASC`], ', ')}`;
}

/** The id as the order's last term (orderBy). */
function idTerm(id: Prisma.Sql): SortTerm {
  return { value: id, direction: 'asc', nullsLast: false, kind: 'uuid' };
}

/**
 * PostgreSQL's text of a sort value, which the cast of its kind reads back
 * exactly (a timestamp to the microsecond, in UTC; none before year 1, whose
 * text would not say BC).
 */
function keyText(term: SortTerm): Prisma.Sql {
  return term.kind === 'timestamp'
    ? Prisma.sql`CASE WHEN ${term.value} >= '0001-01-01T00:00:00Z' THEN to_char(${term.value} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END`
    : Prisma.sql`${term.value}::text`;
}

/** The type each kind of sort value is cast back to. */
const KEY_CASTS = {
  uuid: Prisma.raw('uuid'),
  timestamp: Prisma.raw('timestamptz'),
  text: Prisma.raw('text'),
  numeric: Prisma.raw('numeric'),
  jsonb: Prisma.raw('jsonb'),
} as const satisfies Record<KeyKind, Prisma.Sql>;

function keyValue(kind: KeyKind, text: string): Prisma.Sql {
  return Prisma.sql`${text}::${KEY_CASTS[kind]}`;
}

/**
 * The rows that come after `start` in the order of `terms` then `id`
 * (orderBy): those past it in the first term, or equal there and past it in
 * the next, and so on. NULLS LAST: nothing but nulls follows a null, and a
 * null follows every value. A column first also bounds the range on its own,
 * so an index on it is scanned from the start onwards only.
 */
function startsAfter(terms: SortTerm[], id: Prisma.Sql, start: PageStart): Prisma.Sql {
  const all = [...terms, idTerm(id)];
  const value = (index: number) => start[index] ?? null;
  const equal = (term: SortTerm, text: string | null) =>
    text === null ? Prisma.sql`${term.value} IS NULL` : Prisma.sql`${term.value} = ${keyValue(term.kind, text)}`;
  const past = (term: SortTerm, text: string, orEqual = false): Prisma.Sql => {
    const operator = Prisma.raw(`${term.direction === 'desc' ? '<' : '>'}${orEqual ? '=' : ''}`);
    const beyond = Prisma.sql`${term.value} ${operator} ${keyValue(term.kind, text)}`;
    return term.nullsLast ? Prisma.sql`(${beyond} OR ${term.value} IS NULL)` : beyond;
  };
  const arms: Prisma.Sql[] = [];
  for (const [index, term] of all.entries()) {
    const text = value(index);
    if (text === null) continue;
    const before = all.slice(0, index).map((earlier, at) => equal(earlier, value(at)));
    arms.push(Prisma.join([...before, past(term, text)], ' AND '));
  }
  if (arms.length === 0) return Prisma.sql`false`;
  const first = all[0];
  const firstText = value(0);
  const bound = first && !first.nullsLast && firstText !== null ? Prisma.sql`${past(first, firstText, true)} AND ` : Prisma.empty;
  return Prisma.sql`${bound}(${Prisma.join(arms, ' OR ')})`;
}

export function orderClause(sort: ResultSortKey[]): Prisma.Sql {
  return orderBy(sortTerms(sort), Prisma.raw('r.id'));
}

export function needsJoins(sort: ResultSortKey[]): boolean {
  return sort.some((key) => 'column' in key && COLUMNS[key.column].joins);
}

/**
 * OFFSET is a bigint: a page far past the end (`page=1e30`) would overflow
 * it. Any offset this large is past the last row anyway.
 */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

export const JOINS = Prisma.sql`
  JOIN benchmarks b ON b.id = r.benchmark_id
  JOIN sites s ON s.id = r.site_id
  JOIN flavors f ON f.id = r.flavor_id`;

/**
 * How many results match (for the page envelope's `total`). Visible results
 * of a benchmark, site or flavor (or all of them) are summed from the counts
 * that triggers keep (result_counts, migration result_counts): a few rows
 * instead of every matching result, which took 360–400 ms at a million.
 * Anything narrower is counted.
 */
export async function countResults(prisma: PrismaClient, criteria: ResultCriteria, where: ResultWhere): Promise<number> {
  const [row] = countIsKept(criteria)
    ? await prisma.$queryRaw<{ total: number }[]>`
        SELECT coalesce(sum(c.n), 0)::int AS total FROM result_counts c ${keptWhere(criteria)}`
    : await prisma.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS total FROM results r ${where.sql}`;
  return row?.total ?? 0;
}

/**
 * Whether result_counts can still answer with each criterion as given:
 * visible results, by benchmark, site and flavor alone. Declared for every
 * criterion, so a new one fails the type check until it is decided here.
 */
const KEPT: { [K in keyof Required<ResultCriteria>]: (value: ResultCriteria[K]) => boolean } = {
  includeHidden: (value) => !value,
  uploader: (value) => value === undefined,
  benchmarkId: () => true,
  siteId: () => true,
  flavorId: () => true,
  tagIds: (value) => (value?.length ?? 0) === 0,
  executed: (value) => value === undefined,
  uploaded: (value) => value === undefined,
  filters: (value) => (value?.length ?? 0) === 0,
  terms: (value) => (value?.length ?? 0) === 0,
};

/** Whether countResults sums kept counts for `criteria` rather than counting results. */
export function countIsKept(criteria: ResultCriteria): boolean {
  return (Object.keys(KEPT) as (keyof ResultCriteria)[]).every((key) =>
    (KEPT[key] as (value: ResultCriteria[typeof key]) => boolean)(criteria[key]),
  );
}

function keptWhere(criteria: ResultCriteria): Prisma.Sql {
  const conditions: Prisma.Sql[] = [];
  if (criteria.benchmarkId) conditions.push(Prisma.sql`c.benchmark_id = ${criteria.benchmarkId}::uuid`);
  if (criteria.siteId) conditions.push(Prisma.sql`c.site_id = ${criteria.siteId}::uuid`);
  if (criteria.flavorId) conditions.push(Prisma.sql`c.flavor_id = ${criteria.flavorId}::uuid`);
  return conditions.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
}

/** A timestamp as `Date.toISOString()` writes it (UTC, milliseconds), which is what every other response carries. */
export function isoText(column: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * `'id', b.id, 'upload_datetime', to_char(…), …` for `json_build_object`:
 * the keys and formats of a view's shape (views.ts), over the columns of the
 * same names under `alias`. Keys come from those fixed shapes, never from a
 * client.
 */
function jsonFields(shape: Record<string, FieldKind>, alias: string): Prisma.Sql[] {
  return Object.entries(shape).map(([key, kind]) => {
    const column = Prisma.raw(`${alias}.${key}`);
    return Prisma.sql`${Prisma.raw(`'${key}'`)}, ${kind === 'timestamp' ? isoText(column) : column}`;
  });
}

/** The shape's JSON object; an `optional` last key is left out where its column is null. */
export function jsonObject(shape: Record<string, FieldKind>, alias: string): Prisma.Sql {
  const entries = Object.entries(shape);
  const last = entries.at(-1);
  if (entries.slice(0, -1).some(([, kind]) => kind === 'optional')) throw new Error('an optional key must be the last of its shape');
  if (last?.[1] !== 'optional') return Prisma.sql`json_build_object(${Prisma.join(jsonFields(shape, alias), ', ')})`;
  const always = Object.fromEntries(entries.slice(0, -1));
  const column = Prisma.raw(`${alias}.${last[0]}`);
  return Prisma.sql`CASE WHEN ${column} IS NULL THEN json_build_object(${Prisma.join(jsonFields(always, alias), ', ')})
    ELSE json_build_object(${Prisma.join(jsonFields(shape, alias), ', ')}) END`;
}

/**
 * A result as read for a page: its own fields as JSON text (the keys and
 * formats of RESULT_OWN_SHAPE in views.ts), and the ids of what it embeds —
 * whose JSON, the same for every result that names them, is written once per
 * catalog change (results/catalog-fragments.ts) rather than once per result.
 */
export interface ResultRow {
  own: string;
  benchmark_id: string;
  site_id: string;
  flavor_id: string;
  /** In the order the API lists a result's tags: by name, byte-wise. */
  tag_ids: string[];
  /** How many results match in all, when the page was asked to count them (findResults). */
  total?: number;
  /** Where the page after this result starts (findResults): its sort values, then its id. */
  keys?: (string | null)[];
}

/** The ids of a result's tags, in the order the API lists them: by name, byte-wise. */
export function tagIdsOf(resultId: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`ARRAY(SELECT rt.tag_id::text FROM result_tags rt JOIN tags t ON t.id = rt.tag_id
            WHERE rt.result_id = ${resultId} ORDER BY t.name COLLATE "C")`;
}

/**
 * The rows of the results chosen by `page` (a SELECT of result rows with
 * their position `n`, and, with `chosen`, their `keys`), in order. `chosen`,
 * if given, is a CTE that `page` reads its ids from; if it `counted`, its
 * `total` column is answered on every row.
 */
function resultRows(prisma: PrismaClient, page: Prisma.Sql, chosen?: { sql: Prisma.Sql; counted: boolean }): Promise<ResultRow[]> {
  return prisma.$queryRaw<ResultRow[]>`
    WITH ${chosen ? Prisma.sql`chosen AS MATERIALIZED (${chosen.sql}),` : Prisma.empty}
    page AS MATERIALIZED (${page})
    SELECT ${jsonObject(RESULT_OWN_SHAPE, 'p')}::text AS own,
      p.benchmark_id::text AS benchmark_id, p.site_id::text AS site_id, p.flavor_id::text AS flavor_id,
      ${tagIdsOf(Prisma.raw('p.id'))} AS tag_ids
      ${chosen?.counted ? Prisma.sql`, (SELECT c.total FROM chosen c LIMIT 1) AS total` : Prisma.empty}
      ${chosen ? Prisma.sql`, p.keys` : Prisma.empty}
    FROM page p
    ORDER BY p.n`;
}

/**
 * The values a page's matches are filtered and sorted by, each read once per
 * result: the id, the jsonb at every path the filters and `sort` name (j0,
 * j1, …) and the columns `sort` names (c0, c1, … by their place in it), as
 * the select list of a subquery `v`; and `source`, which reads them from `v`.
 * Testing `r.json #> path` where each condition and sort term names it took
 * a JSON filter query twice as long (docs/PERFORMANCE.md).
 */
function valuesOnce(filters: readonly JsonFilter[], sort: ResultSortKey[]): { values: Prisma.Sql[]; source: ValueSource } {
  const paths = new Map<string, string[]>();
  for (const path of [...filters.map((filter) => filter.path), ...sort.flatMap((key) => ('jsonPath' in key ? [key.jsonPath] : []))]) {
    paths.set(JSON.stringify(path), path);
  }
  const slots = [...paths.keys()];
  const values = [
    Prisma.raw('r.id'),
    ...[...paths.values()].map((path, index) => Prisma.sql`${jsonAt(path)} AS ${Prisma.raw(`j${index}`)}`),
    ...sort.flatMap((key, index) => ('column' in key ? [Prisma.sql`${COLUMNS[key.column].sql} AS ${Prisma.raw(`c${index}`)}`] : [])),
  ];
  return {
    values,
    source: {
      jsonAt: (path) => Prisma.raw(`v.j${slots.indexOf(JSON.stringify(path))}`),
      column: (_column, index) => Prisma.raw(`v.c${index}`),
    },
  };
}

/** How findResults reads a page. */
export interface PageRead {
  /** The rows skipped before the page, and the most it holds. */
  window: { skip: number; take: number };
  /** Also count every match in the same pass (`total` on each row). */
  counted?: boolean;
  /** Start after these sort values instead of skipping rows (`window.skip` is then 0). */
  after?: PageStart;
}

/**
 * One page of matching results, in order. `counted`: the filters that
 * result_counts cannot answer — JSON paths, tags, dates, terms — then run
 * over the matching results once, not once for the page and again for its
 * count. `after`: the page starts after a result (keyset), so a deep page
 * costs what the first one does.
 */
export function findResults(prisma: PrismaClient, where: ResultWhere, sort: ResultSortKey[], read: PageRead): Promise<ResultRow[]> {
  const joins = needsJoins(sort) ? JOINS : Prisma.empty;
  const terms = sortTerms(sort);
  const order = orderBy(terms, Prisma.raw('r.id'));
  const limit = Prisma.sql`LIMIT ${read.window.take} OFFSET ${Math.min(read.window.skip, MAX_OFFSET)}`;
  let chosen: Prisma.Sql;
  if (read.counted) {
    // Every match goes through the window that counts them, and is held
    // there until the last one is in. Only its id and the values it sorts by
    // are held (OFFSET 0 keeps PostgreSQL from merging the subqueries back),
    // not its whole row with the JSON: at a million results the full rows of
    // a benchmark's matches (27 000, 9 MB) went past work_mem into a
    // temporary file (docs/PERFORMANCE.md). The page's start is tested only
    // once they are counted, so the total is of every match.
    const { values, source } = valuesOnce(where.filters, sort);
    const keys = [
      Prisma.raw('v.id'),
      ...sortTerms(sort, source).map((term, index) => Prisma.sql`${term.value} AS ${Prisma.raw(`k${index}`)}`),
    ];
    const matches = where.filters.map((filter) => jsonCondition(filter, source.jsonAt(filter.path)));
    const held = terms.map((term, index) => ({ ...term, value: Prisma.raw(`c.k${index}`) }));
    const id = Prisma.raw('c.id');
    chosen = Prisma.sql`
      SELECT c.id, c.total
      FROM (SELECT m.*, count(*) OVER ()::int AS total
            FROM (SELECT ${Prisma.join(keys, ', ')}
                  FROM (SELECT ${Prisma.join(values, ', ')} FROM results r ${joins} ${whereClause(where.plain)} OFFSET 0) v
                  ${whereClause(matches)} OFFSET 0) m) c
      ${read.after ? Prisma.sql`WHERE ${startsAfter(held, id, read.after)}` : Prisma.empty}
      ${orderBy(held, id)} ${limit}`;
  } else {
    const conditions = read.after ? [...where.conditions, startsAfter(terms, Prisma.raw('r.id'), read.after)] : where.conditions;
    chosen = Prisma.sql`SELECT r.id FROM results r ${joins} ${whereClause(conditions)} ${order} ${limit}`;
  }
  // Each row's sort values and id: where the page after it would start.
  const keys = Prisma.sql`ARRAY[${Prisma.join([...terms.map(keyText), Prisma.sql`r.id::text`], ', ')}] AS keys`;
  // Choosing the page's ids reads only the ids up to the offset (from an
  // index alone, for the default orders), not every skipped row; the rows
  // are read, and numbered in the same order, for the page alone.
  return resultRows(
    prisma,
    Prisma.sql`
      SELECT r.id, r.json, r.execution_datetime, r.upload_datetime, r.benchmark_id, r.site_id, r.flavor_id,
             row_number() OVER (${order}) AS n, ${keys}
      FROM results r ${joins}
      WHERE r.id IN (SELECT c.id FROM chosen c)`,
    { sql: chosen, counted: read.counted ?? false },
  );
}

/** One result, claimed (hidden) or not; undefined when there is none. */
export async function findResult(prisma: PrismaClient, id: string): Promise<ResultRow | undefined> {
  const [row] = await resultRows(
    prisma,
    Prisma.sql`
      SELECT r.id, r.json, r.execution_datetime, r.upload_datetime, r.benchmark_id, r.site_id, r.flavor_id, 1 AS n
      FROM results r WHERE r.id = ${id}::uuid`,
  );
  return row;
}

/** The catalog entries results embed, by kind; each kind's JSON is its view's (views.ts). */
export type CatalogKind = 'benchmark' | 'site' | 'flavor' | 'tag';

const CATALOG_TABLES = {
  benchmark: { table: Prisma.raw('benchmarks'), shape: BENCHMARK_SHAPE },
  site: { table: Prisma.raw('sites'), shape: SITE_SHAPE },
  flavor: { table: Prisma.raw('flavors'), shape: FLAVOR_SHAPE },
  tag: { table: Prisma.raw('tags'), shape: TAG_SHAPE },
} as const satisfies Record<CatalogKind, { table: Prisma.Sql; shape: Record<string, FieldKind> }>;

/** The JSON text of the named catalog entries, as results embed them; a deleted one is absent. */
export function findCatalogJson(
  prisma: PrismaClient,
  ids: Record<CatalogKind, string[]>,
): Promise<{ kind: CatalogKind; id: string; item: string }[]> {
  const parts = (Object.keys(CATALOG_TABLES) as CatalogKind[])
    .filter((kind) => ids[kind].length > 0)
    .map((kind) => {
      const { table, shape } = CATALOG_TABLES[kind];
      return Prisma.sql`
        SELECT ${kind}::text AS kind, x.id::text AS id, ${jsonObject(shape, 'x')}::text AS item
        FROM ${table} x WHERE x.id = ANY (${ids[kind]}::uuid[])`;
    });
  if (parts.length === 0) return Promise.resolve([]);
  return prisma.$queryRaw`${Prisma.join(parts, ' UNION ALL ')}`;
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
