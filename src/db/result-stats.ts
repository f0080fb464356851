// Raw SQL that aggregates a metric of the matching results per group, for
// GET /results:stats. Everything is computed by PostgreSQL in one statement
// over the results that `resultWhere` chooses; only a row per group comes
// back. The path and the rank table are bound parameters; the grouping
// column is chosen from the fixed table below.
import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import { isoText, type ResultWhere } from './results-query.js';

export type StatsGroupBy = 'site' | 'flavor' | 'benchmark' | 'tag';

/** The group of a result (over `m`, the matching results) and the name the answer shows for it. */
const GROUPS = {
  site: { key: Prisma.raw('m.site_id'), join: Prisma.empty, name: Prisma.raw('(SELECT s.name FROM sites s WHERE s.id = a.gid)') },
  flavor: {
    key: Prisma.raw('m.flavor_id'),
    join: Prisma.empty,
    name: Prisma.raw(`(SELECT s.name || ' / ' || f.name FROM flavors f JOIN sites s ON s.id = f.site_id WHERE f.id = a.gid)`),
  },
  benchmark: {
    key: Prisma.raw('m.benchmark_id'),
    join: Prisma.empty,
    name: Prisma.raw(`(SELECT b.docker_image || ':' || b.docker_tag FROM benchmarks b WHERE b.id = a.gid)`),
  },
  tag: {
    key: Prisma.raw('rt.tag_id'),
    join: Prisma.raw('JOIN result_tags rt ON rt.result_id = m.id'),
    name: Prisma.raw('(SELECT t.name FROM tags t WHERE t.id = a.gid)'),
  },
} as const satisfies Record<StatsGroupBy, { key: Prisma.Sql; join: Prisma.Sql; name: Prisma.Sql }>;

/** One group's aggregates (`id` null: all matching results together). */
export interface StatsRow {
  id: string | null;
  name: string | null;
  n: number;
  skipped: number;
  mean: number | null;
  stddev: number | null;
  min: number | null;
  max: number | null;
  /** p25, median, p75, p95 (percentile_cont). */
  quantiles: number[] | null;
  /** The order statistics bounding the median's interval; null under 6 values. */
  median_low: number | null;
  median_high: number | null;
  first_execution: string | null;
  last_execution: string | null;
}

/** How the median interval's ranks are found (results/statistics.ts). */
export interface MedianRanks {
  /** The exact lower rank for n = 1 … table.length, at index n − 1 (0: no interval). */
  table: readonly number[];
  /** Beyond the table: floor(n/2 + ½ − halfZ·√n). */
  halfZ: number;
}

/**
 * The aggregates of `ranked` (gid, x, at, rank among the group's numbers, n)
 * per gid. The median's bounds are the values at two ranks that depend on
 * the group's n, read in the same pass.
 */
function aggregates(ranks: MedianRanks): Prisma.Sql {
  const low = Prisma.sql`(CASE WHEN n <= ${ranks.table.length}::int THEN (${ranks.table}::int[])[n]
    ELSE floor(n / 2.0 + 0.5 - ${ranks.halfZ}::float8 * sqrt(n))::int END)`;
  return Prisma.sql`
    count(x)::int AS n,
    (count(*) - count(x))::int AS skipped,
    avg(x) AS mean,
    stddev_samp(x) AS stddev,
    min(x) AS min,
    max(x) AS max,
    percentile_cont(ARRAY[0.25, 0.5, 0.75, 0.95]::float8[]) WITHIN GROUP (ORDER BY x) AS quantiles,
    min(x) FILTER (WHERE rank = ${low}) AS median_low,
    min(x) FILTER (WHERE rank = n + 1 - ${low}) AS median_high,
    ${isoText(Prisma.sql`min(at) FILTER (WHERE x IS NOT NULL)`)} AS first_execution,
    ${isoText(Prisma.sql`max(at) FILTER (WHERE x IS NOT NULL)`)} AS last_execution`;
}

/**
 * The number at `path` in each matching result as float8; anything else —
 * another type, or a number beyond float8 (which only SQL can store; JSON
 * parsed by the API never holds one) — is NULL, and counts as skipped.
 */
function metricValue(path: string[]): Prisma.Sql {
  const value = Prisma.sql`(r.json #> ${path}::text[])`;
  return Prisma.sql`CASE WHEN jsonb_typeof(${value}) = 'number' THEN
    CASE WHEN ${value}::numeric = 0 OR abs(${value}::numeric) BETWEEN 1e-300 AND 1e300 THEN ${value}::float8 END END`;
}

/**
 * Per group of the matching results, and over all of them (the row whose id
 * is null): the aggregates of the metric at `path`. Groups without a number
 * at the path are left out; the overall row is always there.
 */
export function resultStats(
  prisma: PrismaClient,
  where: ResultWhere,
  path: string[],
  groupBy: StatsGroupBy,
  ranks: MedianRanks,
): Promise<StatsRow[]> {
  const group = GROUPS[groupBy];
  const rankedBy = (partition: Prisma.Sql) => Prisma.sql`
    row_number() OVER (${partition} ORDER BY x NULLS LAST) AS rank, count(x) OVER (${partition})::int AS n`;
  return prisma.$queryRaw<StatsRow[]>`
    WITH m AS MATERIALIZED (
      SELECT r.id, r.benchmark_id, r.site_id, r.flavor_id, r.execution_datetime AS at, ${metricValue(path)} AS x
      FROM results r ${where.sql}
    ),
    grouped AS (
      SELECT ${group.key} AS gid, m.x, m.at, ${rankedBy(Prisma.sql`PARTITION BY ${group.key}`)}
      FROM m ${group.join}
    ),
    everything AS (
      SELECT NULL::uuid AS gid, m.x, m.at, ${rankedBy(Prisma.empty)} FROM m
    ),
    a AS (
      SELECT gid, ${aggregates(ranks)} FROM grouped GROUP BY gid HAVING count(x) > 0
      UNION ALL
      SELECT NULL::uuid, ${aggregates(ranks)} FROM everything
    )
    SELECT a.gid::text AS id, ${group.name} AS name, a.n, a.skipped, a.mean, a.stddev, a.min, a.max, a.quantiles,
           a.median_low, a.median_high, a.first_execution, a.last_execution
    FROM a`;
}
