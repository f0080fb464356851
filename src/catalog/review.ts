// The review workflow of benchmarks, sites and flavors: a user's upload
// starts `on_review` with a submit report; an administrator approves it
// (status approved, submit removed) or rejects it (resource and submit
// removed). Each step is one transaction, so no resource is on review
// without its submit and no submit outlives its resource.
import type { Prisma } from '../../generated/prisma/client.js';
import type { Database } from '../db/client.js';
import { InvalidStateError, NotFoundError } from '../errors.js';
import type { Notifier, ReviewableResource } from '../notifications/index.js';

type Tx = Prisma.TransactionClient;

/** A reviewed model (`tx.benchmark`, `tx.site`, `tx.flavor`) as far as review needs it. */
interface ReviewedModel {
  updateMany(args: { where: { id: string; status: 'on_review' }; data: { status: 'approved' } }): PromiseLike<{ count: number }>;
  deleteMany(args: { where: { id: string; status: 'on_review' } }): PromiseLike<{ count: number }>;
  count(args: { where: { id: string } }): PromiseLike<number>;
}

/** How one reviewable model is found and named. */
export interface Reviewable {
  /** 'Benchmark', 'Site', 'Flavor': for messages. */
  resource: string;
  kind: ReviewableResource;
  model(tx: Tx): ReviewedModel;
  /** Its display name and its uploader's address, for the notification. */
  summary(tx: Tx, id: string): Promise<{ name: string; uploader: { email: string } } | null>;
  /** The submit row of this resource. */
  submitOf(id: string): Prisma.SubmitWhereInput;
}

async function explainNoChange(tx: Tx, target: Reviewable, id: string, hint: string): Promise<never> {
  if ((await target.model(tx).count({ where: { id } })) === 0) throw new NotFoundError(target.resource, id);
  throw new InvalidStateError(`${target.resource} ${id} is already approved${hint}`);
}

export async function approveResource(db: Database, notifier: Notifier, target: Reviewable, id: string): Promise<void> {
  const summary = await db.prisma.$transaction(async (tx) => {
    const { count } = await target.model(tx).updateMany({ where: { id, status: 'on_review' }, data: { status: 'approved' } });
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
    // Its submit cascades.
    const { count } = await target.model(tx).deleteMany({ where: { id, status: 'on_review' } });
    if (count === 0) await explainNoChange(tx, target, id, '; use DELETE to remove it');
    return before;
  });
  if (summary) notifier.notify({ type: 'resource_rejected', resource: target.kind, id, ...summary });
}

/** Only `approved` unless the client asks for `on_review` (docs/CONTRACT.md §3). */
export function statusFilter(status: 'approved' | 'on_review' | undefined): { status: 'approved' | 'on_review' } {
  return { status: status ?? 'approved' };
}
