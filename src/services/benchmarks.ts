// The `benchmarks` tag: container images with the JSON Schema of their
// results, uploaded by users and reviewed by administrators.
import type { Database } from '../db/client.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Benchmark as BenchmarkRow, Prisma } from '../../generated/prisma/client.js';
import { requireUser, userRef } from './callers.js';
import type { ImageRegistry } from './image-registry.js';
import { compileBenchmarkSchema } from './json-schema.js';
import { columnOrder, containsLiteral, paginate, termsWhere, uploadedWithin, type PageQuery } from './lists.js';
import { isRecordNotFound, isUniqueViolation } from '../db/prisma-errors.js';
import { approveResource, rejectResource, statusFilter, type Reviewable } from './review.js';
import type { Notifier } from '../notifications/index.js';
import type { Input, Schemas } from './types.js';

const SORT_FIELDS = ['id', 'upload_datetime', 'docker_image', 'docker_tag'] as const;

export function toBenchmark(row: BenchmarkRow): Schemas['Benchmark'] {
  return {
    id: row.id,
    upload_datetime: row.upload_datetime.toISOString(),
    docker_image: row.docker_image,
    docker_tag: row.docker_tag,
    url: row.url,
    json_schema: row.json_schema as Schemas['Benchmark']['json_schema'],
    description: row.description,
    status: row.status,
  };
}

const review: Reviewable = {
  resource: 'Benchmark',
  kind: 'benchmark',
  summary: async (tx, id) => {
    const row = await tx.benchmark.findUnique({ where: { id }, include: { uploader: { select: { email: true } } } });
    return row && { name: `${row.docker_image}:${row.docker_tag}`, uploader: row.uploader };
  },
  approveOnReview: (tx, id) => tx.benchmark.updateMany({ where: { id, status: 'on_review' }, data: { status: 'approved' } }),
  deleteOnReview: (tx, id) => tx.benchmark.deleteMany({ where: { id, status: 'on_review' } }),
  exists: async (tx, id) => (await tx.benchmark.count({ where: { id } })) > 0,
  submitOf: (id) => ({ benchmark_id: id }),
};

/** What a client sets on a benchmark, from a create or update body (read-only fields ignored). */
function editableFields(body: Schemas['CreateBenchmark'] | Schemas['UpdateBenchmark']) {
  return {
    docker_image: body.docker_image,
    docker_tag: body.docker_tag,
    json_schema: body.json_schema as Prisma.InputJsonObject,
    url: body.url ?? null,
    description: body.description ?? '',
  };
}

function duplicate(image: string, tag: string): ConflictError {
  return new ConflictError(`A benchmark for ${image}:${tag} already exists`, { body: 'docker_image and docker_tag' });
}

interface BenchmarkQuery extends PageQuery {
  status?: 'approved' | 'on_review';
  upload_before?: string;
  upload_after?: string;
  sort_by?: string;
}

export class BenchmarksService {
  constructor(
    private readonly db: Database,
    private readonly notifier: Notifier,
    private readonly registry?: ImageRegistry,
  ) {}

  private list(query: BenchmarkQuery, where: Prisma.BenchmarkWhereInput): Promise<Schemas['Benchmarks']> {
    const filter: Prisma.BenchmarkWhereInput = { ...where, ...statusFilter(query.status), ...uploadedWithin(query) };
    const orderBy = columnOrder(query.sort_by, '+docker_image', SORT_FIELDS);
    return paginate(
      query,
      () => this.db.prisma.benchmark.count({ where: filter }),
      async (window) => (await this.db.prisma.benchmark.findMany({ where: filter, orderBy, ...window })).map(toBenchmark),
    );
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
    if (!row) throw new NotFoundError('Benchmark', params.benchmark_id);
    return toBenchmark(row);
  }

  async createBenchmark({ body, caller }: Input<'CreateBenchmark'>): Promise<Schemas['Benchmark']> {
    const { user } = requireUser(caller);
    compileBenchmarkSchema(body.json_schema);
    await this.registry?.assertImageExists(body.docker_image, body.docker_tag);
    let row: BenchmarkRow;
    try {
      row = await this.db.prisma.benchmark.create({
        data: {
          ...editableFields(body),
          uploader_sub: user.sub,
          uploader_iss: user.iss,
          // The submit is written in the same statement: never one without the other.
          submit: { create: { resource_type: 'benchmark' } },
        },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicate(body.docker_image, body.docker_tag);
      throw error;
    }
    const name = `${row.docker_image}:${row.docker_tag}`;
    this.notifier.notify({ type: 'resource_submitted', resource: 'benchmark', id: row.id, name, uploader: userRef(user) });
    return toBenchmark(row);
  }

  async updateBenchmark({ params, body }: Input<'UpdateBenchmark'>): Promise<void> {
    compileBenchmarkSchema(body.json_schema);
    await this.registry?.assertImageExists(body.docker_image, body.docker_tag);
    try {
      await this.db.prisma.benchmark.update({
        where: { id: params.benchmark_id },
        data: editableFields(body),
      });
    } catch (error) {
      if (isRecordNotFound(error)) throw new NotFoundError('Benchmark', params.benchmark_id);
      if (isUniqueViolation(error)) throw duplicate(body.docker_image, body.docker_tag);
      throw error;
    }
  }

  async deleteBenchmark({ params }: Input<'DeleteBenchmark'>): Promise<void> {
    // Its results and its submit go with it (foreign keys cascade).
    const { count } = await this.db.prisma.benchmark.deleteMany({ where: { id: params.benchmark_id } });
    if (count === 0) throw new NotFoundError('Benchmark', params.benchmark_id);
  }

  approveBenchmark({ params }: Input<'ApproveBenchmark'>): Promise<void> {
    return approveResource(this.db, this.notifier, review, params.benchmark_id);
  }

  rejectBenchmark({ params }: Input<'RejectBenchmark'>): Promise<void> {
    return rejectResource(this.db, this.notifier, review, params.benchmark_id);
  }
}
