// The `results` tag: what a benchmark measured on a flavor of a site. Public
// to read and filter (also by values inside the JSON), uploaded by users,
// validated against the benchmark's JSON Schema, claimable when wrong.
import type { Input, Output, Schemas } from '../api-types.js';
import { isOwnerOrAdmin, requireUser } from '../auth/caller.js';
import type { Database } from '../db/client.js';
import { deleteOrExplain, writeOrExplain } from '../db/prisma-errors.js';
import { insertResult } from '../db/result-insert.js';
import { lockResult } from '../db/results-query.js';
import { ConflictError, ForbiddenError, InvalidStateError, NotFoundError } from '../errors.js';
import type { Download } from '../http/download.js';
import type { JsonText } from '../http/json-text.js';
import { dateRange } from '../lists/dates.js';
import type { ClaimWorkflow } from '../results/claims.js';
import { listCriteria } from '../results/criteria.js';
import { parseExecutionDatetime } from '../results/execution-date.js';
import type { GroupStatistics } from '../results/group-statistics.js';
import type { ResultExports } from '../results/result-export.js';
import type { ResultPages } from '../results/result-pages.js';
import { storedUpload, uploadKey } from '../results/upload-keys.js';
import type { ResultValidator } from '../results/validation/validator.js';
import { toResult, toUser } from '../views.js';

export class ResultsService {
  constructor(
    private readonly db: Database,
    private readonly pages: ResultPages,
    private readonly claims: ClaimWorkflow,
    private readonly validator: ResultValidator,
    private readonly statistics: GroupStatistics,
    private readonly exports: ResultExports,
  ) {}

  listResults({ query }: Input<'ListResults'>): Promise<Output<'ListResults'>> {
    return this.pages.list(listCriteria(query), query);
  }

  searchResults({ query }: Input<'SearchResults'>): Promise<Output<'SearchResults'>> {
    const uploaded = dateRange('upload', query.upload_before, query.upload_after);
    return this.pages.list({ terms: query.terms ?? [], ...(uploaded ? { uploaded } : {}) }, query);
  }

  resultStatistics({ query }: Input<'ResultStatistics'>): Promise<Schemas['Statistics']> {
    return this.statistics.get(query);
  }

  exportResults({ query, headers }: Input<'ExportResults'>): Promise<Download> {
    // Accept is not a parameter a spec may declare, so it is read as it came.
    const accept = (headers as Record<string, string | string[] | undefined>).accept;
    return this.exports.start(query, typeof accept === 'string' ? accept : undefined);
  }

  async getResult({ params }: Input<'GetResult'>): Promise<JsonText<Schemas['Result']>> {
    // Claimed (hidden) results too: only lists and searches leave them out.
    const result = await this.pages.find(params.result_id);
    if (result === undefined) throw new NotFoundError('Result', params.result_id);
    return result;
  }

