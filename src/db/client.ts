// One place that turns DATABASE_URL into a Prisma client: a PostgreSQL server
// through a pg Pool, or an embedded PGlite (on disk under dataDir, or in memory).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { type Prisma, PrismaClient } from '../../generated/prisma/client.js';
import { type Config, ConfigError, parseDatabaseUrl } from '../config.js';
import { errorMessage, passwordScrubber, redactUrl } from './connection-text.js';
import { type ChangeFeed, type ChangeHandlers, PgChangeFeed, pgliteChangeFeed } from './change-feed.js';
import { DataDirLockedError, lockDataDir } from './data-dir-lock.js';
import { ReadReplicas, type ReplicaReadOutcome } from './read-replicas.js';
import { PgliteMigrationFactory, PgMigrationFactory } from './migration-adapters.js';

export type DatabaseKind = 'postgresql' | 'pglite';

/** What the schema engine connects through; release() once the engine is done with it. */
export interface MigrationConnection {
  factory: SqlMigrationAwareDriverAdapterFactory;
  release(): Promise<void>;
}

export interface Database {
  kind: DatabaseKind;
  prisma: PrismaClient;
  /** The URL without credentials, or "pglite:<dir>" / "pglite:memory", for messages. */
  description: string;
  /** Adapter factory for the schema engine, on the same database (the same instance for PGlite). */
  migrationAdapter(): MigrationConnection;
  /** Cheap "SELECT 1"; throws when the database does not answer. */
  ping(): Promise<void>;
  /** The connection pool's use (PostgreSQL); undefined for the embedded database, which has none. */
  poolStats(): PoolStats | undefined;
  /**
   * The rows of `query` in batches of up to `size`, read through a cursor as
   * they are consumed, so a large result set never sits in the service's
   * memory. Stopping early (`return()`, a client gone) closes the cursor and
   * so stops the query. Every column should be text (or text[]): both drivers
   * then give the same values.
   */
  readInBatches<Row>(query: Prisma.Sql, size: number): AsyncGenerator<Row[]>;
  /**
   * Runs `work`, a read whose answer may be remembered, on a read replica
   * that has replayed the primary's WAL up to `walEnd` (a sync's), or else
   * on the primary (read-replicas.ts; without DATABASE_REPLICA_URLS, always
   * the primary).
   */
  readAsOf<T>(walEnd: bigint | undefined, work: (prisma: PrismaClient) => Promise<T>): Promise<T>;
  /** Such reads by where they went, and the replicas answering; undefined without replicas (for /metrics). */
  replicaStats(): ReplicaStats | undefined;
  /** Starts listening for committed changes to the tables results pages show (change-feed.ts); close() the feed before the database. */
  listenForChanges(handlers: ChangeHandlers, log: FeedLog): ChangeFeed;
  close(): Promise<void>;
  /** Where engine and driver messages go. */
  log: DatabaseLog;
}

export interface PoolStats {
  /** Connections open, idle among them, and queries waiting for one. */
  total: number;
  idle: number;
  waiting: number;
}

export interface ReplicaStats {
  reads: Readonly<Record<ReplicaReadOutcome, number>>;
  /** Replicas that answer now. */
  up: number;
}

/** Where the change feed and the read replicas say that they stopped or started working. */
export interface FeedLog {
  info(msg: string): void;
  warn(msg: string): void;
}

/**
 * Where the database's own messages go (a pino logger fits): the schema
 * engine's progress at debug; connections the driver lost, a lock taken from
 * under the data directory and read replicas coming and going at warn.
 */
export interface DatabaseLog extends FeedLog {
  debug(msg: string): void;
}

/** Says nothing: where no one listens (tests, scripts). */
export const SILENT_LOG: DatabaseLog = { debug: () => {}, info: () => {}, warn: () => {} };

export interface OpenOptions {
  databaseUrl?: string;
  dataDir: string;
  log?: DatabaseLog;
  /**
   * PostgreSQL: how long one query may wait for the server's answer, ms. A
   * server that stops answering without closing its connections (paused, a
   * network partition) would otherwise hold requests forever.
   */
  queryTimeoutMs?: number;
  /** PostgreSQL read replicas of the primary (DATABASE_REPLICA_URLS). */
  replicaUrls?: string[];
}

/** The database named by the environment cannot be used. The message names no password and no
 * variable, so that a caller can print `${variable}: ${message}`. */
export class DatabaseOpenError extends Error {
  constructor(
    readonly variable: 'DATABASE_URL' | 'DATA_DIR' | 'DATABASE_REPLICA_URLS',
    message: string,
  ) {
    super(message);
    this.name = 'DatabaseOpenError';
  }
}

