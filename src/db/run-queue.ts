// Raw SQL of the runs' state machine (queued → running → completed | failed |
// cancelled). Every transition is one conditional UPDATE whose WHERE clause
// states what must hold, so that concurrent callers — runners polling at
// once, a heartbeat racing a cancellation, two instances sweeping expired
// leases — each see the row as it is when they change it: there is never a
// read-then-write window. Raw SQL because the conditions and the new
// timestamps are the database's clock (`now()`), the same for every instance,
// and because taking a run needs `FOR UPDATE SKIP LOCKED`, which Prisma
// cannot say.
import { Prisma, type PrismaClient, type Run } from '../../generated/prisma/client.js';
import { isoText } from './results-query.js';

/** A run as the service reads it: every column but its log. */
export type RunRow = Omit<Run, 'log'>;

/** Who holds (or wants to hold) a run: a runner's OIDC identity. */
export interface RunnerIdentity {
  sub: string;
  iss: string;
}

/** The log keeps this many characters, the newest. */
export const RUN_LOG_CHARACTERS = 65_536;

const COLUMNS = Prisma.raw(
  `id, status::text AS status, benchmark_id, site_id, flavor_id, parameters, coalesce(tags_ids, '{}')::text[] AS tags_ids,
   requester_sub, requester_iss, submit_datetime, start_datetime, heartbeat_datetime, finish_datetime, lease_deadline,
   attempts, runner_sub, runner_iss, failure_reason, result_id`,
);

/** The database's now, to the millisecond: what the API shows is what is stored. */
const NOW = Prisma.raw(`date_trunc('milliseconds', now())`);

/** `log`, with `text` (bound, or an SQL expression) appended and cut to its newest RUN_LOG_CHARACTERS. */
function appended(text: string | Prisma.Sql): Prisma.Sql {
  return Prisma.sql`right(log || ${text}, ${RUN_LOG_CHARACTERS})`;
}

/** Held by `runner`, running, its lease not yet expired. */
function heldBy(runner: RunnerIdentity): Prisma.Sql {
  return Prisma.sql`status = 'running' AND runner_sub = ${runner.sub} AND runner_iss = ${runner.iss} AND lease_deadline >= now()`;
}

/**
 * Takes the oldest queued run of `siteId` for `runner` (with its benchmark's image and tag), which must be one of
 * the site's runners at that moment, and notes that the runner polled.
 * `FOR UPDATE SKIP LOCKED` is what makes concurrent takers each get another
 * run: a plain conditional update would send them all to the same oldest
 * row, and all but one would come back empty while other runs wait.
 * Undefined when no run waits (or the caller is no runner of the site).
 */
export async function takeRun(
  prisma: PrismaClient,
  siteId: string,
  runner: RunnerIdentity,
  leaseSeconds: number,
): Promise<(RunRow & { docker_image: string; docker_tag: string }) | undefined> {
  const rows = await prisma.$queryRaw<(RunRow & { docker_image: string; docker_tag: string })[]>`
    WITH runner AS (
      UPDATE site_runners SET last_poll_datetime = ${NOW}
      WHERE site_id = ${siteId}::uuid AND sub = ${runner.sub} AND iss = ${runner.iss}
      RETURNING site_id
    ), next AS (
      SELECT r.id AS next_id FROM runs r JOIN runner ON runner.site_id = r.site_id
      WHERE r.status = 'queued'
      ORDER BY r.submit_datetime, r.id
      LIMIT 1
      FOR UPDATE OF r SKIP LOCKED
    )
    UPDATE runs SET status = 'running', runner_sub = ${runner.sub}, runner_iss = ${runner.iss}, attempts = attempts + 1,
      start_datetime = ${NOW}, heartbeat_datetime = ${NOW}, lease_deadline = ${NOW} + make_interval(secs => ${leaseSeconds})
    FROM next WHERE runs.id = next.next_id AND runs.status = 'queued'
    RETURNING ${COLUMNS},
      (SELECT docker_image FROM benchmarks b WHERE b.id = runs.benchmark_id) AS docker_image,
      (SELECT docker_tag FROM benchmarks b WHERE b.id = runs.benchmark_id) AS docker_tag`;
  return rows[0];
}

