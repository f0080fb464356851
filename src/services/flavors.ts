// The `flavors` tag: a site's machine templates. Listed and created under
// their site (/sites/{site_id}/flavors), read and administered by id.
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
import { toFlavor, toSite } from '../views.js';

const SORT_FIELDS = ['id', 'upload_datetime', 'name'] as const;

const review: Reviewable = {
  resource: 'Flavor',
  kind: 'flavor',
  model: (tx) => tx.flavor,
  summary: async (tx, id) => {
    const row = await tx.flavor.findUnique({
      where: { id },
      include: { uploader: { select: { email: true } }, site: { select: { name: true } } },
    });
    return row && { name: `${row.name} (${row.site.name})`, uploader: row.uploader };
  },
  submitOf: (id) => ({ flavor_id: id }),
};

function duplicate(name: string): ConflictError {
  return new ConflictError(`This site already has a flavor named "${name}"`, { 'body.name': 'already exists' });
}

function notFound(id: string): NotFoundError {
  return new NotFoundError('Flavor', id);
}

export class FlavorsService {
  constructor(
    private readonly db: Database,
    private readonly notifier: Notifier,
  ) {}

  private async list(
    siteId: string,
    query: QueryOf<'ListFlavors' | 'SearchFlavor'>,
    where: Prisma.FlavorWhereInput,
  ): Promise<Schemas['Flavors']> {
    const orderBy = columnOrder(query.sort_by, '+name', SORT_FIELDS);
    const filter = { ...where, site_id: siteId, ...statusFilter(query.status), ...uploadedWithin(query) };
    const page = await listPage(this.db.prisma.flavor, query, { where: filter, orderBy }, toFlavor);
    // An empty page of an unknown site is a 404, not "no flavors".
    if (page.total === 0 && (await this.db.prisma.site.count({ where: { id: siteId } })) === 0) {
      throw new NotFoundError('Site', siteId);
    }
    return page;
  }

  listFlavors({ params, query }: Input<'ListFlavors'>): Promise<Schemas['Flavors']> {
    return this.list(params.site_id, query, query.name !== undefined ? { name: query.name } : {});
  }

  searchFlavor({ params, query }: Input<'SearchFlavor'>): Promise<Schemas['Flavors']> {
    return this.list(
      params.site_id,
      query,
      termsWhere(query.terms, (term) => [{ name: containsLiteral(term) }, { description: containsLiteral(term) }]),
    );
  }

  async addFlavor({ params, body, caller }: Input<'AddFlavor'>): Promise<Schemas['Flavor']> {
    const { user } = requireUser(caller);
    const row = await writeOrExplain(
      () =>
        this.db.prisma.flavor.create({
          data: {
            site_id: params.site_id,
            name: body.name,
            description: body.description ?? '',
            uploader_sub: user.sub,
            uploader_iss: user.iss,
            submit: { create: { resource_type: 'flavor' } },
          },
          include: { site: { select: { name: true } } },
        }),
      { missingReference: () => new NotFoundError('Site', params.site_id), duplicate: () => duplicate(body.name) },
    );
    const name = `${row.name} (${row.site.name})`;
    this.notifier.notify({ type: 'resource_submitted', resource: 'flavor', id: row.id, name, uploader: userRef(user) });
    return toFlavor(row);
  }

  async getFlavor({ params }: Input<'GetFlavor'>): Promise<Schemas['Flavor']> {
    const row = await this.db.prisma.flavor.findUnique({ where: { id: params.flavor_id } });
    if (!row) throw notFound(params.flavor_id);
    return toFlavor(row);
  }

  async getFlavorSite({ params }: Input<'GetFlavorSite'>): Promise<Schemas['Site']> {
    const row = await this.db.prisma.flavor.findUnique({ where: { id: params.flavor_id }, include: { site: true } });
    if (!row) throw notFound(params.flavor_id);
    return toSite(row.site);
  }

  async updateFlavor({ params, body }: Input<'UpdateFlavor'>): Promise<void> {
    await writeOrExplain(
      () =>
        this.db.prisma.flavor.update({ where: { id: params.flavor_id }, data: { name: body.name, description: body.description ?? '' } }),
      { notFound: () => notFound(params.flavor_id), duplicate: () => duplicate(body.name) },
    );
  }

  async deleteFlavor({ params }: Input<'DeleteFlavor'>): Promise<void> {
    await deleteOrExplain(
      () => this.db.prisma.flavor.deleteMany({ where: { id: params.flavor_id } }),
      () => notFound(params.flavor_id),
    );
  }

  approveFlavor({ params }: Input<'ApproveFlavor'>): Promise<void> {
    return approveResource(this.db, this.notifier, review, params.flavor_id);
  }

  rejectFlavor({ params }: Input<'RejectFlavor'>): Promise<void> {
    return rejectResource(this.db, this.notifier, review, params.flavor_id);
  }
}
