// What every instance of the service hears when a table that results pages
// show changes, wherever the write came from: the triggers of migration
// 20261202131000_change_notifications NOTIFY a channel at commit, and each
// instance LISTENs on it (PostgreSQL: one dedicated connection; PGlite: in
// process). The result pages' cache (results/result-pages.ts) trusts what it
// remembers only while it hears.
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { endOfWal, type WalSizes, walPosition } from './wal-positions.js';

/** The channel the triggers notify; the payload is the changed table's name. */
export const CHANGES_CHANNEL = 'eosc_perf_changes';

/** The `application_name` of the listening connection, as pg_stat_activity shows it. */
export const LISTENER_APPLICATION_NAME = 'eosc-perf-api changes';

export interface ChangeHandlers {
  /** A transaction that changed `table` has committed. */
  changed(table: string): void;
  /** Changes may have been missed (the connection went down, or came back up): anything remembered may be stale. */
  lost(): void;
}

/** What a sync established. */
export interface SyncPoint {
  /**
   * Every change committed before the sync began has been handed to
   * `changed`; false when that cannot be known (not listening): then nothing
   * remembered may be trusted.
   */
  heard: boolean;
  /**
   * The end of the primary's WAL at the sync, when the feed was asked for
   * it (PgChangeFeedOptions.walPosition): a read replica that has replayed
   * this far holds every change the sync heard of (read-replicas.ts).
   */
  walEnd?: bigint;
}

export interface ChangeFeed {
  /** Waits until every change committed before the call has been heard (or that cannot be known). */
  sync(): Promise<SyncPoint>;
  /** Whether it hears changes now (for /metrics). */
  readonly listening: boolean;
  close(): Promise<void>;
}

const HEARD: SyncPoint = { heard: true };
const DEAF: SyncPoint = { heard: false };

/** PGlite runs in this process and hands notifications over before the committing query returns. */
export function pgliteChangeFeed(pglite: PGlite, handlers: ChangeHandlers): ChangeFeed {
  const listening = pglite.listen(CHANGES_CHANNEL, (table) => handlers.changed(table));
  return {
    listening: true,
    sync: () =>
      listening.then(
        () => HEARD,
        () => DEAF,
      ),
    async close() {
      const unlisten = await listening.catch(() => undefined);
      if (unlisten && !pglite.closed) await unlisten();
    },
  };
}

export interface PgChangeFeedOptions {
  /** How to reach the server (the pool's connection settings). */
  connection: pg.ClientConfig;
  /** The longest a sync may wait for the server before the feed counts as down, ms. */
  timeoutMs: number;
  /** Each sync also reads the primary's WAL position (for read replicas). */
  walPosition: boolean;
  log: { info(msg: string): void; warn(msg: string): void };
}

/** Waits between attempts to listen again, ms: doubling from the first to the last. */
const RETRY_DELAYS_MS = { first: 100, last: 5000 };

/**
 * One connection that does nothing but LISTEN, reconnecting with back-off
 * when it is lost. `sync` is a round trip on that connection: PostgreSQL
 * sends a listening session every notification pending for it before the
 * answer to its next query (postgres.c, before ReadyForQuery), so once the
 * answer is in, every change committed before the query was sent has been
 * handled.
 */
export class PgChangeFeed implements ChangeFeed {
  private client: pg.Client | undefined;
  listening = false;
  private closed = false;
  private retryMs = RETRY_DELAYS_MS.first;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The primary's, read once listening (walPosition). */
  private walSizes: WalSizes | undefined;
  /** The round trip on its way, and the one after it for callers that came while it was. */
  private sent: Promise<SyncPoint> | undefined;
  private queued: Promise<SyncPoint> | undefined;

  constructor(
    private readonly handlers: ChangeHandlers,
    private readonly options: PgChangeFeedOptions,
  ) {
    void this.connect();
  }

  sync(): Promise<SyncPoint> {
    if (!this.listening) return Promise.resolve(DEAF);
    if (!this.sent) {
      this.sent = this.roundTrip();
      return this.sent;
    }
    // The round trip on its way may have been sent before this caller's
    // read began, so it proves nothing about that read: join the next one.
    this.queued ??= this.sent.then(() => {
      this.queued = undefined;
      if (!this.listening) return DEAF;
      this.sent = this.roundTrip();
      return this.sent;
    });
    return this.queued;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.drop();
    await client?.end().catch(() => {});
  }

  private roundTrip(): Promise<SyncPoint> {
    const client = this.client;
    const promise = (async (): Promise<SyncPoint> => {
      if (!client) return DEAF;
      try {
        // The insert position, not pg_current_wal_lsn(): a commit with synchronous_commit = off
        // may not have been written out yet, and is visible all the same.
        const { rows } = await client.query<{ lsn: string | null }>(
          this.options.walPosition ? 'SELECT pg_current_wal_insert_lsn()::text AS lsn' : 'SELECT NULL AS lsn',
        );
        if (client !== this.client || !this.listening) return DEAF;
        const lsn = rows[0]?.lsn;
        const sizes = this.walSizes;
        return lsn && sizes ? { heard: true, walEnd: endOfWal(walPosition(lsn), sizes) } : HEARD;
      } catch {
        this.lose(client, 'does not answer');
        return DEAF;
      }
    })().finally(() => {
      if (this.sent === promise) this.sent = undefined;
    });
    return promise;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      ...this.options.connection,
      application_name: LISTENER_APPLICATION_NAME,
      keepAlive: true,
      query_timeout: this.options.timeoutMs,
    });
    this.client = client;
    client.on('notification', (message) => {
      if (client === this.client && message.channel === CHANGES_CHANNEL) this.handlers.changed(message.payload ?? '');
    });
    client.on('error', () => this.lose(client, 'failed'));
    client.on('end', () => this.lose(client, 'closed'));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      if (this.options.walPosition) this.walSizes = await walSizes(client);
    } catch {
      this.lose(client, 'cannot be opened');
      return;
    }
    if (client !== this.client || this.closed) return;
    // Whatever changed while nobody listened is unknown.
    this.listening = true;
    this.retryMs = RETRY_DELAYS_MS.first;
    this.handlers.lost();
    this.options.log.info('listening for changes: the results cache is in use');
  }

  /** The connection `client` is gone (or useless): stop trusting, and listen again soon. */
  private lose(client: pg.Client, how: string): void {
    if (client !== this.client) return;
    const wasListening = this.listening;
    this.drop();
    client.end().catch(() => {});
    this.handlers.lost();
    if (this.closed) return;
    if (wasListening) this.options.log.warn(`the connection listening for changes ${how}: the results cache is bypassed until it is back`);
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_DELAYS_MS.last);
  }

  private drop(): void {
    this.client = undefined;
    this.listening = false;
  }
}

async function walSizes(client: pg.Client): Promise<WalSizes> {
  const { rows } = await client.query<{ block: string; segment: string }>(
    `SELECT current_setting('wal_block_size') AS block,
            (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS segment`,
  );
  return { block: BigInt(rows[0]?.block ?? '8192'), segment: BigInt(rows[0]?.segment ?? '16777216') };
}
