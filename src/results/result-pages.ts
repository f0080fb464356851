// Pages of results (ListResults, SearchResults, ListUserResults), written by
// PostgreSQL as JSON (db/results-query.ts) and remembered briefly
// (page-cache.ts): a page costs the database a few milliseconds and its
// count as much again (docs/PERFORMANCE.md), and the same pages are asked for
// again and again (a front end's first page, a notebook re-run).
import type { Schemas } from '../api-types.js';
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

  /** Pages and counts are remembered for `cacheMs`, and forgotten as soon as `generation` moves. */
  constructor(
    private readonly db: Database,
    generation: WriteGeneration,
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
    const key = JSON.stringify([criteria, sort, window]);
    // A page is remembered no longer than the count it carries.
    let countedAt: number | undefined;
    const load = async () => {
      const where = await resultWhere(this.db.prisma, criteria);
      const items = await findResults(this.db.prisma, where, sort, window);
      // A page that is not full and not past the end tells the total itself:
      // narrow filters and searches then need no count at all.
      if (items.length < window.take && (items.length > 0 || window.skip === 0)) {
        return toPageText<Schemas['Result']>(query, items, window.skip + items.length);
      }
      const count = await this.counts.getDated(JSON.stringify(criteria), () => countResults(this.db.prisma, where));
      countedAt = count.at;
      return toPageText<Schemas['Result']>(query, items, count.value);
    };
    return (await this.pages.getDated(key, load, () => countedAt)).value;
  }
}
