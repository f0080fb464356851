// "Owner or admin" operations on a result (UpdateResult, ListResultClaims):
// only its uploader or an administrator may act on it. Checked before the
// request is validated, like every role (docs/CONTRACT.md §2): a stranger is
// told 403 whatever they send, and an unknown result is a 404.
import { type Caller, isOwnerOrAdmin, requireUser } from '../auth/caller.js';
import { pathId } from '../auth/path-ids.js';
import type { Database } from '../db/client.js';
import { ForbiddenError, NotFoundError } from '../errors.js';

/** 404 for an unknown result, 403 unless the caller uploaded it or is an administrator. */
async function assertOwnerOrAdmin(db: Database, resultId: string, caller: Caller | undefined, doing: string): Promise<void> {
  const known = requireUser(caller);
  const result = await db.prisma.result.findUnique({ where: { id: resultId }, select: { uploader_sub: true, uploader_iss: true } });
  if (!result) throw new NotFoundError('Result', resultId);
  if (!isOwnerOrAdmin(known, result)) throw new ForbiddenError(`Only the uploader or an administrator may ${doing}`);
}

/**
 * The same check on a request not yet validated: a `result_id` that is not
 * a UUID is left for validation to refuse (422).
 */
export function ownerOrAdminOfResult(db: Database, doing: string) {
  return async ({ params, caller }: { params: unknown; caller?: Caller }): Promise<void> => {
    const resultId = pathId(params, 'result_id');
    if (resultId) await assertOwnerOrAdmin(db, resultId, caller, doing);
  };
}
