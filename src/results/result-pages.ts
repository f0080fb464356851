// Pages of results (ListResults, SearchResults, ListUserResults), written by
// PostgreSQL as JSON (db/results-query.ts) and remembered (page-cache.ts): a
// page costs the database a few milliseconds and its count as much again
// (docs/PERFORMANCE.md), and the same pages are asked for again and again (a
// front end's first page, a notebook re-run). What is remembered is
// forgotten as soon as a change to what it shows commits, through any
// instance (db/change-feed.ts), and never trusted while that cannot be known.
import type { Schemas } from '../api-types.js';
import type { ChangeFeed } from '../db/change-feed.js';
import type { Database } from '../db/client.js';
import { countResults, findResults, type ResultCriteria, resultWhere } from '../db/results-query.js';
import type { JsonText } from '../http/json-text.js';
import { type PageQuery, pageWindow, toPageText } from '../lists/pages.js';
import { ReadCache, type WriteGeneration } from './page-cache.js';
import { parseResultSort } from './sorting.js';

/** Pages remembered at once: at most this many bytes of JSON (~100 default pages). */
const PAGE_CACHE_BYTES = 20_000_000;

export class ResultPages {
  private readonly counts: ReadCache<number>;
  private readonly pages: ReadCache<JsonText<Schemas['Results']>>;

  /**
   * Pages and counts are remembered for `cacheMs`, forgotten as soon as
   * `generation` moves, and used only once `changes` has caught up with every
   * commit before the request.
   */
  constructor(
    private readonly db: Database,
    generation: WriteGeneration,
    private readonly changes: ChangeFeed,
    cacheMs: number,
  ) {
    this.counts = new ReadCache(generation, { ttlMs: cacheMs, maxEntries: 1000 });
    this.pages = new ReadCache(generation, {
      ttlMs: cacheMs,
      maxEntries: 1000,
      maxWeight: PAGE_CACHE_BYTES,
      weigh: (page) => page.bytes.length,
    });
  }

  /** One page of results matching `criteria`, in the order `sort_by` asks. */
  async list(criteria: ResultCriteria, query: PageQuery & { sort_by?: string }): Promise<JsonText<Schemas['Results']>> {
    const sort = parseResultSort(query.sort_by);
    const window = pageWindow(query);
    // A page is remembered no longer than the count it carries.
    let countedAt: number | undefined;
    const load = async (remembered: boolean) => {
      const where = await resultWhere(this.db.prisma, criteria);
      const items = await findResults(this.db.prisma, where, sort, window);
      // A page that is not full and not past the end tells the total itself:
      // narrow filters and searches then need no count at all.
      if (items.length < window.take && (items.length > 0 || window.skip === 0)) {
        return toPageText<Schemas['Result']>(query, items, window.skip + items.length);
      }
      const count = () => countResults(this.db.prisma, criteria, where);
      if (!remembered) return toPageText<Schemas['Result']>(query, items, await count());
      const counted = await this.counts.getDated(JSON.stringify(criteria), count);
      countedAt = counted.at;
      return toPageText<Schemas['Result']>(query, items, counted.value);
    };
    // Deaf to other instances' writes: nothing remembered can be trusted.
    if (!(await this.changes.sync())) return load(false);
    const key = JSON.stringify([criteria, sort, window]);
    return (
      await this.pages.getDated(
        key,
        () => load(true),
        () => countedAt,
      )
    ).value;
  }
}
