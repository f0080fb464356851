// The `results` tag: what a benchmark measured on a flavor of a site. Public
// to read and filter (also by values inside the JSON), uploaded by users,
// validated against the benchmark's JSON Schema, claimable when wrong.
import type { Database } from '../db/client.js';
import { isForeignKeyViolation } from '../db/prisma-errors.js';
import { ReadCache } from '../db/read-cache.js';
import { countResults, findResult, findResults, lockResult, resultWhere, type ResultCriteria } from '../db/results-query.js';
import { JsonText } from '../http/json-text.js';
import { ForbiddenError, NotFoundError, UnprocessableError } from '../errors.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { toBenchmark } from './benchmarks.js';
import { requireUser } from './callers.js';
import type { Claims } from './claims.js';
import { toFlavor } from './flavors.js';
import { dateRange, pageWindow, readableOffset, toPageText, type PageQuery } from './lists.js';
import { parseFilter, parseResultSort } from './result-filters.js';
import type { ResultValidator } from './result-validation.js';
import { toSite } from './sites.js';
import { toTag } from './tags.js';
import type { Input, Schemas } from './types.js';
import { toUser } from './users.js';
import type { Caller } from '../auth/caller.js';

/** Clocks differ: an execution a little "in the future" is tolerated. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** `…T23:59:60…`: a leap second, valid for ajv and PostgreSQL, that `Date` cannot read. */
const LEAP_SECOND = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:)60/;

/**
 * The execution date-time of an upload. The spec's `date-time` format has
 * already demanded a zone; this reads the notations `Date` does not (`+02`,
 * a leap second, which PostgreSQL too counts as the next second) and answers
 * a 422, never a 500, for anything still unreadable.
 */
export function parseExecutionDatetime(text: string): Date {
  let iso = readableOffset(text.trim());
  const leap = LEAP_SECOND.test(iso);
  if (leap) iso = iso.replace(LEAP_SECOND, (_, minute: string) => `${minute}59`);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    throw new UnprocessableError(
      `execution_datetime: "${text.slice(0, 64)}" is not a date-time with a timezone, e.g. 2022-01-01T10:00:00Z`,
      {
        'query.execution_datetime': 'invalid date-time',
      },
    );
  }
  return leap ? new Date(date.getTime() + 1000) : date;
}

/** A result as the API shows it (as db/results-query.ts writes it too): its own columns and its context. */
function resultView(
  row: { id: string; json: unknown; execution_datetime: Date; upload_datetime: Date },
  context: Pick<Schemas['Result'], 'benchmark' | 'site' | 'flavor' | 'tags'>,
): Schemas['Result'] {
  return {
    id: row.id,
    upload_datetime: row.upload_datetime.toISOString(),
    execution_datetime: row.execution_datetime.toISOString(),
    json: row.json as Schemas['Result']['json'],
    ...context,
  };
}

/**
 * By code point, as the lists' `ORDER BY t.name COLLATE "C"` (UTF-8 bytes
 * order as code points do; JS's `<` compares UTF-16 units, which differs
 * above U+FFFF).
 */
function byName(a: Schemas['Tag'], b: Schemas['Tag']): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

/** The query parameters shared by ListResults and ListUserResults. */
export interface ResultListQuery extends PageQuery {
  benchmark_id?: string;
  site_id?: string;
  flavor_id?: string;
  tags_ids?: string[];
  execution_before?: string;
  execution_after?: string;
  upload_before?: string;
  upload_after?: string;
  filters?: string[];
  sort_by?: string;
}

