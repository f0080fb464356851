// The `benchmarks` tag: container images with the JSON Schema of their
// results, uploaded by users and reviewed by administrators.
import { Prisma } from '../../generated/prisma/client.js';
import type { Input, QueryOf, Schemas } from '../api-types.js';
import { requireUser, userRef } from '../auth/caller.js';
import type { ImageRegistry } from '../catalog/image-registry.js';
import { approveResource, type Reviewable, rejectResource, statusFilter } from '../catalog/review.js';
import type { Database } from '../db/client.js';
import { deleteOrExplain, writeOrExplain } from '../db/prisma-errors.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { uploadedWithin } from '../lists/dates.js';
import { listPage } from '../lists/pages.js';
import { containsLiteral, termsWhere } from '../lists/search.js';
import { columnOrder } from '../lists/sorting.js';
import type { Notifier } from '../notifications/index.js';
import { assertBenchmarkSchema } from '../results/validation/benchmark-schema.js';
import { toBenchmark } from '../views.js';

const SORT_FIELDS = ['id', 'upload_datetime', 'docker_image', 'docker_tag'] as const;

const review: Reviewable = {
  resource: 'Benchmark',
  kind: 'benchmark',
  model: (tx) => tx.benchmark,
  summary: async (tx, id) => {
    const row = await tx.benchmark.findUnique({ where: { id }, include: { uploader: { select: { email: true } } } });
    return row && { name: `${row.docker_image}:${row.docker_tag}`, uploader: row.uploader };
  },
  submitOf: (id) => ({ benchmark_id: id }),
};

/**
 * What a client sets on a benchmark, from a create or update body (read-only
 * fields ignored). An absent `parameters_schema` is left as it is; `null`
 * (update only) removes it.
 */
function editableFields(body: Schemas['CreateBenchmark'] | Schemas['UpdateBenchmark']) {
  const parameters = body.parameters_schema;
  return {
    docker_image: body.docker_image,
    docker_tag: body.docker_tag,
    json_schema: body.json_schema as Prisma.InputJsonObject,
    url: body.url ?? null,
    description: body.description ?? '',
    ...(parameters === undefined
      ? {}
      : { parameters_schema: parameters === null ? Prisma.DbNull : (parameters as Prisma.InputJsonObject) }),
  };
}

/** Both schemas a body may carry: a 422 unless results and run parameters can be checked with them. */
function assertSchemas(body: Schemas['CreateBenchmark'] | Schemas['UpdateBenchmark']): void {
  assertBenchmarkSchema(body.json_schema);
  if (body.parameters_schema) assertBenchmarkSchema(body.parameters_schema, 'parameters_schema');
}

function duplicate(image: string, tag: string): ConflictError {
  return new ConflictError(`A benchmark for ${image}:${tag} already exists`, { body: 'docker_image and docker_tag' });
}

function notFound(id: string): NotFoundError {
  return new NotFoundError('Benchmark', id);
}

export class BenchmarksService {
  constructor(
    private readonly db: Database,
    private readonly notifier: Notifier,
    private readonly registry?: ImageRegistry,
  ) {}

  private list(query: QueryOf<'ListBenchmarks' | 'SearchBenchmarks'>, where: Prisma.BenchmarkWhereInput): Promise<Schemas['Benchmarks']> {
    const orderBy = columnOrder(query.sort_by, '+docker_image', SORT_FIELDS);
    const filter = { ...where, ...statusFilter(query.status), ...uploadedWithin(query) };
    return listPage(this.db.prisma.benchmark, query, { where: filter, orderBy }, toBenchmark);
  }

  listBenchmarks({ query }: Input<'ListBenchmarks'>): Promise<Schemas['Benchmarks']> {
    return this.list(query, {
      ...(query.docker_image !== undefined ? { docker_image: query.docker_image } : {}),
      ...(query.docker_tag !== undefined ? { docker_tag: query.docker_tag } : {}),
    });
  }

  searchBenchmarks({ query }: Input<'SearchBenchmarks'>): Promise<Schemas['Benchmarks']> {
    return this.list(
      query,
      termsWhere(query.terms, (term) => [
        { docker_image: containsLiteral(term) },
        { docker_tag: containsLiteral(term) },
        { description: containsLiteral(term) },
      ]),
    );
  }

  async getBenchmark({ params }: Input<'GetBenchmark'>): Promise<Schemas['Benchmark']> {
    const row = await this.db.prisma.benchmark.findUnique({ where: { id: params.benchmark_id } });
    if (!row) throw notFound(params.benchmark_id);
    return toBenchmark(row);
  }

  async createBenchmark({ body, caller }: Input<'CreateBenchmark'>): Promise<Schemas['Benchmark']> {
    const { user } = requireUser(caller);
    assertSchemas(body);
    await this.registry?.assertImageExists(body.docker_image, body.docker_tag);
    const row = await writeOrExplain(
      () =>
        this.db.prisma.benchmark.create({
          data: {
            ...editableFields(body),
            uploader_sub: user.sub,
            uploader_iss: user.iss,
            // The submit is written in the same statement: never one without the other.
            submit: { create: { resource_type: 'benchmark' } },
          },
        }),
      { duplicate: () => duplicate(body.docker_image, body.docker_tag) },
    );
    const name = `${row.docker_image}:${row.docker_tag}`;
    this.notifier.notify({ type: 'resource_submitted', resource: 'benchmark', id: row.id, name, uploader: userRef(user) });
    return toBenchmark(row);
  }

  async updateBenchmark({ params, body }: Input<'UpdateBenchmark'>): Promise<void> {
    assertSchemas(body);
    await this.registry?.assertImageExists(body.docker_image, body.docker_tag);
    await writeOrExplain(() => this.db.prisma.benchmark.update({ where: { id: params.benchmark_id }, data: editableFields(body) }), {
      notFound: () => notFound(params.benchmark_id),
      duplicate: () => duplicate(body.docker_image, body.docker_tag),
    });
  }

  async deleteBenchmark({ params }: Input<'DeleteBenchmark'>): Promise<void> {
    // Its results and its submit go with it (foreign keys cascade).
    await deleteOrExplain(
      () => this.db.prisma.benchmark.deleteMany({ where: { id: params.benchmark_id } }),
      () => notFound(params.benchmark_id),
    );
  }

  approveBenchmark({ params }: Input<'ApproveBenchmark'>): Promise<void> {
    return approveResource(this.db, this.notifier, review, params.benchmark_id);
  }

  rejectBenchmark({ params }: Input<'RejectBenchmark'>): Promise<void> {
    return rejectResource(this.db, this.notifier, review, params.benchmark_id);
  }
}
