// Read replicas (DATABASE_REPLICA_URLS) for the reads whose answers may be
// remembered: results pages, a result, statistics. A replica must answer
// exactly what the primary would, or the caches of every instance would
// keep what it missed. So each such read carries the end of the primary's
// WAL at a moment after the request began (read by the change feed in the
// round trip it makes anyway), and a replica serves it only once it has
// replayed that far (pg_last_wal_replay_lsn()): every client reads its own
// writes, and everyone else's committed before its request, from any
// replica. A replica that lags, cannot be reached or fails a read leaves the
// read to the primary; one that failed is probed in the background until it
// answers again.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../../generated/prisma/client.js';
import { errorMessage, passwordScrubber, redactUrl } from './connection-text.js';
import { walPosition } from './wal-positions.js';

/** Why a read went where it went (eosc_perf_db_replica_reads_total's `outcome`). */
export type ReplicaReadOutcome =
  /** Served by a replica. */
  | 'replica'
  /** The primary: no replica had replayed the request's commits. */
  | 'behind'
  /** The primary: no replica answers. */
  | 'down'
  /** The primary, after the read failed on a replica. */
  | 'failed'
  /** The primary: the request's WAL position is unknown (the change feed is not listening). */
  | 'unsynced';

export interface ReplicaOptions {
  /** The pool settings of a replica at `url` (timeouts as the primary's). */
  poolConfig(url: string): pg.PoolConfig;
  log: { info(msg: string): void; warn(msg: string): void };
}

/**
 * How long a replay position read from a replica is relied on, ms. A replica
 * that restarts may reopen for reads at an earlier position than it had
 * replayed; a restart within this time ends a connection of the pool (the
 * one that read the position, idle for less than pg's 10 s), which marks the
 * replica down until a probe reads its position afresh.
 */
const REPLAY_KNOWN_MS = 1000;
/** Waits between probes of a replica that failed, ms: doubling from the first to the last. */
const PROBE_DELAYS_MS = { first: 500, last: 30_000 };

interface Replica {
  /** Its URL without credentials, for logs. */
  description: string;
  /** Takes its password out of a driver's message. */
  scrub: (text: string) => string;
  pool: pg.Pool;
  prisma: PrismaClient;
  /** The WAL position it was last seen to have replayed, and when (performance.now()). */
  replayed: bigint;
  seenAt: number;
  /** Its position being read now, shared by the reads that wait for it. */
  checking: Promise<bigint | undefined> | undefined;
  /** False from a failure until a probe gets an answer. */
  up: boolean;
  probeTimer: NodeJS.Timeout | undefined;
  probeDelayMs: number;
}

export class ReadReplicas {
  private readonly replicas: Replica[];
  private turn = 0;
  private closed = false;
  /** Reads by outcome since the start (for /metrics). */
  readonly reads: Record<ReplicaReadOutcome, number> = { replica: 0, behind: 0, down: 0, failed: 0, unsynced: 0 };

  constructor(
    urls: string[],
    private readonly options: ReplicaOptions,
  ) {
    this.replicas = urls.map((url) => {
      const parsed = new URL(url);
      const scrub = passwordScrubber(parsed);
      const pool = new pg.Pool(options.poolConfig(url));
      const replica: Replica = {
        description: redactUrl(parsed),
        scrub,
        pool,
        prisma: new PrismaClient({ adapter: new PrismaPg(pool) }),
        replayed: 0n,
        seenAt: Number.NEGATIVE_INFINITY,
        checking: undefined,
        up: true,
        probeTimer: undefined,
        probeDelayMs: PROBE_DELAYS_MS.first,
      };
      // An idle connection ended by the server (a restart, a failover): its position is no longer known.
      pool.on('error', (err) => this.fail(replica, `lost a connection (${scrub(err.message)})`));
      return replica;
    });
  }

  /** How many replicas answer now (for /metrics). */
  get up(): number {
    return this.replicas.filter((replica) => replica.up).length;
  }

