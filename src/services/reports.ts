// The `reports` tag: what waits for an administrator — submits (uploads on
// review) and claims against results.
import type { Prisma } from '../../generated/prisma/client.js';
import type { Input, Schemas } from '../api-types.js';
import type { Database } from '../db/client.js';
import { uploadedWithin } from '../lists/dates.js';
import { listPage } from '../lists/pages.js';
import { columnOrder } from '../lists/sorting.js';
import type { ClaimWorkflow } from '../results/claims.js';
import { SUBMIT_INCLUDE, toSubmit } from '../views.js';

const SUBMIT_SORT_FIELDS = ['id', 'upload_datetime', 'resource_type'] as const;

export class ReportsService {
  constructor(
    private readonly db: Database,
    private readonly claims: ClaimWorkflow,
  ) {}

  listClaims({ query }: Input<'ListClaims'>): Promise<Schemas['Claims']> {
    return this.claims.list(query, {});
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
    // Ties (the same resource type, by default) go oldest first, then by id, so pages are stable.
    const orderBy = [...columnOrder(query.sort_by, '+resource_type', SUBMIT_SORT_FIELDS, 'upload_datetime'), { id: 'asc' as const }];
    // A submit is shown with the resource it stands for and its uploader.
    const submits = {
      count: (args: { where: Prisma.SubmitWhereInput }) => this.db.prisma.submit.count(args),
      findMany: (args: { where: Prisma.SubmitWhereInput; orderBy: typeof orderBy; skip: number; take: number }) =>
        this.db.prisma.submit.findMany({ ...args, include: SUBMIT_INCLUDE }),
    };
    return listPage(submits, query, { where, orderBy }, toSubmit);
  }
}
