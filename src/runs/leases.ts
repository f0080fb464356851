// Leases of running runs. A runner that stops sending heartbeats loses its
// run when the lease expires: the run goes back to the queue, or fails after
// RUN_MAX_ATTEMPTS. Nothing has to stay alive for that to happen: whoever
// reads or takes runs sweeps the expired leases in scope first (one indexed
// UPDATE), and every instance also sweeps them all now and then so that
// requesters hear of lost runs without anybody looking. Sweeps are safe at
// once on many instances (db/run-queue.ts, expireLeases).
import type { Database } from '../db/client.js';
import { expireLeases } from '../db/run-queue.js';
import type { RunOutcomes } from './outcomes.js';

/** The periodic sweep's interval: half a lease, between 1 s and 1 min. */
export function sweepIntervalMs(leaseSeconds: number): number {
  return Math.min(60_000, Math.max(1000, (leaseSeconds * 1000) / 2));
}

export class RunLeases {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly outcomes: RunOutcomes,
    readonly leaseSeconds: number,
    readonly maxAttempts: number,
  ) {}

  /** Expires the leases that ran out, of one run, one site's runs, or every run. */
  async sweep(scope: { runId?: string; siteId?: string } = {}): Promise<void> {
    const expired = await expireLeases(this.db.prisma, scope, this.maxAttempts);
    this.outcomes.announce(expired);
  }

  /** Sweeps every run from time to time until stopped; a failed sweep is simply tried again next time. */
  start(onError: (error: unknown) => void): void {
    this.timer = setInterval(() => {
      this.sweep().catch(onError);
    }, sweepIntervalMs(this.leaseSeconds)).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
