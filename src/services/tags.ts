// The `tags` tag: free labels users attach to results. No review.
import type { Database } from '../db/client.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Prisma, Tag as TagRow } from '../../generated/prisma/client.js';
import { columnOrder, containsLiteral, paginate, termsWhere, type PageQuery } from './lists.js';
import { isRecordNotFound, isUniqueViolation } from '../db/prisma-errors.js';
import type { Input, Schemas } from './types.js';

const SORT_FIELDS = ['id', 'name'] as const;

export function toTag(row: TagRow): Schemas['Tag'] {
  return { id: row.id, name: row.name, description: row.description };
}

function duplicate(name: string): ConflictError {
  return new ConflictError(`A tag named "${name}" already exists`, { 'body.name': 'already exists' });
}

export class TagsService {
  constructor(private readonly db: Database) {}

  private list(query: PageQuery & { sort_by?: string }, where: Prisma.TagWhereInput): Promise<Schemas['Tags']> {
    const orderBy = columnOrder(query.sort_by, '+name', SORT_FIELDS);
    return paginate(
      query,
      () => this.db.prisma.tag.count({ where }),
      async (window) => (await this.db.prisma.tag.findMany({ where, orderBy, ...window })).map(toTag),
    );
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
    if (!row) throw new NotFoundError('Tag', params.tag_id);
    return toTag(row);
  }

  async createTag({ body }: Input<'CreateTag'>): Promise<Schemas['Tag']> {
    try {
      return toTag(await this.db.prisma.tag.create({ data: { name: body.name, description: body.description ?? '' } }));
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicate(body.name);
      throw error;
    }
  }

  async updateTag({ params, body }: Input<'UpdateTag'>): Promise<void> {
    try {
      await this.db.prisma.tag.update({
        where: { id: params.tag_id },
        data: { name: body.name, description: body.description ?? '' },
      });
    } catch (error) {
      if (isRecordNotFound(error)) throw new NotFoundError('Tag', params.tag_id);
      if (isUniqueViolation(error)) throw duplicate(body.name);
      throw error;
    }
  }

  async deleteTag({ params }: Input<'DeleteTag'>): Promise<void> {
    // Results keep existing; only their link to this tag goes (cascade on result_tags).
    const { count } = await this.db.prisma.tag.deleteMany({ where: { id: params.tag_id } });
    if (count === 0) throw new NotFoundError('Tag', params.tag_id);
  }
}