const POOL_SIZE = 10;
const CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
/** How much longer than the server's statement_timeout the client waits for an answer. */
const CLIENT_TIMEOUT_GRACE_MS = 1000;
/**
 * How long a cursor's transaction may wait for its reader between batches (a
 * download client that stopped reading) before the server ends it.
 */
const CURSOR_IDLE_MS = 60_000;
/** A replica that does not accept a connection in this time is left to its probes, ms. */
const REPLICA_CONNECT_TIMEOUT_MS = 2000;
/** The `application_name` of a read replica's connections, as the replica's pg_stat_activity shows it. */
export const REPLICA_APPLICATION_NAME = 'eosc-perf-api replica reads';
/** The `application_name` of a cursor's connection, as pg_stat_activity shows it. */
export const CURSOR_APPLICATION_NAME = 'eosc-perf-api export';

/**
 * The embedded database runs inside the service's process, so its buffer
 * cache is the service's memory. PostgreSQL's default 128 MB of shared
 * buffers adds 120 MB to the resident size of a small service (measured:
 * PGlite alone on a data directory, 368 MB → 245 MB); the files it caches are
 * in the kernel's page cache anyway. PGlite writes these lines as the data
 * directory's postgresql.conf on every open. (Not for memory://, whose files
 * live in the process: there the measurements did not show a gain.)
 */
const PGLITE_OPTIONS = { postgresqlconf: ['shared_buffers = 16MB'] };

/** The database the configuration names (DATABASE_URL, DATA_DIR, DATABASE_TIMEOUT_MS): what the server and the scripts open. */
export function openConfiguredDatabase(config: Config, log?: DatabaseLog): Promise<Database> {
  return openDatabase({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    dataDir: config.dataDir,
    queryTimeoutMs: config.databaseTimeoutMs,
    replicaUrls: config.databaseReplicaUrls,
    ...(log ? { log } : {}),
  });
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  const log = opts.log ?? SILENT_LOG;
  const raw = opts.databaseUrl?.trim();
  const replicaUrls = opts.replicaUrls ?? [];
  if (replicaUrls.length > 0 && !raw?.startsWith('postgres')) {
    throw new DatabaseOpenError('DATABASE_REPLICA_URLS', 'read replicas need a PostgreSQL primary in DATABASE_URL');
  }
  if (raw === undefined || raw === '') {
    const dir = path.resolve(opts.dataDir);
    let release: (() => Promise<void>) | undefined;
    try {
      await mkdir(dir, { recursive: true });
      release = await lockDataDir(dir, (msg) => log.warn(msg));
      return await openPglite(new PGlite(dir, PGLITE_OPTIONS), `pglite:${dir}`, log, release);
    } catch (err) {
      await release?.().catch(() => {});
      if (err instanceof DataDirLockedError) throw new DatabaseOpenError('DATA_DIR', err.message);
      throw new DatabaseOpenError('DATA_DIR', `cannot open the embedded database in ${dir}: ${errorMessage(err)}`);
    }
  }
  if (raw === 'memory://') return openPglite(new PGlite(), 'pglite:memory', log);
  try {
    parseDatabaseUrl(raw);
  } catch (err) {
    if (err instanceof ConfigError) throw new DatabaseOpenError('DATABASE_URL', err.reason);
    throw err;
  }
  return openPostgres(raw, new URL(raw), log, opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, replicaUrls);
}

