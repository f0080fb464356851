// The `runs` tag: users ask for a benchmark to be run on a flavor; the
// runners of the flavor's site take the runs from the site's queue, report on
// them and send their output, which is stored as an ordinary result.
// Who may call what is decided before validation (runs/authorization.ts);
// every change of a run's state is one conditional statement
// (db/run-queue.ts).
import { Readable } from 'node:stream';
import type { Prisma } from '../../generated/prisma/client.js';
import type { Input, Output, Schemas } from '../api-types.js';
import { requireUser } from '../auth/caller.js';
import type { Database } from '../db/client.js';
import { writeOrExplain } from '../db/prisma-errors.js';
import {
  appendToCancelled,
  cancelRun,
  completeRun,
  extendLease,
  failRun,
  findRun,
  queueOf,
  type RunnerIdentity,
  type RunRow,
  takeRun,
} from '../db/run-queue.js';
import { InvalidStateError, NotFoundError, ParametersInvalidError, UnprocessableError } from '../errors.js';
import { Download } from '../http/download.js';
import { NO_CONTENT } from '../http/no-content.js';
import { parseExecutionDatetime } from '../results/execution-date.js';
import type { ResultValidator } from '../results/validation/validator.js';
import type { RunLeases } from '../runs/leases.js';
import type { RunLists } from '../runs/run-lists.js';
import type { RunOutcomes } from '../runs/outcomes.js';
import { toRun } from '../views.js';

/** What a benchmark without `parameters_schema` accepts: no parameters at all. */
const NO_PARAMETERS = { type: 'object', maxProperties: 0 };

function runnerOf(caller: Input<'TakeRun'>['caller']): RunnerIdentity {
  const { identity } = requireUser(caller);
  return { sub: identity.sub, iss: identity.iss };
}

function isHeldBy(run: RunRow & { lease_expired: boolean }, runner: RunnerIdentity): boolean {
  return run.status === 'running' && !run.lease_expired && run.runner_sub === runner.sub && run.runner_iss === runner.iss;
}

/** Why `runner` may not report on `run` although it is a runner of its site: the 404 or 422 to answer. */
function notHeld(run: (RunRow & { lease_expired: boolean }) | undefined, runId: string): Error {
  if (!run) return new NotFoundError('Run', runId);
  if (run.status === 'queued') {
    return new InvalidStateError(`Run ${runId} is queued: its lease expired before this report, and it went back to the queue`);
  }
  if (run.status === 'running') {
    return run.lease_expired
      ? new InvalidStateError(`Run ${runId}'s lease expired at ${run.lease_deadline?.toISOString()}; it is no longer yours`)
      : new InvalidStateError(`Run ${runId} is held by another runner (this runner's lease on it expired earlier)`);
  }
  return new InvalidStateError(`Run ${runId} is already ${run.status}`);
}

export class RunsService {
  constructor(
    private readonly db: Database,
    private readonly validator: ResultValidator,
    private readonly leases: RunLeases,
    private readonly lists: RunLists,
    private readonly outcomes: RunOutcomes,
  ) {}

  listRuns({ query }: Input<'ListRuns'>): Promise<Schemas['Runs']> {
    return this.lists.list(query);
  }

  async createRun({ body, caller }: Input<'CreateRun'>): Promise<Schemas['Run']> {
    const { user } = requireUser(caller);
    const tagIds = [...new Set(body.tags_ids ?? [])];
    const [benchmark, flavor, tags] = await Promise.all([
      this.db.prisma.benchmark.findUnique({ where: { id: body.benchmark_id } }),
      this.db.prisma.flavor.findUnique({ where: { id: body.flavor_id } }),
      tagIds.length > 0 ? this.db.prisma.tag.findMany({ where: { id: { in: tagIds } }, select: { id: true } }) : [],
    ]);
    if (!benchmark) throw new NotFoundError('Benchmark', body.benchmark_id);
    if (!flavor) throw new NotFoundError('Flavor', body.flavor_id);
    if (benchmark.status !== 'approved') throw new InvalidStateError(`Benchmark ${benchmark.id} is not approved yet`);
    if (flavor.status !== 'approved') throw new InvalidStateError(`Flavor ${flavor.id} is not approved yet`);
    const parameters = body.parameters ?? {};
    await this.assertParameters((benchmark.parameters_schema as Record<string, unknown> | null) ?? NO_PARAMETERS, parameters);
    const missing = tagIds.find((id) => !tags.some((tag) => tag.id === id));
    if (missing) throw new NotFoundError('Tag', missing);
    const row = await writeOrExplain(
      () =>
        this.db.prisma.run.create({
          data: {
            benchmark_id: benchmark.id,
            flavor_id: flavor.id,
            site_id: flavor.site_id,
            parameters: parameters as Prisma.InputJsonObject,
            tags_ids: tagIds,
            requester_sub: user.sub,
            requester_iss: user.iss,
          },
          omit: { log: true },
        }),
      // The benchmark, flavor or user vanished since they were read.
      { missingReference: () => new NotFoundError('Benchmark or flavor', `${benchmark.id} / ${flavor.id}`) },
    );
    return toRun(row);
  }