  async createResult({ query, body, headers, caller }: Input<'CreateResult'>): Promise<Output<'CreateResult'>> {
    const { user } = requireUser(caller);
    const executed = parseExecutionDatetime(query.execution_datetime);
    const tagIds = [...new Set(query.tags_ids ?? [])];
    const key = headers['idempotency-key'];
    const upload =
      key === undefined
        ? undefined
        : uploadKey(key, { benchmark_id: query.benchmark_id, flavor_id: query.flavor_id, execution_datetime: executed, tagIds, body });
    // A retry of an upload already stored: its result, whatever changed since (a schema, an approval).
    const replay = upload && (await storedUpload(this.db, user, upload, (id) => this.pages.find(id)));
    if (replay) return replay;
    // Read once what the answer embeds; the insert then needs no second look.
    const [benchmark, flavor, tags] = await Promise.all([
      this.db.prisma.benchmark.findUnique({ where: { id: query.benchmark_id } }),
      this.db.prisma.flavor.findUnique({ where: { id: query.flavor_id }, include: { site: true } }),
      tagIds.length > 0 ? this.db.prisma.tag.findMany({ where: { id: { in: tagIds } } }) : [],
    ]);
    if (!benchmark) throw new NotFoundError('Benchmark', query.benchmark_id);
    if (!flavor) throw new NotFoundError('Flavor', query.flavor_id);
    if (benchmark.status !== 'approved') throw new InvalidStateError(`Benchmark ${benchmark.id} is not approved yet`);
    if (flavor.status !== 'approved') throw new InvalidStateError(`Flavor ${flavor.id} is not approved yet`);
    // Before the tags: a body that fails its schema is the first thing to hear about.
    await this.validator.assertValid(benchmark.json_schema as Record<string, unknown>, body);
    const missing = tagIds.find((id) => !tags.some((tag) => tag.id === id));
    if (missing) throw new NotFoundError('Tag', missing);
    const row = await writeOrExplain(
      () =>
        insertResult(this.db.prisma, {
          json: body,
          execution_datetime: executed,
          benchmark_id: benchmark.id,
          flavor_id: flavor.id,
          site_id: flavor.site_id,
          uploader: user,
          tagIds,
          ...(upload ? { upload } : {}),
        }),
      // A tag, or the benchmark or flavor, vanished since they were read.
      {
        missingReference: async () =>
          (await this.missingTag(tagIds)) ?? new NotFoundError('Benchmark or flavor', `${benchmark.id} / ${flavor.id}`),
      },
    );
    if (row) return toResult({ ...row, json: body, execution_datetime: executed }, { benchmark, site: flavor.site, flavor, tags });
    // The key was taken meanwhile: by a concurrent retry of this upload, which committed first.
    const stored = upload && (await storedUpload(this.db, user, upload, (id) => this.pages.find(id)));
    if (!stored) throw new ConflictError('The upload with this Idempotency-Key was deleted while this one was stored; send it again');
    return stored;
  }

  /** After a foreign key failed: the first of `tagIds` that does not exist, as a 404. */
  private async missingTag(tagIds: string[]): Promise<NotFoundError | undefined> {
    const tags = await this.db.prisma.tag.findMany({ where: { id: { in: tagIds } }, select: { id: true } });
    const known = new Set(tags.map((tag) => tag.id));
    const missing = tagIds.find((id) => !known.has(id));
    return missing ? new NotFoundError('Tag', missing) : undefined;
  }

  async deleteResult({ params }: Input<'DeleteResult'>): Promise<void> {
    await deleteOrExplain(
      () => this.db.prisma.result.deleteMany({ where: { id: params.result_id } }),
      () => new NotFoundError('Result', params.result_id),
    );
  }

  claimReport({ params, body, caller }: Input<'ClaimReport'>): Promise<Schemas['Claim']> {
    const { user } = requireUser(caller);
    return this.claims.file(params.result_id, body.message, user);
  }

  async updateResult({ params, body, caller }: Input<'UpdateResult'>): Promise<void> {
    const owner = requireUser(caller);
    const tagIds = [...new Set(body.tags_ids ?? [])];
    await writeOrExplain(
      () =>
        this.db.prisma.$transaction(async (tx) => {
          // The row lock serialises concurrent replacements: each one sees the
          // tags the previous one left, and the last one wins whole.
          const result = await lockResult(tx, params.result_id);
          if (!result) throw new NotFoundError('Result', params.result_id);
          if (!isOwnerOrAdmin(owner, result)) throw new ForbiddenError('Only the uploader or an administrator may change its tags');
          await tx.resultTag.deleteMany({ where: { result_id: params.result_id } });
          await tx.resultTag.createMany({ data: tagIds.map((tag_id) => ({ result_id: params.result_id, tag_id })) });
        }),
      { missingReference: async () => (await this.missingTag(tagIds)) ?? new NotFoundError('Result', params.result_id) },
    );
  }

  listResultClaims({ params, query }: Input<'ListResultClaims'>): Promise<Schemas['Claims']> {
    // Who may read them (the uploader or an administrator; 404 for an unknown
    // result) was decided before validation: services/index.ts `authorizers`.
    return this.claims.list(query, { result_id: params.result_id });
  }

  async resultUploader({ params }: Input<'ResultUploader'>): Promise<Schemas['User']> {
    const row = await this.db.prisma.result.findUnique({ where: { id: params.result_id }, include: { uploader: true } });
    if (!row) throw new NotFoundError('Result', params.result_id);
    return toUser(row.uploader);
  }
}