async function openPostgres(raw: string, url: URL, log: DatabaseLog, queryTimeoutMs: number, replicaUrls: string[]): Promise<Database> {
  const description = redactUrl(url);
  const scrub = passwordScrubber(url);

  // keepAlive: a connection whose server vanished is eventually noticed even when idle.
  const config: pg.PoolConfig = { connectionString: raw, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true };
  // The service's queries are bounded in time; migrations (the pool below) are not: an index
  // on millions of results may take minutes.
  // The server itself cancels a statement at the timeout (statement_timeout), so
  // that a 503 for it means "not done" rather than "abandoned, maybe done
  // later"; the client waits a little longer, for a server that answers nothing
  // at all (paused, partitioned). A transaction left open by a client that gave
  // up is rolled back by the server too.
  const bounded = {
    max: POOL_SIZE,
    statement_timeout: queryTimeoutMs,
    idle_in_transaction_session_timeout: queryTimeoutMs,
    query_timeout: queryTimeoutMs + CLIENT_TIMEOUT_GRACE_MS,
  };
  const pool = new pg.Pool({ ...config, ...bounded });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', (err) => log.warn(`postgresql pool: ${scrub(err.message)}`));
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new DatabaseOpenError('DATABASE_URL', `cannot connect to ${description}: ${scrub(errorMessage(err))}`);
  }

  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  // Connected on first use: the scripts that open the database never read from them.
  const replicas =
    replicaUrls.length === 0
      ? undefined
      : new ReadReplicas(replicaUrls, {
          poolConfig: (replicaUrl) => ({
            connectionString: replicaUrl,
            connectionTimeoutMillis: REPLICA_CONNECT_TIMEOUT_MS,
            keepAlive: true,
            application_name: REPLICA_APPLICATION_NAME,
            ...bounded,
          }),
          log,
        });
  let closing: Promise<void> | undefined;
  return {
    kind: 'postgresql',
    prisma,
    description,
    log,
    // The engine takes Prisma's session-level advisory lock (pg_advisory_lock(72707369)) and
    // never unlocks it: on a shared pool it would stay held by one pooled connection for the
    // life of the service, and the next `migrate deploy` (ours or the CLI's) would time out.
    // A one-connection pool ended after each engine run keeps lock and session together.
    migrationAdapter() {
      const single = new pg.Pool({ ...config, max: 1 });
      single.on('error', (err) => log.warn(`postgresql migration connection: ${scrub(err.message)}`));
      return { factory: new PgMigrationFactory(single), release: () => single.end() };
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    readAsOf: (walEnd, work) => (replicas ? replicas.read(walEnd, prisma, work) : work(prisma)),
    replicaStats: () => replicas && { reads: replicas.reads, up: replicas.up },
    // A connection of its own, outside the pool: a long download must not hold
    // one of the pool's connections from every other request. Each FETCH is a
    // statement bounded by statement_timeout; a reader that stops reading is
    // cut off by idle_in_transaction_session_timeout.
    async *readInBatches<Row>(query: Prisma.Sql, size: number): AsyncGenerator<Row[]> {
      const client = new pg.Client({
        ...config,
        application_name: CURSOR_APPLICATION_NAME,
        statement_timeout: queryTimeoutMs,
        idle_in_transaction_session_timeout: CURSOR_IDLE_MS,
        query_timeout: queryTimeoutMs + CLIENT_TIMEOUT_GRACE_MS,
      });
      client.on('error', (err) => log.warn(`postgresql cursor connection: ${scrub(err.message)}`));
      try {
        await client.connect();
        await client.query('BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ');
        await client.query(`DECLARE export_rows NO SCROLL CURSOR FOR ${query.text}`, query.values);
        for (;;) {
          const { rows } = await client.query<Row & pg.QueryResultRow>(`FETCH ${size} FROM export_rows`);
          if (rows.length === 0) return;
          yield rows;
        }
      } finally {
        // Ending the session ends its transaction and cursor.
        await client.end().catch(() => {});
      }
    },
    listenForChanges(handlers, feedLog) {
      return new PgChangeFeed(handlers, {
        connection: config,
        timeoutMs: queryTimeoutMs,
        walPosition: replicas !== undefined,
        log: feedLog,
      });
    },
    close() {
      closing ??= (async () => {
        await replicas?.close();
        await prisma.$disconnect();
        await pool.end();
      })();
      return closing;
    },
  };
}

/**
 * A Database over an embedded PGlite instance (exported for the tests, which
 * start theirs from a copy of one migrated database: PGlite's initdb alone
 * takes 8–15 s). `unlock`: releases the data directory's lock once the
 * database is closed (none in memory).
 */
export async function openPglite(
  pglite: PGlite,
  description: string,
  log: DatabaseLog,
  unlock: () => Promise<void> = async () => {},
): Promise<Database> {
  await pglite.waitReady;
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  /** Names cursors uniquely in the one session. */
  let cursors = 0;
  let closing: Promise<void> | undefined;
  return {
    kind: 'pglite',
    prisma,
    description,
    log,
    migrationAdapter() {
      return { factory: new PgliteMigrationFactory(pglite), release: async () => {} };
    },
    async ping() {
      await pglite.query('SELECT 1');
    },
    poolStats: () => undefined,
    readAsOf: (_walEnd, work) => work(prisma),
    replicaStats: () => undefined,
    // One session serves every request: a cursor WITH HOLD outlives its own
    // statement, so other requests' queries run between its batches. (It is
    // computed whole when declared, inside PGlite's memory or data directory.)
    async *readInBatches<Row>(query: Prisma.Sql, size: number): AsyncGenerator<Row[]> {
      cursors += 1;
      const name = `rows_${cursors}`;
      await pglite.query(`DECLARE ${name} NO SCROLL CURSOR WITH HOLD FOR ${query.text}`, query.values);
      try {
        for (;;) {
          const { rows } = await pglite.query<Row>(`FETCH ${size} FROM ${name}`);
          if (rows.length === 0) return;
          yield rows;
        }
      } finally {
        await pglite.query(`CLOSE ${name}`).catch(() => {});
      }
    },
    listenForChanges(handlers) {
      return pgliteChangeFeed(pglite, handlers);
    },
    close() {
      closing ??= (async () => {
        await prisma.$disconnect();
        if (!pglite.closed) await pglite.close();
        await unlock();
      })();
      return closing;
    },
  };
}
