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

/** How often a site's leases (or all of them) are swept before takes and lists. */
const THROTTLED_SWEEP_INTERVAL_MS = 1000;
/** Sweeps whose time is remembered; the oldest is forgotten beyond. */
const MAX_REMEMBERED_SWEEPS = 10_000;

export class RunLeases {
  private timer: NodeJS.Timeout | undefined;
  /** When each throttled sweep last ran: by site id, '' for all. */
  private readonly swept = new Map<string, number>();

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

  /**
   * Before a site's queue is taken from: its expired leases, at most once a
   * second per site on this instance — a runner polling in a tight loop
   * does not sweep on every poll, and a run lost a moment ago is taken a
   * moment later.
   */
  sweepSite(siteId: string): Promise<void> {
    return this.atMostEverySecond(siteId, { siteId });
  }

  /** Before runs are listed: every expired lease, at most once a second on this instance. */
  sweepAll(): Promise<void> {
    return this.atMostEverySecond('', {});
  }

  private async atMostEverySecond(key: string, scope: { siteId?: string }): Promise<void> {
    const now = Date.now();
    if (now - (this.swept.get(key) ?? 0) < THROTTLED_SWEEP_INTERVAL_MS) return;
    this.swept.set(key, now);
    if (this.swept.size > MAX_REMEMBERED_SWEEPS) this.swept.delete(this.swept.keys().next().value as string);
    await this.sweep(scope);
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
