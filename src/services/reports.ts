// The `reports` tag: what waits for an administrator — submits (uploads on
// review) and claims against results.
import type { Database } from '../db/client.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { columnOrder, paginate, uploadedWithin } from './lists.js';
import type { Claims } from './claims.js';
import type { Input, Schemas } from './types.js';
import { toUser } from './users.js';

const SUBMIT_SORT_FIELDS = ['id', 'upload_datetime', 'resource_type'] as const;

const withUploaders = {
  benchmark: { include: { uploader: true } },
  site: { include: { uploader: true } },
  flavor: { include: { uploader: true } },
  claim: { include: { uploader: true } },
} satisfies Prisma.SubmitInclude;

type SubmitRow = Prisma.SubmitGetPayload<{ include: typeof withUploaders }>;

/** A submit as the API shows it: the resource's id and uploader, whichever kind it is. */
function toSubmit(row: SubmitRow): Schemas['Submit'] {
  const resource = row.benchmark ?? row.site ?? row.flavor ?? row.claim;
  if (!resource) throw new Error(`submit ${row.id} points at no resource`);
  return {
    id: row.id,
    upload_datetime: row.upload_datetime.toISOString(),
    resource_type: row.resource_type,
    resource_id: resource.id,
    uploader: toUser(resource.uploader),
  };
}

export class ReportsService {
  constructor(
    private readonly db: Database,
    private readonly claims: Claims,
  ) {}

  listClaims({ query }: Input<'ListClaims'>): Promise<Schemas['Claims']> {
    return this.claims.list(query, query.status !== undefined ? { status: query.status } : {});
  }

  getClaim({ params }: Input<'GetClaim'>): Promise<Schemas['Claim']> {
    return this.claims.get(params.report_id);
  }

  approveClaim({ params }: Input<'ApproveClaim'>): Promise<void> {
    return this.claims.approve(params.report_id);
  }

  rejectClaim({ params }: Input<'RejectClaim'>): Promise<void> {
    return this.claims.reject(params.report_id);
  }

  listSubmits({ query }: Input<'ListSubmits'>): Promise<Schemas['Submits']> {
    const where: Prisma.SubmitWhereInput = {
      ...(query.resource_type !== undefined ? { resource_type: query.resource_type } : {}),
      ...uploadedWithin(query),
    };
    const orderBy = columnOrder(query.sort_by, '+upload_datetime', SUBMIT_SORT_FIELDS);
    return paginate(
      query,
      () => this.db.prisma.submit.count({ where }),
      async (window) => (await this.db.prisma.submit.findMany({ where, orderBy, include: withUploaders, ...window })).map(toSubmit),
    );
  }
}