/**
 * Runs whose lease expired (of one run, of one site, or all): back to the
 * queue, or failed once they were taken `maxAttempts` times. Any instance may
 * sweep at any time: rows another sweep holds are skipped, and each expired
 * run is answered to exactly one sweep (whose caller notifies of failures).
 */
export async function expireLeases(
  prisma: PrismaClient,
  scope: { runId?: string; siteId?: string },
  maxAttempts: number,
): Promise<RunRow[]> {
  const conditions = [Prisma.sql`status = 'running'`, Prisma.sql`lease_deadline < now()`];
  if (scope.runId) conditions.push(Prisma.sql`id = ${scope.runId}::uuid`);
  if (scope.siteId) conditions.push(Prisma.sql`site_id = ${scope.siteId}::uuid`);
  const lost = Prisma.sql`attempts >= ${maxAttempts}`;
  return prisma.$queryRaw<RunRow[]>`
    WITH expired AS (
      SELECT id AS expired_id FROM runs WHERE ${Prisma.join(conditions, ' AND ')} FOR UPDATE SKIP LOCKED
    )
    UPDATE runs SET
      status = CASE WHEN ${lost} THEN 'failed'::"RunStatus" ELSE 'queued'::"RunStatus" END,
      failure_reason = CASE WHEN ${lost}
        THEN 'runner lost: no heartbeat before the lease expired, ' || attempts || ' attempt(s)' END,
      finish_datetime = CASE WHEN ${lost} THEN ${NOW} END,
      log = ${appended(Prisma.sql`E'\\n[eosc-perf] lease expired at ' || ${isoText(Prisma.raw('lease_deadline'))}
        || CASE WHEN ${lost} THEN ': run failed' ELSE ': back in the queue' END || E'\\n'`)},
      lease_deadline = NULL, runner_sub = NULL, runner_iss = NULL
    FROM expired WHERE runs.id = expired.expired_id
    RETURNING ${COLUMNS}`;
}

/**
 * A heartbeat of the run's holder: its lease extended by `leaseSeconds`,
 * `log` appended. Undefined when `runner` does not hold it (any more).
 */
export async function extendLease(
  prisma: PrismaClient,
  runId: string,
  runner: RunnerIdentity,
  log: string,
  leaseSeconds: number,
): Promise<RunRow | undefined> {
  const rows = await prisma.$queryRaw<RunRow[]>`
    UPDATE runs SET heartbeat_datetime = ${NOW}, lease_deadline = ${NOW} + make_interval(secs => ${leaseSeconds}), log = ${appended(log)}
    WHERE id = ${runId}::uuid AND ${heldBy(runner)}
    RETURNING ${COLUMNS}`;
  return rows[0];
}

/** Appends to the log of a run `runner` held when it was cancelled (its last words). */
export async function appendToCancelled(prisma: PrismaClient, runId: string, runner: RunnerIdentity, log: string): Promise<void> {
  await prisma.$executeRaw`
    UPDATE runs SET log = ${appended(log)}
    WHERE id = ${runId}::uuid AND status = 'cancelled' AND runner_sub = ${runner.sub} AND runner_iss = ${runner.iss}`;
}

/**
 * Completes the run `runner` holds and stores its output as a result, in one
 * statement (so atomically): uploaded by the run's requester, on its
 * benchmark and flavor, with those of its tags that still exist. The run's
 * `result_id` names a result this same statement inserts; foreign keys are
 * checked at the statement's end. Undefined, with nothing stored, when
 * `runner` does not hold the run (any more).
 */
