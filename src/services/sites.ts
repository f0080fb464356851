// The `sites` tag: the providers where benchmarks run, uploaded by users and
// reviewed by administrators. Their flavors are the `flavors` tag.
import type { Prisma } from '../../generated/prisma/client.js';
import type { Input, QueryOf, Schemas } from '../api-types.js';
import { requireUser, userRef } from '../auth/caller.js';
import { approveResource, type Reviewable, rejectResource, statusFilter } from '../catalog/review.js';
import type { Database } from '../db/client.js';
import { deleteOrExplain, writeOrExplain } from '../db/prisma-errors.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { uploadedWithin } from '../lists/dates.js';
import { listPage } from '../lists/pages.js';
import { containsLiteral, termsWhere } from '../lists/search.js';
import { columnOrder } from '../lists/sorting.js';
import type { Notifier } from '../notifications/index.js';
import { toSite } from '../views.js';

const SORT_FIELDS = ['id', 'upload_datetime', 'name', 'address'] as const;

const review: Reviewable = {
  resource: 'Site',
  kind: 'site',
  model: (tx) => tx.site,
  summary: async (tx, id) => {
    const row = await tx.site.findUnique({ where: { id }, include: { uploader: { select: { email: true } } } });
    return row && { name: row.name, uploader: row.uploader };
  },
  submitOf: (id) => ({ site_id: id }),
};

function duplicate(name: string): ConflictError {
  return new ConflictError(`A site named "${name}" already exists`, { 'body.name': 'already exists' });
}

function notFound(id: string): NotFoundError {
  return new NotFoundError('Site', id);
}

export class SitesService {
  constructor(
    private readonly db: Database,
    private readonly notifier: Notifier,
  ) {}

  private list(query: QueryOf<'ListSites' | 'SearchSites'>, where: Prisma.SiteWhereInput): Promise<Schemas['Sites']> {
    const orderBy = columnOrder(query.sort_by, '+name', SORT_FIELDS);
    const filter = { ...where, ...statusFilter(query.status), ...uploadedWithin(query) };
    return listPage(this.db.prisma.site, query, { where: filter, orderBy }, toSite);
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
    if (!row) throw notFound(params.site_id);
    return toSite(row);
  }

  async createSite({ body, caller }: Input<'CreateSite'>): Promise<Schemas['Site']> {
    const { user } = requireUser(caller);
    const row = await writeOrExplain(
      () =>
        this.db.prisma.site.create({
          data: {
            name: body.name,
            address: body.address,
            description: body.description ?? '',
            uploader_sub: user.sub,
            uploader_iss: user.iss,
            submit: { create: { resource_type: 'site' } },
          },
        }),
      { duplicate: () => duplicate(body.name) },
    );
    this.notifier.notify({ type: 'resource_submitted', resource: 'site', id: row.id, name: row.name, uploader: userRef(user) });
    return toSite(row);
  }

  async updateSite({ params, body }: Input<'UpdateSite'>): Promise<void> {
    await writeOrExplain(
      () =>
        this.db.prisma.site.update({
          where: { id: params.site_id },
          data: { name: body.name, address: body.address, description: body.description ?? '' },
        }),
      { notFound: () => notFound(params.site_id), duplicate: () => duplicate(body.name) },
    );
  }

  async deleteSite({ params }: Input<'DeleteSite'>): Promise<void> {
    // Its flavors, their results and the submits go with it (foreign keys cascade).
    await deleteOrExplain(
      () => this.db.prisma.site.deleteMany({ where: { id: params.site_id } }),
      () => notFound(params.site_id),
    );
  }

  approveSite({ params }: Input<'ApproveSite'>): Promise<void> {
    return approveResource(this.db, this.notifier, review, params.site_id);
  }

  rejectSite({ params }: Input<'RejectSite'>): Promise<void> {
    return rejectResource(this.db, this.notifier, review, params.site_id);
  }
}
