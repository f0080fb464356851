// Claims against results, shared by the results, reports and users tags.
// A pending claim hides its result from lists and searches; an upheld claim
// keeps it hidden; a refused claim is deleted and the result listed again
// once no other claim stands against it. Each step is one transaction.
import type { Database } from '../db/client.js';
import { NotFoundError, UnprocessableError } from '../errors.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { columnOrder, paginate, uploadedWithin, type PageQuery } from './lists.js';
import { isForeignKeyViolation, isRecordNotFound } from '../db/prisma-errors.js';
import type { Notifier, UserRef } from '../notifications/index.js';
import type { Schemas } from './types.js';
import { toUser } from './users.js';

const SORT_FIELDS = ['id', 'upload_datetime'] as const;

const withUploader = { uploader: true } satisfies Prisma.ClaimInclude;
type ClaimRow = Prisma.ClaimGetPayload<{ include: typeof withUploader }>;

export function toClaim(row: ClaimRow): Schemas['Claim'] {
  return {
    id: row.id,
    upload_datetime: row.upload_datetime.toISOString(),
    message: row.message,
    resource_type: 'result',
    resource_id: row.result_id,
    status: row.status,
    uploader: toUser(row.uploader),
  };
}

export interface ClaimQuery extends PageQuery {
  upload_before?: string;
  upload_after?: string;
  sort_by?: string;
}

export class Claims {
  constructor(
    private readonly db: Database,
    private readonly notifier: Notifier,
  ) {}

  list(query: ClaimQuery, where: Prisma.ClaimWhereInput): Promise<Schemas['Claims']> {
    const filter: Prisma.ClaimWhereInput = { ...where, ...uploadedWithin(query) };
    const orderBy = columnOrder(query.sort_by, '+upload_datetime', SORT_FIELDS);
    return paginate(
      query,
      () => this.db.prisma.claim.count({ where: filter }),
      async (window) => (await this.db.prisma.claim.findMany({ where: filter, orderBy, include: withUploader, ...window })).map(toClaim),
    );
  }

  async get(id: string): Promise<Schemas['Claim']> {
    const row = await this.db.prisma.claim.findUnique({ where: { id }, include: withUploader });
    if (!row) throw new NotFoundError('Claim', id);
    return toClaim(row);
  }

  /** Files a claim with its submit and hides the result, all or nothing. */
  async file(resultId: string, message: string, claimer: UserRef): Promise<Schemas['Claim']> {
    let claim: Schemas['Claim'];
    let resultUploader: { email: string };
    try {
      const [row, result] = await this.db.prisma.$transaction([
        this.db.prisma.claim.create({
          data: {
            message,
            result_id: resultId,
            uploader_sub: claimer.sub,
            uploader_iss: claimer.iss,
            submit: { create: { resource_type: 'claim' } },
          },
          include: withUploader,
        }),
        this.db.prisma.result.update({
          where: { id: resultId },
          data: { deleted: true },
          select: { uploader: { select: { email: true } } },
        }),
      ]);
      claim = toClaim(row);
      resultUploader = result.uploader;
    } catch (error) {
      if (isForeignKeyViolation(error) || isRecordNotFound(error)) {
        throw new NotFoundError('Result', resultId);
      }
      throw error;
    }
    this.notifier.notify({ type: 'result_claimed', resultId, claimId: claim.id, message, claimer, uploader: resultUploader });
    return claim;
  }

  private async pendingOrExplain(tx: Prisma.TransactionClient, id: string): Promise<{ result_id: string }> {
    const claim = await tx.claim.findUnique({ where: { id }, select: { result_id: true, status: true } });
    if (!claim) throw new NotFoundError('Claim', id);
    if (claim.status !== 'on_review') throw new UnprocessableError(`Claim ${id} was already approved`);
    return claim;
  }

  /** Upholds a claim: the result stays hidden. */
  async approve(id: string): Promise<void> {
    const claim = await this.db.prisma.$transaction(async (tx) => {
      const { count } = await tx.claim.updateMany({ where: { id, status: 'on_review' }, data: { status: 'approved' } });
      if (count === 0) await this.pendingOrExplain(tx, id);
      await tx.submit.deleteMany({ where: { claim_id: id } });
      return tx.claim.findUniqueOrThrow({ where: { id }, select: { result_id: true, uploader: { select: { email: true } } } });
    });
    this.notifier.notify({ type: 'claim_approved', claimId: id, resultId: claim.result_id, claimer: claim.uploader });
  }

  /** Refuses a claim: it is deleted, and the result listed again when no other claim stands. */
  async reject(id: string): Promise<void> {
    const outcome = await this.db.prisma.$transaction(async (tx) => {
      const claim = await this.pendingOrExplain(tx, id);
      const people = await tx.claim.findUniqueOrThrow({
        where: { id },
        select: { uploader: { select: { email: true } }, result: { select: { uploader: { select: { email: true } } } } },
      });
      // Lock the result row first, so that two refusals of its last two claims
      // cannot both see the other one still standing.
      await tx.result.updateMany({ where: { id: claim.result_id }, data: { deleted: true } });
      // Only while still on review: an approval (or another refusal) that
      // committed since the check above wins, and this one is told why
      // (422 / 404) instead of deleting an upheld claim.
      const { count } = await tx.claim.deleteMany({ where: { id, status: 'on_review' } });
      if (count === 0) await this.pendingOrExplain(tx, id);
      const standing = await tx.claim.count({ where: { result_id: claim.result_id } });
      if (standing === 0) await tx.result.updateMany({ where: { id: claim.result_id }, data: { deleted: false } });
      return { resultId: claim.result_id, restored: standing === 0, ...people };
    });
    this.notifier.notify({ type: 'claim_rejected', claimId: id, resultId: outcome.resultId, claimer: outcome.uploader });
    if (outcome.restored) {
      this.notifier.notify({ type: 'result_restored', resultId: outcome.resultId, uploader: outcome.result.uploader });
    }
  }
}
