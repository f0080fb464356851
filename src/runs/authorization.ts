// Who may act on a run, decided before the request is validated (like every
// role, docs/CONTRACT.md §2): a stranger is told 403 whatever they send, an
// unknown site or run is a 404. A runner acts only on runs of the sites an
// administrator made it a runner of; a run is cancelled by whoever asked for
// it, or an administrator.
import { type Caller, requireUser } from '../auth/caller.js';
import { pathId } from '../auth/path-ids.js';
import type { Database } from '../db/client.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import type { Authorizer } from '../http/operations.js';

async function isRunnerOf(db: Database, siteId: string, caller: Caller): Promise<boolean> {
  const runner = await db.prisma.siteRunner.findUnique({
    where: { site_id_sub_iss: { site_id: siteId, sub: caller.identity.sub, iss: caller.identity.iss } },
    select: { site_id: true },
  });
  return runner !== null;
}

function notRunner(siteId: string): ForbiddenError {
  return new ForbiddenError(
    `Only the runners of site ${siteId} may do this; an administrator designates them (PUT /sites/{site_id}/runners)`,
  );
}

/** TakeRun: the caller must be a runner of the site. */
export function runnerOfSite(db: Database): Authorizer {
  return async ({ params, caller }) => {
    const siteId = pathId(params, 'site_id');
    if (!siteId) return;
    const known = requireUser(caller);
    // A runner of the site means the site exists: one query for every poll.
    if (await isRunnerOf(db, siteId, known)) return;
    const site = await db.prisma.site.findUnique({ where: { id: siteId }, select: { id: true } });
    if (!site) throw new NotFoundError('Site', siteId);
    throw notRunner(siteId);
  };
}

/** HeartbeatRun, CompleteRun, FailRun: the caller must be a runner of the run's site (whether it holds the run is the service's to say). */
export function runnerOfRun(db: Database): Authorizer {
  return async ({ params, caller }) => {
    const runId = pathId(params, 'run_id');
    if (!runId) return;
    const known = requireUser(caller);
    const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { site_id: true } });
    if (!run) throw new NotFoundError('Run', runId);
    if (!(await isRunnerOf(db, run.site_id, known))) throw notRunner(run.site_id);
  };
}

/** CancelRun: the caller asked for the run, or is an administrator. */
export function requesterOrAdmin(db: Database): Authorizer {
  return async ({ params, caller }) => {
    const runId = pathId(params, 'run_id');
    if (!runId) return;
    const known = requireUser(caller);
    const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { requester_sub: true, requester_iss: true } });
    if (!run) throw new NotFoundError('Run', runId);
    const mine = run.requester_sub === known.identity.sub && run.requester_iss === known.identity.iss;
    if (!mine && !known.isAdmin) throw new ForbiddenError('Only the user who asked for the run or an administrator may cancel it');
  };
}
