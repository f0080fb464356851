// Claims against results: filed through the `results` tag, reviewed through
// `reports`, listed for their claimer through `users`.
// A pending claim hides its result from lists and searches; an upheld claim
// keeps it hidden; a refused claim is deleted and the result listed again
// once no other claim stands against it. Each step is one transaction.
import type { Prisma } from '../../generated/prisma/client.js';
import type { QueryOf, Schemas } from '../api-types.js';
import type { Database } from '../db/client.js';
import { isForeignKeyViolation, isRecordNotFound } from '../db/prisma-errors.js';
import { InvalidStateError, NotFoundError } from '../errors.js';
import { uploadedWithin } from '../lists/dates.js';
import { listPage } from '../lists/pages.js';
import { columnOrder } from '../lists/sorting.js';
import type { Notifier, UserRef } from '../notifications/index.js';
import { CLAIM_INCLUDE, toClaim } from '../views.js';

const SORT_FIELDS = ['id', 'upload_datetime', 'status'] as const;

/** The query parameters every list of claims takes. */
export type ClaimQuery = QueryOf<'ListClaims' | 'ListUserClaims' | 'ListResultClaims'>;

/** Every step of a claim's life; each step is one transaction. */
export class ClaimWorkflow {
  constructor(
    private readonly db: Database,
    private readonly notifier: Notifier,
  ) {}

  list(query: ClaimQuery, where: Prisma.ClaimWhereInput): Promise<Schemas['Claims']> {
    const orderBy = columnOrder(query.sort_by, '+upload_datetime', SORT_FIELDS);
    // A claim is shown with its claimer.
    const claims = {
      count: (args: { where: Prisma.ClaimWhereInput }) => this.db.prisma.claim.count(args),
      findMany: (args: { where: Prisma.ClaimWhereInput; orderBy: typeof orderBy; skip: number; take: number }) =>
        this.db.prisma.claim.findMany({ ...args, include: CLAIM_INCLUDE }),
    };
    const status = query.status !== undefined ? { status: query.status } : {};
    return listPage(claims, query, { where: { ...where, ...status, ...uploadedWithin(query) }, orderBy }, toClaim);
  }

  async get(id: string): Promise<Schemas['Claim']> {
    const row = await this.db.prisma.claim.findUnique({ where: { id }, include: CLAIM_INCLUDE });
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
          include: CLAIM_INCLUDE,
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
    if (claim.status !== 'on_review') throw new InvalidStateError(`Claim ${id} was already approved`);
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