/** Criteria of a list, from its query (filters parsed first: a bad one is a 422 before any SQL). */
export function listCriteria(query: ResultListQuery): ResultCriteria {
  const executed = dateRange('execution', query.execution_before, query.execution_after);
  const uploaded = dateRange('upload', query.upload_before, query.upload_after);
  return {
    ...(query.benchmark_id ? { benchmarkId: query.benchmark_id } : {}),
    ...(query.site_id ? { siteId: query.site_id } : {}),
    ...(query.flavor_id ? { flavorId: query.flavor_id } : {}),
    ...(query.tags_ids ? { tagIds: query.tags_ids } : {}),
    ...(executed ? { executed } : {}),
    ...(uploaded ? { uploaded } : {}),
    filters: (query.filters ?? []).map(parseFilter),
  };
}

function isOwnerOrAdmin(caller: Caller, row: { uploader_sub: string; uploader_iss: string }): boolean {
  return caller.isAdmin || (caller.identity.sub === row.uploader_sub && caller.identity.iss === row.uploader_iss);
}

/** Pages remembered at once: at most this many bytes of JSON (~100 default pages). */
const PAGE_CACHE_BYTES = 20_000_000;

export class ResultsService {
  /**
   * A page costs the database a few milliseconds and its count as much again
   * (docs/PERFORMANCE.md), and the same pages are asked for again and again
   * (a front end's first page, a notebook re-run): pages, and counts for the
   * other pages of a list, are remembered for `cacheMs` and forgotten at once
   * by any write through this process (db/read-cache.ts).
   */
  private readonly counts: ReadCache<number>;
  private readonly pages: ReadCache<JsonText<Schemas['Results']>>;

