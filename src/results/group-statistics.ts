// GET /results:stats: the metric's statistics per group of the matching
// results, best first, each compared with a baseline group if one is named.
// PostgreSQL aggregates (db/result-stats.ts); the intervals and tests are
// computed here from those aggregates (results/statistics.ts). Answers are
// remembered like result pages (page-cache.ts): an aggregate over a
// benchmark's results costs the database far more than a page.
import type { QueryOf, Schemas } from '../api-types.js';
import type { ChangeFeed } from '../db/change-feed.js';
import type { Database } from '../db/client.js';
import { resultStats, type StatsRow } from '../db/result-stats.js';
import { type ResultCriteria, resultWhere } from '../db/results-query.js';
import { NotFoundError } from '../errors.js';
import { listCriteria } from './criteria.js';
import { queryJsonPath } from './json-path.js';
import { ReadCache, type WriteGeneration } from './page-cache.js';
import { compare, HALF_Z, meanInterval, medianLowRanks } from './statistics.js';

export type StatisticsQuery = QueryOf<'ResultStatistics'>;
type Summary = Schemas['MetricSummary'];
type Group = Schemas['GroupStatistics'];

/** A group's row as the answer shows it; undefined for a set with no number (only the overall row can be one). */
function summary(row: StatsRow): Summary | undefined {
  const { n, mean, min, max, quantiles, first_execution, last_execution } = row;
  if (n === 0 || mean === null || min === null || max === null || !quantiles || !first_execution || !last_execution) return undefined;
  const [p25, median, p75, p95] = quantiles as [number, number, number, number];
  return {
    n,
    skipped: row.skipped,
    mean,
    stddev: row.stddev,
    min,
    p25,
    median,
    p75,
    p95,
    max,
    median_ci: row.median_low === null || row.median_high === null ? null : { low: row.median_low, high: row.median_high },
    mean_ci: meanInterval(n, mean, row.stddev),
    first_execution,
    last_execution,
  };
}

/** The filters as the client gave them, for the answer to echo. */
function echoedQuery(query: StatisticsQuery): Schemas['StatisticsQuery'] {
  const { metric: _metric, group_by: _groupBy, better: _better, baseline: _baseline, ...filters } = query;
  return filters;
}

export class GroupStatistics {
  private readonly answers: ReadCache<Schemas['Statistics']>;

  /** Remembered for `cacheMs`, forgotten when `generation` moves, used only once `changes` caught up. */
  constructor(
    private readonly db: Database,
    generation: WriteGeneration,
    private readonly changes: ChangeFeed,
    cacheMs: number,
  ) {
    this.answers = new ReadCache(generation, {
      ttlMs: cacheMs,
      maxEntries: 200,
      // About 600 bytes of JSON per group: at most ~10 MB remembered.
      maxWeight: 10_000_000,
      weigh: (answer) => 1000 + 600 * answer.groups.length,
    });
  }

  /** The answer of GET /results:stats for `query`; 422 and 404 as the spec says. */
  async get(query: StatisticsQuery): Promise<Schemas['Statistics']> {
    const path = queryJsonPath('metric', query.metric);
    const criteria = listCriteria(query);
    const point = await this.changes.sync();
    const load = () => statistics(this.db, point.walEnd, query, path, criteria);
    if (!point.heard) return load();
    // The query as given, not the criteria: the answer echoes its filters as the client wrote them.
    return this.answers.get(JSON.stringify(query), load);
  }
}

/** The statistics as of the end of the primary's WAL `walEnd` (on a read replica that has it, if any). */
async function statistics(
  db: Database,
  walEnd: bigint | undefined,
  query: StatisticsQuery,
  path: string[],
  criteria: ResultCriteria,
): Promise<Schemas['Statistics']> {
  const groupBy = query.group_by ?? 'flavor';
  const better = query.better ?? 'higher';
  const rows = await db.readAsOf(walEnd, async (prisma) =>
    resultStats(prisma, await resultWhere(prisma, criteria), path, groupBy, { table: medianLowRanks(), halfZ: HALF_Z }),
  );
  const everything = rows.find((row) => row.id === null);
  const groups: Group[] = [];
  for (const row of rows) {
    const stats = row.id === null ? undefined : summary(row);
    if (stats && row.id !== null) groups.push({ id: row.id, name: row.name ?? '', comparison: null, ...stats });
  }
  const sign = better === 'higher' ? -1 : 1;
  groups.sort((a, b) => sign * (a.median - b.median) || (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1));
  if (query.baseline !== undefined) {
    const base = groups.find((group) => group.id === query.baseline);
    if (!base) throw new NotFoundError('Baseline group', query.baseline);
    for (const group of groups) if (group !== base) group.comparison = compare(group, base);
  }
  return {
    metric: query.metric,
    group_by: groupBy,
    better,
    baseline: query.baseline ?? null,
    query: echoedQuery(query),
    skipped: everything?.skipped ?? 0,
    overall: everything ? (summary(everything) ?? null) : null,
    groups,
  };
}