export async function completeRun(
  prisma: PrismaClient,
  runId: string,
  runner: RunnerIdentity,
  output: { json: unknown; execution_datetime: Date },
): Promise<RunRow | undefined> {
  const rows = await prisma.$queryRaw<RunRow[]>`
    WITH run AS (
      UPDATE runs SET status = 'completed', finish_datetime = ${NOW}, lease_deadline = NULL, result_id = gen_random_uuid()
      WHERE id = ${runId}::uuid AND ${heldBy(runner)}
      RETURNING *
    ), inserted AS (
      INSERT INTO results (id, upload_datetime, json, execution_datetime, benchmark_id, flavor_id, site_id, uploader_sub, uploader_iss)
      SELECT run.result_id, ${NOW}, ${JSON.stringify(output.json)}::jsonb, ${output.execution_datetime}::timestamptz,
        run.benchmark_id, run.flavor_id, run.site_id, run.requester_sub, run.requester_iss
      FROM run
    ), tagged AS (
      INSERT INTO result_tags (result_id, tag_id)
      SELECT run.result_id, t.id FROM run JOIN tags t ON t.id = ANY (run.tags_ids)
    )
    SELECT ${COLUMNS} FROM run`;
  return rows[0];
}

/**
 * Ends the run `runner` holds as failed with `reason` — or, when `requeue`
 * and attempts remain, puts it back in the queue. Undefined when `runner`
 * does not hold it (any more).
 */
export async function failRun(
  prisma: PrismaClient,
  runId: string,
  runner: RunnerIdentity,
  failure: { reason: string; requeue: boolean; maxAttempts: number },
): Promise<RunRow | undefined> {
  const back = Prisma.sql`(${failure.requeue} AND attempts < ${failure.maxAttempts})`;
  const rows = await prisma.$queryRaw<RunRow[]>`
    UPDATE runs SET
      status = CASE WHEN ${back} THEN 'queued'::"RunStatus" ELSE 'failed'::"RunStatus" END,
      failure_reason = CASE WHEN ${back} THEN NULL ELSE ${failure.reason} END,
      finish_datetime = CASE WHEN ${back} THEN NULL ELSE ${NOW} END,
      log = ${appended(`\n[eosc-perf] ${failure.requeue ? 'released' : 'failed'} by the runner: ${failure.reason}\n`)},
      runner_sub = CASE WHEN ${back} THEN NULL ELSE runner_sub END,
      runner_iss = CASE WHEN ${back} THEN NULL ELSE runner_iss END,
      lease_deadline = NULL
    WHERE id = ${runId}::uuid AND ${heldBy(runner)}
    RETURNING ${COLUMNS}`;
  return rows[0];
}

/** Cancels a queued or running run. Undefined when it does not exist or has finished. */
export async function cancelRun(prisma: PrismaClient, runId: string): Promise<RunRow | undefined> {
  const rows = await prisma.$queryRaw<RunRow[]>`
    UPDATE runs SET status = 'cancelled', finish_datetime = ${NOW}, lease_deadline = NULL
    WHERE id = ${runId}::uuid AND status IN ('queued', 'running')
    RETURNING ${COLUMNS}`;
  return rows[0];
}

/** One run as it is, lease state included. */
export async function findRun(prisma: PrismaClient, runId: string): Promise<(RunRow & { lease_expired: boolean }) | undefined> {
  const rows = await prisma.$queryRaw<(RunRow & { lease_expired: boolean })[]>`
    SELECT ${COLUMNS}, coalesce(lease_deadline < now(), false) AS lease_expired FROM runs WHERE id = ${runId}::uuid`;
  return rows[0];
}

/** A site's queue: its runs waiting and running, its runners, and when one last polled. */
export async function queueOf(
  prisma: PrismaClient,
  siteId: string,
  leaseSeconds: number,
): Promise<{ queued: number; running: number; runners: number; last_poll_datetime: Date | null; available: boolean }> {
  const [row] = await prisma.$queryRaw<
    { queued: number; running: number; runners: number; last_poll_datetime: Date | null; available: boolean }[]
  >`
    SELECT
      (SELECT count(*)::int FROM runs WHERE site_id = ${siteId}::uuid AND status = 'queued') AS queued,
      (SELECT count(*)::int FROM runs WHERE site_id = ${siteId}::uuid AND status = 'running') AS running,
      count(sr.sub)::int AS runners,
      max(sr.last_poll_datetime) AS last_poll_datetime,
      coalesce(max(sr.last_poll_datetime) >= now() - make_interval(secs => ${leaseSeconds}), false) AS available
    FROM site_runners sr WHERE sr.site_id = ${siteId}::uuid`;
  return row ?? { queued: 0, running: 0, runners: 0, last_poll_datetime: null, available: false };
}