  /** A 422 naming the JSON path where `parameters` fail `schema`. */
  private async assertParameters(schema: Record<string, unknown>, parameters: unknown): Promise<void> {
    const problem = await this.validator.problemWith(schema, parameters);
    if (!problem) return;
    if (problem.timedOut) {
      throw new ParametersInvalidError("The parameters could not be checked against the benchmark's parameters_schema in time", {
        'body.parameters': 'validation took too long',
      });
    }
    const [path, reason] = Object.entries(problem.errors)[0] ?? ['/', 'invalid'];
    const errors = Object.fromEntries(
      Object.entries(problem.errors).map(([where, why]) => [`body.parameters${where === '/' ? '' : where}`, why]),
    );
    throw new ParametersInvalidError(`The parameters do not match the benchmark's parameters_schema: at ${path}: ${reason}`, errors);
  }

  async getRun({ params }: Input<'GetRun'>): Promise<Schemas['Run']> {
    await this.leases.sweep({ runId: params.run_id });
    const run = await findRun(this.db.prisma, params.run_id);
    if (!run) throw new NotFoundError('Run', params.run_id);
    return toRun(run);
  }

  async getRunLog({ params }: Input<'GetRunLog'>): Promise<Download> {
    const run = await this.db.prisma.run.findUnique({ where: { id: params.run_id }, select: { log: true } });
    if (!run) throw new NotFoundError('Run', params.run_id);
    return new Download('text/plain; charset=utf-8', `run-${params.run_id}.log`, Readable.from([Buffer.from(run.log)]), 'inline');
  }

  async cancelRun({ params }: Input<'CancelRun'>): Promise<Schemas['Run']> {
    const cancelled = await cancelRun(this.db.prisma, params.run_id);
    if (cancelled) return toRun(cancelled);
    const run = await findRun(this.db.prisma, params.run_id);
    if (!run) throw new NotFoundError('Run', params.run_id);
    throw new InvalidStateError(`Run ${params.run_id} is already ${run.status}`);
  }

  async takeRun({ params, caller }: Input<'TakeRun'>): Promise<Output<'TakeRun'>> {
    const runner = runnerOf(caller);
    await this.leases.sweepSite(params.site_id);
    const run = await takeRun(this.db.prisma, params.site_id, runner, this.leases.leaseSeconds);
    if (!run) return NO_CONTENT;
    return { run: toRun(run), docker_image: run.docker_image, docker_tag: run.docker_tag, lease_seconds: this.leases.leaseSeconds };
  }

  async heartbeatRun({ params, body, caller }: Input<'HeartbeatRun'>): Promise<Schemas['RunLease']> {
    const runner = runnerOf(caller);
    const log = body.log ?? '';
    const extended = await extendLease(this.db.prisma, params.run_id, runner, log, this.leases.leaseSeconds);
    if (extended) return { status: 'running', cancelled: false, lease_deadline: extended.lease_deadline?.toISOString() ?? null };
    const run = await findRun(this.db.prisma, params.run_id);
    const heldWhenCancelled = run?.status === 'cancelled' && run.runner_sub === runner.sub && run.runner_iss === runner.iss;
    if (heldWhenCancelled) {
      if (log) await appendToCancelled(this.db.prisma, params.run_id, runner, log);
      return { status: 'cancelled', cancelled: true, lease_deadline: null };
    }
    throw await this.lostLease(run, params.run_id);
  }

  async completeRun({ params, body, caller }: Input<'CompleteRun'>): Promise<Schemas['Run']> {
    const runner = runnerOf(caller);
    const executed = parseExecutionDatetime(body.execution_datetime, 'body.execution_datetime');
    const held = await findRun(this.db.prisma, params.run_id);
    if (!held || !isHeldBy(held, runner)) throw await this.lostLease(held, params.run_id);
    const benchmark = await this.db.prisma.benchmark.findUnique({ where: { id: held.benchmark_id }, select: { json_schema: true } });
    if (!benchmark) throw new NotFoundError('Run', params.run_id);
    const problem = await this.validator.problemWith(benchmark.json_schema as Record<string, unknown>, body.result);
    // Output that fails the schema fails the run instead of being stored; either statement checks again that this runner holds the run.
    const ended = problem
      ? await failRun(this.db.prisma, params.run_id, runner, { reason: problem.message, requeue: false, maxAttempts: 0 })
      : await completeRun(this.db.prisma, params.run_id, runner, { json: body.result, execution_datetime: executed });
    if (!ended) throw await this.lostLease(await findRun(this.db.prisma, params.run_id), params.run_id);
    this.outcomes.announce([ended]);
    return toRun(ended);
  }

