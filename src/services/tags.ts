// The `tags` tag: free labels users attach to results. No review.
import type { Prisma } from '../../generated/prisma/client.js';
import type { Input, QueryOf, Schemas } from '../api-types.js';
import type { Database } from '../db/client.js';
import { deleteOrExplain, writeOrExplain } from '../db/prisma-errors.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { listPage } from '../lists/pages.js';
import { containsLiteral, termsWhere } from '../lists/search.js';
import { columnOrder } from '../lists/sorting.js';
import { toTag } from '../views.js';

const SORT_FIELDS = ['id', 'name', 'description'] as const;

function duplicate(name: string): ConflictError {
  return new ConflictError(`A tag named "${name}" already exists`, { 'body.name': 'already exists' });
}

function notFound(id: string): NotFoundError {
  return new NotFoundError('Tag', id);
}

export class TagsService {
  constructor(private readonly db: Database) {}

  private list(query: QueryOf<'ListTags' | 'SearchTag'>, where: Prisma.TagWhereInput): Promise<Schemas['Tags']> {
    const orderBy = columnOrder(query.sort_by, '+name', SORT_FIELDS);
    return listPage(this.db.prisma.tag, query, { where, orderBy }, toTag);
  }

  listTags({ query }: Input<'ListTags'>): Promise<Schemas['Tags']> {
    return this.list(query, query.name !== undefined ? { name: query.name } : {});
  }

  searchTag({ query }: Input<'SearchTag'>): Promise<Schemas['Tags']> {
    return this.list(
      query,
      termsWhere(query.terms, (term) => [{ name: containsLiteral(term) }, { description: containsLiteral(term) }]),
    );
  }

  async getTag({ params }: Input<'GetTag'>): Promise<Schemas['Tag']> {
    const row = await this.db.prisma.tag.findUnique({ where: { id: params.tag_id } });
    if (!row) throw notFound(params.tag_id);
    return toTag(row);
  }

  async createTag({ body }: Input<'CreateTag'>): Promise<Schemas['Tag']> {
    const row = await writeOrExplain(() => this.db.prisma.tag.create({ data: { name: body.name, description: body.description ?? '' } }), {
      duplicate: () => duplicate(body.name),
    });
    return toTag(row);
  }

  async updateTag({ params, body }: Input<'UpdateTag'>): Promise<void> {
    await writeOrExplain(
      () => this.db.prisma.tag.update({ where: { id: params.tag_id }, data: { name: body.name, description: body.description ?? '' } }),
      { notFound: () => notFound(params.tag_id), duplicate: () => duplicate(body.name) },
    );
  }

  async deleteTag({ params }: Input<'DeleteTag'>): Promise<void> {
    // Results keep existing; only their link to this tag goes (cascade on result_tags).
    await deleteOrExplain(
      () => this.db.prisma.tag.deleteMany({ where: { id: params.tag_id } }),
      () => notFound(params.tag_id),
    );
  }
}
