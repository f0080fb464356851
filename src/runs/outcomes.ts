// Telling people how their runs ended: an e-mail to the requester of each
// run that completed or failed, sent after the transition committed. Reading
// what the message names (benchmark, flavor, address) is one query; if it
// fails, the outcome is still stored and a warning is logged: a request that
// changed a run is never answered with an error for a mail it could not send.
import type { Database, FeedLog } from '../db/client.js';
import type { RunRow } from '../db/run-queue.js';
import type { Notifier } from '../notifications/index.js';

export class RunOutcomes {
  constructor(
    private readonly db: Database,
    private readonly notifier: Notifier,
    private readonly log: FeedLog,
  ) {}

  /** Announces, in the background, those of `runs` that completed or failed. */
  announce(runs: readonly RunRow[]): void {
    const ended = runs.filter((run) => run.status === 'completed' || run.status === 'failed');
    if (ended.length === 0) return;
    this.notifyEnded(ended).catch((error: unknown) => {
      this.log.warn(`runs ${ended.map((run) => run.id).join(', ')} ended, but their requesters could not be told: ${String(error)}`);
    });
  }

  private async notifyEnded(ended: RunRow[]): Promise<void> {
    const details = await this.db.prisma.run.findMany({
      where: { id: { in: ended.map((run) => run.id) } },
      select: {
        id: true,
        benchmark: { select: { docker_image: true, docker_tag: true } },
        flavor: { select: { name: true, site: { select: { name: true } } } },
        requester: { select: { email: true } },
      },
    });
    const byId = new Map(details.map((row) => [row.id, row]));
    for (const run of ended) {
      const detail = byId.get(run.id);
      if (!detail) continue;
      const names = {
        runId: run.id,
        benchmark: `${detail.benchmark.docker_image}:${detail.benchmark.docker_tag}`,
        flavor: `${detail.flavor.site.name} / ${detail.flavor.name}`,
        requester: detail.requester,
      };
      if (run.status === 'completed' && run.result_id) this.notifier.notify({ type: 'run_completed', resultId: run.result_id, ...names });
      else this.notifier.notify({ type: 'run_failed', reason: run.failure_reason ?? 'unknown', ...names });
    }
  }
}
