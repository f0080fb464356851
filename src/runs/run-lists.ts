// The lists of runs, GET /runs and GET /users/self/runs: the same filters,
// sorting and pages, the latter only the caller's. Expired leases are swept
// first (at most once a second), so that a list does not show a run as
// running long after its runner lost it.
import type { Prisma } from '../../generated/prisma/client.js';
import type { QueryOf, Schemas } from '../api-types.js';
import type { Database } from '../db/client.js';
import { dateRange } from '../lists/dates.js';
import { listPage } from '../lists/pages.js';
import { columnOrder } from '../lists/sorting.js';
import { toRun } from '../views.js';
import type { RunLeases } from './leases.js';

const SORT_FIELDS = ['id', 'status', 'submit_datetime', 'start_datetime', 'finish_datetime'] as const;

export type RunListQuery = QueryOf<'ListRuns'> | QueryOf<'ListUserRuns'>;

function runsWhere(query: RunListQuery): Prisma.RunWhereInput {
  const submitted = dateRange('submit', query.submit_before, query.submit_after);
  return {
    ...(query.status !== undefined ? { status: query.status } : {}),
    ...(query.benchmark_id !== undefined ? { benchmark_id: query.benchmark_id } : {}),
    ...(query.site_id !== undefined ? { site_id: query.site_id } : {}),
    ...(query.flavor_id !== undefined ? { flavor_id: query.flavor_id } : {}),
    ...(submitted ? { submit_datetime: submitted } : {}),
  };
}

export class RunLists {
  constructor(
    private readonly db: Database,
    private readonly leases: RunLeases,
  ) {}

  /** One page of the runs `query` asks for; only those `requester` asked for, if given. */
  async list(query: RunListQuery, requester?: { sub: string; iss: string }): Promise<Schemas['Runs']> {
    await this.leases.sweepAll();
    const where = { ...runsWhere(query), ...(requester ? { requester_sub: requester.sub, requester_iss: requester.iss } : {}) };
    const orderBy = columnOrder(query.sort_by, '-submit_datetime', SORT_FIELDS);
    const runs = this.db.prisma.run;
    // A run's log (up to 64 Ki characters) is never read for a list.
    const model = {
      count: (args: { where: Prisma.RunWhereInput }) => runs.count(args),
      findMany: (args: { where: Prisma.RunWhereInput; orderBy: typeof orderBy; skip: number; take: number }) =>
        runs.findMany({ ...args, omit: { log: true } }),
    };
    return listPage(model, query, { where, orderBy }, toRun);
  }
}