  constructor(
    private readonly db: Database,
    private readonly claims: Claims,
    private readonly validator: ResultValidator,
    cacheMs: number,
  ) {
    this.counts = new ReadCache(db.prisma, { ttlMs: cacheMs, maxEntries: 1000 });
    this.pages = new ReadCache(db.prisma, {
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

  listResults({ query }: Input<'ListResults'>): Promise<JsonText<Schemas['Results']>> {
    return this.list(listCriteria(query), query);
  }

  searchResults({ query }: Input<'SearchResults'>): Promise<JsonText<Schemas['Results']>> {
    const uploaded = dateRange('upload', query.upload_before, query.upload_after);
    return this.list({ terms: query.terms ?? [], ...(uploaded ? { uploaded } : {}) }, query);
  }

  async getResult({ params }: Input<'GetResult'>): Promise<JsonText<Schemas['Result']>> {
    // Claimed (hidden) results too: only lists and searches leave them out.
    const result = await findResult(this.db.prisma, params.result_id);
    if (result === undefined) throw new NotFoundError('Result', params.result_id);
    return new JsonText(result);
  }

  async createResult({ query, body, caller }: Input<'CreateResult'>): Promise<Schemas['Result']> {
    const { user } = requireUser(caller);
    const executed = parseExecutionDatetime(query.execution_datetime);
    if (executed.getTime() > Date.now() + CLOCK_SKEW_MS) {
      throw new UnprocessableError('execution_datetime lies in the future', { 'query.execution_datetime': 'in the future' });
    }
    const tagIds = [...new Set(query.tags_ids ?? [])];
    // Read once what the answer embeds; the insert then needs no second look.
    const [benchmark, flavor, tags] = await Promise.all([
      this.db.prisma.benchmark.findUnique({ where: { id: query.benchmark_id } }),
      this.db.prisma.flavor.findUnique({ where: { id: query.flavor_id }, include: { site: true } }),
      tagIds.length > 0 ? this.db.prisma.tag.findMany({ where: { id: { in: tagIds } } }) : [],
    ]);
    if (!benchmark) throw new NotFoundError('Benchmark', query.benchmark_id);
    if (!flavor) throw new NotFoundError('Flavor', query.flavor_id);
    if (benchmark.status !== 'approved') throw new UnprocessableError(`Benchmark ${benchmark.id} is not approved yet`);
    if (flavor.status !== 'approved') throw new UnprocessableError(`Flavor ${flavor.id} is not approved yet`);
    // Before the tags: a body that fails its schema is the first thing to hear about.
    await this.validator.assertValid(benchmark.json_schema as Record<string, unknown>, body);
    const missing = tagIds.find((id) => !tags.some((tag) => tag.id === id));
    if (missing) throw new NotFoundError('Tag', missing);
    try {
      const row = await this.db.prisma.result.create({
        data: {
          json: body as Prisma.InputJsonObject,
          execution_datetime: executed,
          benchmark_id: benchmark.id,
          flavor_id: flavor.id,
          site_id: flavor.site_id,
          uploader_sub: user.sub,
          uploader_iss: user.iss,
          tags: { createMany: { data: tagIds.map((tag_id) => ({ tag_id })) } },
        },
      });
      return resultView(row, {
        benchmark: toBenchmark(benchmark),
        site: toSite(flavor.site),
        flavor: toFlavor(flavor),
        tags: tags.map(toTag).sort(byName),
      });
    } catch (error) {
      // A tag, or the benchmark or flavor, vanished or never existed.
      if (isForeignKeyViolation(error)) {
        throw (await this.missingTag(tagIds)) ?? new NotFoundError('Benchmark or flavor', `${benchmark.id} / ${flavor.id}`);
      }
      throw error;
    }
  }

  /** After a foreign key failed: the first of `tagIds` that does not exist, as a 404. */
  private async missingTag(tagIds: string[]): Promise<NotFoundError | undefined> {
    const tags = await this.db.prisma.tag.findMany({ where: { id: { in: tagIds } }, select: { id: true } });
    const known = new Set(tags.map((tag) => tag.id));
    const missing = tagIds.find((id) => !known.has(id));
    return missing ? new NotFoundError('Tag', missing) : undefined;
  }

  async deleteResult({ params }: Input<'DeleteResult'>): Promise<void> {
    const { count } = await this.db.prisma.result.deleteMany({ where: { id: params.result_id } });
    if (count === 0) throw new NotFoundError('Result', params.result_id);
  }

  claimReport({ params, body, caller }: Input<'ClaimReport'>): Promise<Schemas['Claim']> {
    const { user } = requireUser(caller);
    return this.claims.file(params.result_id, body.message, user);
  }

  async updateResult({ params, body, caller }: Input<'UpdateResult'>): Promise<void> {
    const owner = requireUser(caller);
    const tagIds = [...new Set(body.tags_ids ?? [])];
    try {
      await this.db.prisma.$transaction(async (tx) => {
        // The row lock serialises concurrent replacements: each one sees the
        // tags the previous one left, and the last one wins whole.
        const result = await lockResult(tx, params.result_id);
        if (!result) throw new NotFoundError('Result', params.result_id);
        if (!isOwnerOrAdmin(owner, result)) throw new ForbiddenError('Only the uploader or an administrator may change its tags');
        await tx.resultTag.deleteMany({ where: { result_id: params.result_id } });
        await tx.resultTag.createMany({ data: tagIds.map((tag_id) => ({ result_id: params.result_id, tag_id })) });
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw (await this.missingTag(tagIds)) ?? new NotFoundError('Result', params.result_id);
      throw error;
    }
  }

  async listResultClaims({ params, query, caller }: Input<'ListResultClaims'>): Promise<Schemas['Claims']> {
    const known = requireUser(caller);
    const result = await this.db.prisma.result.findUnique({
      where: { id: params.result_id },
      select: { uploader_sub: true, uploader_iss: true },
    });
    if (!result) throw new NotFoundError('Result', params.result_id);
    if (!isOwnerOrAdmin(known, result)) throw new ForbiddenError('Only the uploader or an administrator may read its claims');
    return this.claims.list(query, { result_id: params.result_id });
  }

  async resultUploader({ params }: Input<'ResultUploader'>): Promise<Schemas['User']> {
    const row = await this.db.prisma.result.findUnique({ where: { id: params.result_id }, include: { uploader: true } });
    if (!row) throw new NotFoundError('Result', params.result_id);
    return toUser(row.uploader);
  }
}
