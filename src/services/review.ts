// The review workflow shared by benchmarks, sites and flavors: a user's
// upload starts `on_review` with a submit report; an administrator approves
// it (status approved, submit removed) or rejects it (resource and submit
// removed). Each step is one transaction, so no resource is on review
// without its submit and no submit outlives its resource.
import type { Database } from '../db/client.js';
import { NotFoundError, UnprocessableError } from '../errors.js';
import type { Notifier, ReviewableResource } from '../notifications/index.js';
import type { Prisma } from '../../generated/prisma/client.js';

type Tx = Prisma.TransactionClient;

/** How one reviewable model is approved, rejected and found. */
export interface Reviewable {
  /** 'Benchmark', 'Site', 'Flavor': for messages. */
  resource: string;
  kind: ReviewableResource;
  /** Its display name and its uploader's address, for the notification. */
  summary(tx: Tx, id: string): Promise<{ name: string; uploader: { email: string } } | null>;
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

export async function approveResource(db: Database, notifier: Notifier, target: Reviewable, id: string): Promise<void> {
  const summary = await db.prisma.$transaction(async (tx) => {
    const { count } = await target.approveOnReview(tx, id);
    if (count === 0) await explainNoChange(tx, target, id, '');
    await tx.submit.deleteMany({ where: target.submitOf(id) });
    return target.summary(tx, id);
  });
  if (summary) notifier.notify({ type: 'resource_approved', resource: target.kind, id, ...summary });
}

export async function rejectResource(db: Database, notifier: Notifier, target: Reviewable, id: string): Promise<void> {
  const summary = await db.prisma.$transaction(async (tx) => {
    // Read before the row goes: the uploader is told what was removed.
    const before = await target.summary(tx, id);
    const { count } = await target.deleteOnReview(tx, id);
    if (count === 0) await explainNoChange(tx, target, id, '; use DELETE to remove it');
    return before;
  });
  if (summary) notifier.notify({ type: 'resource_rejected', resource: target.kind, id, ...summary });
}

/** Only `approved` unless the client asks for `on_review` (CONTRACT §3). */
export function statusFilter(status: 'approved' | 'on_review' | undefined): { status: 'approved' | 'on_review' } {
  return { status: status ?? 'approved' };
}
