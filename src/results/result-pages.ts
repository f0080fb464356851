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
import {
  countResults,
  findResult,
  findResults,
  countIsKept,
  type PageStart,
  type ResultCriteria,
  type ResultRow,
  resultWhere,
} from '../db/results-query.js';
import type { CatalogFragments } from './catalog-fragments.js';
import { JsonText } from '../http/json-text.js';
import { type PageQuery, pageWindow, toPageText } from '../lists/pages.js';
import { ReadCache, type WriteGeneration } from './page-cache.js';
import { catalogIds, resultParts, summaryParts } from './result-json.js';
import { readCursor, writeCursor } from './page-cursor.js';
import { parseResultSort } from './sorting.js';

/** Pages remembered at once: at most this many bytes of JSON (~100 default pages). */
const PAGE_CACHE_BYTES = 20_000_000;

/** How often a page is read again while catalog entries it names are being deleted. */
const MAX_READS = 3;

/** Items of a page, and what its rows told beside them. */
interface PageItems {
  items: Buffer[][];
  /** Every match, when the rows were counted in the same pass. */
  total?: number;
  /** Where the page after the last row would start. */
  keys?: PageStart;
}

function pageItems(rows: ResultRow[], items: Buffer[][]): PageItems {
  const [first, last] = [rows[0], rows.at(-1)];
  return { items, ...(first?.total !== undefined ? { total: first.total } : {}), ...(last?.keys ? { keys: last.keys } : {}) };
}

/** Summaries of the rows `read` returns: nothing to look up, so nothing to read again. */
async function summaries(read: () => Promise<ResultRow[]>): Promise<PageItems> {
  const rows = await read();
  return pageItems(rows, rows.map(summaryParts));
}

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
    private readonly fragments: CatalogFragments,
    cacheMs: number,
  ) {
    this.counts = new ReadCache(generation, { ttlMs: cacheMs, maxEntries: 1000 });
    this.pages = new ReadCache(generation, {
      ttlMs: cacheMs,
      maxEntries: 1000,
      maxWeight: PAGE_CACHE_BYTES,
      // Its compressed copies, once asked for, add a tenth or so.
      weigh: (page) => Math.round(page.bytes.length * 1.2),
    });
  }

  /** How often pages and counts were answered from memory, and read from the database (/metrics). */
  get stats(): { pages: { hits: number; misses: number }; counts: { hits: number; misses: number } } {
    return {
      pages: { hits: this.pages.hits, misses: this.pages.misses },
      counts: { hits: this.counts.hits, misses: this.counts.misses },
    };
  }

  /**
   * One page of results matching `criteria`, in the order `sort_by` asks:
   * each with its catalog entries embedded, or (`embed: false`) their ids.
   * `after`: the page starts just after the result its cursor stands for
   * (page-cursor.ts), whatever `page` says; the envelope still tells `page`.
   */
  async list(
    criteria: ResultCriteria,
    query: PageQuery & { sort_by?: string; embed?: boolean; after?: string },
  ): Promise<JsonText<Schemas['Results'] | Schemas['ResultSummaries']>> {
    const embed = query.embed ?? true;
    const sort = parseResultSort(query.sort_by);
    const after = query.after === undefined ? undefined : readCursor(query.after, sort);
    const window = after ? { skip: 0, take: pageWindow(query).take } : pageWindow(query);
    const point = await this.changes.sync();
    // A page is remembered no longer than the count it carries.
    let countedAt: number | undefined;
    // Whether a result follows the page's: one more is read to know it.
    let more = false;
    // On a read replica that has every commit the sync heard of, if there is one.
    const load = (trusted: boolean) =>
      this.db.readAsOf(point.walEnd, async (prisma) => {
        const where = await resultWhere(prisma, criteria);
        // Counts the database does not keep are taken in the same pass as the page.
        const read = async () => {
          const rows = await findResults(prisma, where, sort, {
            window: { skip: window.skip, take: window.take + 1 },
            counted: !countIsKept(criteria),
            ...(after ? { after } : {}),
          });
          more = rows.length > window.take;
          return rows.slice(0, window.take);
        };
        const { items, total, keys } = embed ? await this.render(read, trusted) : await summaries(read);
        const cursor = more && keys ? writeCursor(sort, keys) : undefined;
        const following = more ? (cursor ? { after: cursor } : {}) : undefined;
        const page = (count: number) => toPageText<Schemas['Result']>(query, items, count, following);
        // A page that is not full and not past the end tells the total itself:
        // narrow filters and searches then need no count at all. Not after a
        // cursor: what came before it is not known.
        if (!after && items.length < window.take && (items.length > 0 || window.skip === 0)) return page(window.skip + items.length);
        if (total !== undefined) return page(total);
        const count = () => countResults(prisma, criteria, where);
        if (!trusted) return page(await count());
        const counted = await this.counts.getDated(JSON.stringify(criteria), count);
        countedAt = counted.at;
        return page(counted.value);
      });
    // Deaf to other instances' writes: nothing remembered can be trusted.
    if (!point.heard) return load(false);
    const key = JSON.stringify([criteria, sort, query.page, window, embed, query.after]);
    return (
      await this.pages.getDated(
        key,
        () => load(true),
        () => countedAt,
      )
    ).value;
  }

  /** One result, claimed (hidden) or not, as GET /results/{id} shows it; undefined when there is none. */
  async find(id: string): Promise<JsonText<Schemas['Result']> | undefined> {
    const point = await this.changes.sync();
    const {
      items: [item],
    } = await this.db.readAsOf(point.walEnd, (prisma) =>
      this.render(async () => {
        const row = await findResult(prisma, id);
        return row ? [row] : [];
      }, point.heard),
    );
    return item && new JsonText(item);
  }

  /**
   * The JSON parts of the results `read` returns, each with the catalog
   * entries it embeds. An entry deleted between reading the rows and reading
   * it took its results with it (a cascade), so the rows are read again.
   */
  private async render(read: () => Promise<ResultRow[]>, trusted: boolean): Promise<PageItems> {
    for (let attempt = 1; ; attempt += 1) {
      const rows = await read();
      const fragments = await this.fragments.lookup(catalogIds(rows), trusted);
      const items = rows.map((row) => resultParts(row, fragments));
      if (items.every((item) => item !== undefined)) return pageItems(rows, items);
      if (attempt === MAX_READS) throw new Error('results kept naming deleted catalog entries');
    }
  }
}