  /**
   * `work` on a replica that has replayed the WAL up to `needed`, taken in turn among
   * those that have; on `primary` when none has, when `needed` is unknown,
   * or when `work` fails on the replica.
   */
  async read<T>(needed: bigint | undefined, primary: PrismaClient, work: (prisma: PrismaClient) => Promise<T>): Promise<T> {
    const chosen = needed === undefined ? 'unsynced' : await this.choose(needed);
    if (typeof chosen === 'string') {
      this.reads[chosen] += 1;
      return work(primary);
    }
    let value: T;
    try {
      value = await work(chosen.prisma);
    } catch (err) {
      this.fail(chosen, `failed a read (${chosen.scrub(errorMessage(err))})`);
      this.reads.failed += 1;
      return work(primary);
    }
    this.reads.replica += 1;
    chosen.probeDelayMs = PROBE_DELAYS_MS.first;
    return value;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.replicas.map(async (replica) => {
        clearTimeout(replica.probeTimer);
        await replica.prisma.$disconnect();
        await replica.pool.end();
      }),
    );
  }

  private async choose(needed: bigint): Promise<Replica | 'behind' | 'down'> {
    const count = this.replicas.length;
    this.turn = (this.turn + 1) % count;
    let anyUp = false;
    for (let i = 0; i < count; i += 1) {
      const replica = this.replicas[(this.turn + i) % count] as Replica;
      if (!replica.up) continue;
      anyUp = true;
      const known = performance.now() - replica.seenAt < REPLAY_KNOWN_MS;
      if (known && replica.replayed >= needed) return replica;
      const replayed = await this.check(replica);
      if (replayed !== undefined && replayed >= needed) return replica;
    }
    return anyUp ? 'behind' : 'down';
  }

  /** The replica's replay position now (undefined: it failed, and is marked down). */
  private check(replica: Replica): Promise<bigint | undefined> {
    replica.checking ??= this.replayPosition(replica)
      .then(
        (replayed) => {
          replica.replayed = replayed;
          replica.seenAt = performance.now();
          return replayed;
        },
        (err: unknown) => {
          this.fail(replica, `does not answer (${replica.scrub(errorMessage(err))})`);
          return undefined;
        },
      )
      .finally(() => {
        replica.checking = undefined;
      });
    return replica.checking;
  }

  private async replayPosition(replica: Replica): Promise<bigint> {
    const { rows } = await replica.pool.query<{ lsn: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS lsn');
    const lsn = rows[0]?.lsn;
    // A server that is not in recovery (a promoted standby, a primary's URL) replays nothing:
    // what it holds may have parted from the primary.
    if (lsn === null || lsn === undefined) throw new Error('it is not a standby (pg_last_wal_replay_lsn() is null)');
    return walPosition(lsn);
  }

  /** `replica` is not to be read from until a probe finds it answering as a standby. */
  private fail(replica: Replica, why: string): void {
    if (!replica.up || this.closed) return;
    replica.up = false;
    this.options.log.warn(`read replica ${replica.description} ${why}: its reads go to the primary until it answers`);
    this.probeLater(replica);
  }

  private probeLater(replica: Replica): void {
    replica.probeTimer = setTimeout(() => void this.probe(replica), replica.probeDelayMs);
    replica.probeTimer.unref();
    replica.probeDelayMs = Math.min(replica.probeDelayMs * 2, PROBE_DELAYS_MS.last);
  }

  private async probe(replica: Replica): Promise<void> {
    if (this.closed) return;
    try {
      replica.replayed = await this.replayPosition(replica);
      replica.seenAt = performance.now();
    } catch {
      if (!this.closed) this.probeLater(replica);
      return;
    }
    // The waits keep doubling until a read succeeds there: a replica that answers probes but fails reads
    // (a role without the rights) is tried less and less often.
    replica.up = true;
    this.options.log.info(`read replica ${replica.description} answers again`);
  }
}
