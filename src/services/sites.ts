// The `sites` tag: the providers where benchmarks run, uploaded by users and
// reviewed by administrators. Their flavors are the `flavors` tag.
import type { Database } from '../db/client.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Prisma, Site as SiteRow } from '../../generated/prisma/client.js';
import { requireUser, userRef } from './callers.js';
import { columnOrder, containsLiteral, paginate, termsWhere, uploadedWithin, type PageQuery } from './lists.js';
import { isRecordNotFound, isUniqueViolation } from '../db/prisma-errors.js';
import { approveResource, rejectResource, statusFilter, type Reviewable } from './review.js';
import type { Notifier } from '../notifications/index.js';
import type { Input, Schemas } from './types.js';

const SORT_FIELDS = ['id', 'upload_datetime', 'name', 'address'] as const;

export function toSite(row: SiteRow): Schemas['Site'] {
  return {
    id: row.id,
    upload_datetime: row.upload_datetime.toISOString(),
    name: row.name,
    address: row.address,
    description: row.description,
    status: row.status,
  };
}

const review: Reviewable = {
  resource: 'Site',
  kind: 'site',
  summary: async (tx, id) => {
    const row = await tx.site.findUnique({ where: { id }, include: { uploader: { select: { email: true } } } });
    return row && { name: row.name, uploader: row.uploader };
  },
  approveOnReview: (tx, id) => tx.site.updateMany({ where: { id, status: 'on_review' }, data: { status: 'approved' } }),
  deleteOnReview: (tx, id) => tx.site.deleteMany({ where: { id, status: 'on_review' } }),
  exists: async (tx, id) => (await tx.site.count({ where: { id } })) > 0,
  submitOf: (id) => ({ site_id: id }),
};

function duplicate(name: string): ConflictError {
  return new ConflictError(`A site named "${name}" already exists`, { 'body.name': 'already exists' });
}

interface SiteQuery extends PageQuery {
  status?: 'approved' | 'on_review';
  upload_before?: string;
  upload_after?: string;
  sort_by?: string;
}

export class SitesService {
  constructor(
    private readonly db: Database,
    private readonly notifier: Notifier,
  ) {}

  private list(query: SiteQuery, where: Prisma.SiteWhereInput): Promise<Schemas['Sites']> {
    const filter: Prisma.SiteWhereInput = { ...where, ...statusFilter(query.status), ...uploadedWithin(query) };
    const orderBy = columnOrder(query.sort_by, '+name', SORT_FIELDS);
    return paginate(
      query,
      () => this.db.prisma.site.count({ where: filter }),
      async (window) => (await this.db.prisma.site.findMany({ where: filter, orderBy, ...window })).map(toSite),
    );
  }

  listSites({ query }: Input<'ListSites'>): Promise<Schemas['Sites']> {
    return this.list(query, {
      ...(query.name !== undefined ? { name: query.name } : {}),
      ...(query.address !== undefined ? { address: query.address } : {}),
    });
  }

  searchSites({ query }: Input<'SearchSites'>): Promise<Schemas['Sites']> {
    return this.list(
      query,
      termsWhere(query.terms, (term) => [
        { name: containsLiteral(term) },
        { address: containsLiteral(term) },
        { description: containsLiteral(term) },
      ]),
    );
  }

  async getSite({ params }: Input<'GetSite'>): Promise<Schemas['Site']> {
    const row = await this.db.prisma.site.findUnique({ where: { id: params.site_id } });
    if (!row) throw new NotFoundError('Site', params.site_id);
    return toSite(row);
  }

  async createSite({ body, caller }: Input<'CreateSite'>): Promise<Schemas['Site']> {
    const { user } = requireUser(caller);
    let row: SiteRow;
    try {
      row = await this.db.prisma.site.create({
        data: {
          name: body.name,
          address: body.address,
          description: body.description ?? '',
          uploader_sub: user.sub,
          uploader_iss: user.iss,
          submit: { create: { resource_type: 'site' } },
        },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicate(body.name);
      throw error;
    }
    this.notifier.notify({ type: 'resource_submitted', resource: 'site', id: row.id, name: row.name, uploader: userRef(user) });
    return toSite(row);
  }

  async updateSite({ params, body }: Input<'UpdateSite'>): Promise<void> {
    try {
      await this.db.prisma.site.update({
        where: { id: params.site_id },
        data: { name: body.name, address: body.address, description: body.description ?? '' },
      });
    } catch (error) {
      if (isRecordNotFound(error)) throw new NotFoundError('Site', params.site_id);
      if (isUniqueViolation(error)) throw duplicate(body.name);
      throw error;
    }
  }

  async deleteSite({ params }: Input<'DeleteSite'>): Promise<void> {
    // Its flavors, their results and the submits go with it (foreign keys cascade).
    const { count } = await this.db.prisma.site.deleteMany({ where: { id: params.site_id } });
    if (count === 0) throw new NotFoundError('Site', params.site_id);
  }

  approveSite({ params }: Input<'ApproveSite'>): Promise<void> {
    return approveResource(this.db, this.notifier, review, params.site_id);
  }

  rejectSite({ params }: Input<'RejectSite'>): Promise<void> {
    return rejectResource(this.db, this.notifier, review, params.site_id);
  }
}
