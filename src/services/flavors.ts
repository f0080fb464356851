// The `flavors` tag: a site's machine templates. Listed and created under
// their site (/sites/{site_id}/flavors), read and administered by id.
import type { Database } from '../db/client.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Flavor as FlavorRow, Prisma } from '../../generated/prisma/client.js';
import { requireUser, userRef } from './callers.js';
import { columnOrder, containsLiteral, paginate, termsWhere, uploadedWithin, type PageQuery } from './lists.js';
import { isForeignKeyViolation, isRecordNotFound, isUniqueViolation } from '../db/prisma-errors.js';
import { approveResource, rejectResource, statusFilter, type Reviewable } from './review.js';
import { toSite } from './sites.js';
import type { Notifier } from '../notifications/index.js';
import type { Input, Schemas } from './types.js';

const SORT_FIELDS = ['id', 'upload_datetime', 'name'] as const;

export function toFlavor(row: FlavorRow): Schemas['Flavor'] {
  return {
    id: row.id,
    upload_datetime: row.upload_datetime.toISOString(),
    name: row.name,
    description: row.description,
    status: row.status,
  };
}

const review: Reviewable = {
  resource: 'Flavor',
  kind: 'flavor',
  summary: async (tx, id) => {
    const row = await tx.flavor.findUnique({
      where: { id },
      include: { uploader: { select: { email: true } }, site: { select: { name: true } } },
    });
    return row && { name: `${row.name} (${row.site.name})`, uploader: row.uploader };
  },
  approveOnReview: (tx, id) => tx.flavor.updateMany({ where: { id, status: 'on_review' }, data: { status: 'approved' } }),
  deleteOnReview: (tx, id) => tx.flavor.deleteMany({ where: { id, status: 'on_review' } }),
  exists: async (tx, id) => (await tx.flavor.count({ where: { id } })) > 0,
  submitOf: (id) => ({ flavor_id: id }),
};

function duplicate(name: string): ConflictError {
  return new ConflictError(`This site already has a flavor named "${name}"`, { 'body.name': 'already exists' });
}

interface FlavorQuery extends PageQuery {
  status?: 'approved' | 'on_review';
  upload_before?: string;
  upload_after?: string;
  sort_by?: string;
}

export class FlavorsService {
  constructor(
    private readonly db: Database,
    private readonly notifier: Notifier,
  ) {}

  private async list(siteId: string, query: FlavorQuery, where: Prisma.FlavorWhereInput): Promise<Schemas['Flavors']> {
    const filter: Prisma.FlavorWhereInput = { ...where, site_id: siteId, ...statusFilter(query.status), ...uploadedWithin(query) };
    const orderBy = columnOrder(query.sort_by, '+name', SORT_FIELDS);
    const page = await paginate(
      query,
      () => this.db.prisma.flavor.count({ where: filter }),
      async (window) => (await this.db.prisma.flavor.findMany({ where: filter, orderBy, ...window })).map(toFlavor),
    );
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
    let row: FlavorRow & { site: { name: string } };
    try {
      row = await this.db.prisma.flavor.create({
        data: {
          site_id: params.site_id,
          name: body.name,
          description: body.description ?? '',
          uploader_sub: user.sub,
          uploader_iss: user.iss,
          submit: { create: { resource_type: 'flavor' } },
        },
        include: { site: { select: { name: true } } },
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw new NotFoundError('Site', params.site_id);
      if (isUniqueViolation(error)) throw duplicate(body.name);
      throw error;
    }
    const name = `${row.name} (${row.site.name})`;
    this.notifier.notify({ type: 'resource_submitted', resource: 'flavor', id: row.id, name, uploader: userRef(user) });
    return toFlavor(row);
  }

  async getFlavor({ params }: Input<'GetFlavor'>): Promise<Schemas['Flavor']> {
    const row = await this.db.prisma.flavor.findUnique({ where: { id: params.flavor_id } });
    if (!row) throw new NotFoundError('Flavor', params.flavor_id);
    return toFlavor(row);
  }

  async getFlavorSite({ params }: Input<'GetFlavorSite'>): Promise<Schemas['Site']> {
    const row = await this.db.prisma.flavor.findUnique({ where: { id: params.flavor_id }, include: { site: true } });
    if (!row) throw new NotFoundError('Flavor', params.flavor_id);
    return toSite(row.site);
  }

  async updateFlavor({ params, body }: Input<'UpdateFlavor'>): Promise<void> {
    try {
      await this.db.prisma.flavor.update({
        where: { id: params.flavor_id },
        data: { name: body.name, description: body.description ?? '' },
      });
    } catch (error) {
      if (isRecordNotFound(error)) throw new NotFoundError('Flavor', params.flavor_id);
      if (isUniqueViolation(error)) throw duplicate(body.name);
      throw error;
    }
  }

  async deleteFlavor({ params }: Input<'DeleteFlavor'>): Promise<void> {
    const { count } = await this.db.prisma.flavor.deleteMany({ where: { id: params.flavor_id } });
    if (count === 0) throw new NotFoundError('Flavor', params.flavor_id);
  }

  approveFlavor({ params }: Input<'ApproveFlavor'>): Promise<void> {
    return approveResource(this.db, this.notifier, review, params.flavor_id);
  }

  rejectFlavor({ params }: Input<'RejectFlavor'>): Promise<void> {
    return rejectResource(this.db, this.notifier, review, params.flavor_id);
  }
}