  async failRun({ params, body, caller }: Input<'FailRun'>): Promise<Schemas['Run']> {
    const runner = runnerOf(caller);
    const ended = await failRun(this.db.prisma, params.run_id, runner, {
      reason: body.reason,
      requeue: body.requeue ?? false,
      maxAttempts: this.leases.maxAttempts,
    });
    if (!ended) throw await this.lostLease(await findRun(this.db.prisma, params.run_id), params.run_id);
    this.outcomes.announce([ended]);
    return toRun(ended);
  }

  /** The error for a report on a run its runner does not hold; an expired lease is swept on the way. */
  private async lostLease(run: (RunRow & { lease_expired: boolean }) | undefined, runId: string): Promise<Error> {
    if (run?.status === 'running' && run.lease_expired) await this.leases.sweep({ runId });
    return notHeld(run, runId);
  }

  async getRunQueue({ params }: Input<'GetRunQueue'>): Promise<Schemas['RunQueue']> {
    const site = await this.db.prisma.site.findUnique({ where: { id: params.site_id }, select: { id: true } });
    if (!site) throw new NotFoundError('Site', params.site_id);
    await this.leases.sweep({ siteId: params.site_id });
    const queue = await queueOf(this.db.prisma, params.site_id, this.leases.leaseSeconds);
    return { site_id: params.site_id, ...queue, last_poll_datetime: queue.last_poll_datetime?.toISOString() ?? null };
  }

  listSiteRunners({ params }: Input<'ListSiteRunners'>): Promise<Schemas['SiteRunners']> {
    return this.runnersOf(params.site_id);
  }

  private async runnersOf(siteId: string): Promise<Schemas['SiteRunners']> {
    const site = await this.db.prisma.site.findUnique({
      where: { id: siteId },
      select: { runners: { include: { user: { select: { email: true } } }, orderBy: [{ iss: 'asc' }, { sub: 'asc' }] } },
    });
    if (!site) throw new NotFoundError('Site', siteId);
    return {
      site_id: siteId,
      runners: site.runners.map((runner) => ({
        sub: runner.sub,
        iss: runner.iss,
        email: runner.user.email,
        designation_datetime: runner.designation_datetime.toISOString(),
        last_poll_datetime: runner.last_poll_datetime?.toISOString() ?? null,
      })),
    };
  }

  async updateSiteRunners({ params, body }: Input<'UpdateSiteRunners'>): Promise<Schemas['SiteRunners']> {
    const wanted = [...new Map(body.runners.map((runner) => [`${runner.iss}\n${runner.sub}`, runner])).values()];
    await writeOrExplain(
      () =>
        this.db.prisma.$transaction(async (tx) => {
          const site = await tx.site.findUnique({ where: { id: params.site_id }, select: { id: true } });
          if (!site) throw new NotFoundError('Site', params.site_id);
          // Runners kept keep their designation date and last poll.
          await tx.siteRunner.deleteMany({
            where: { site_id: params.site_id, NOT: { OR: wanted.map((runner) => ({ sub: runner.sub, iss: runner.iss })) } },
          });
          await tx.siteRunner.createMany({
            data: wanted.map((runner) => ({ site_id: params.site_id, sub: runner.sub, iss: runner.iss })),
            skipDuplicates: true,
          });
        }),
      { missingReference: () => this.unregistered(params.site_id, wanted) },
    );
    return this.runnersOf(params.site_id);
  }

  /** After a foreign key failed: the first identity that is no registered user, as a 422 (or the site, deleted meanwhile). */
  private async unregistered(siteId: string, identities: RunnerIdentity[]): Promise<Error> {
    const users = await this.db.prisma.user.findMany({ where: { OR: identities }, select: { sub: true, iss: true } });
    const known = new Set(users.map((user) => `${user.iss}\n${user.sub}`));
    const index = identities.findIndex((identity) => !known.has(`${identity.iss}\n${identity.sub}`));
    if (index < 0) return new NotFoundError('Site', siteId);
    const identity = identities[index] as RunnerIdentity;
    return new UnprocessableError(`${identity.sub} (issuer ${identity.iss}) is not a registered user; runners must register first`, {
      [`body.runners[${index}]`]: 'not a registered user',
    });
  }

  async deleteSiteRunners({ params }: Input<'DeleteSiteRunners'>): Promise<void> {
    const site = await this.db.prisma.site.findUnique({ where: { id: params.site_id }, select: { id: true } });
    if (!site) throw new NotFoundError('Site', params.site_id);
    await this.db.prisma.siteRunner.deleteMany({ where: { site_id: params.site_id } });
  }
}
