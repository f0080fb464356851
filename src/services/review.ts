// The review workflow shared by benchmarks, sites and flavors: a user's
// upload starts `on_review` with a submit report; an administrator approves
// it (status approved, submit removed) or rejects it (resource and submit
// removed). Each step is one transaction, so no resource is on review
// without its submit and no submit outlives its resource.
import type { Database } from '../db/client.js';
import { NotFoundError, UnprocessableError } from '../errors.js';
import type { Prisma } from '../../generated/prisma/client.js';

type Tx = Prisma.TransactionClient;

/** How one reviewable model is approved, rejected and found. */
export interface Reviewable {
  /** 'Benchmark', 'Site', 'Flavor': for messages. */
  resource: string;
  /** Sets `approved` where the row is on review; returns how many rows changed. */
  approveOnReview(tx: Tx, id: string): Promise<{ count: number }>;
  /** Deletes the row where it is on review (its submit cascades); returns how many. */
  deleteOnReview(tx: Tx, id: string): Promise<{ count: number }>;
  exists(tx: Tx, id: string): Promise<boolean>;
  /** The submit row of this resource. */
  submitOf(id: string): Prisma.SubmitWhereInput;
}

async function explainNoChange(tx: Tx, target: Reviewable, id: string, hint: string): Promise<never> {
  if (!(await target.exists(tx, id))) throw new NotFoundError(target.resource, id);
  throw new UnprocessableError(`${target.resource} ${id} is already approved${hint}`);
}

export async function approveResource(db: Database, target: Reviewable, id: string): Promise<void> {
  await db.prisma.$transaction(async (tx) => {
    const { count } = await target.approveOnReview(tx, id);
    if (count === 0) await explainNoChange(tx, target, id, '');
    await tx.submit.deleteMany({ where: target.submitOf(id) });
  });
}

export async function rejectResource(db: Database, target: Reviewable, id: string): Promise<void> {
  await db.prisma.$transaction(async (tx) => {
    const { count } = await target.deleteOnReview(tx, id);
    if (count === 0) await explainNoChange(tx, target, id, '; use DELETE to remove it');
  });
}

/** Only `approved` unless the client asks for `on_review` (CONTRACT §3). */
export function statusFilter(status: 'approved' | 'on_review' | undefined): { status: 'approved' | 'on_review' } {
  return { status: status ?? 'approved' };
}
