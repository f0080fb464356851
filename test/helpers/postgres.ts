// A throwaway PostgreSQL server for tests: TEST_DATABASE_URL when set, else a fresh cluster
// from the local PostgreSQL 15 binaries in a temp dir, or null when there are none.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** URL of the server's default database. */
  url: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** A streaming replica of the whole server (undefined with TEST_DATABASE_URL). */
  startReplica?(): Promise<TestReplica>;
  /** Stops the server and removes its files (with TEST_DATABASE_URL: drops the databases created). */
  stop(): Promise<void>;
}

export interface TestReplica {
  /** URL of the replica's default database; every database of the primary is there by the same name. */
  url: string;
  /** Stops and restarts applying the primary's changes: the replica lags while paused. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Stops the replica and removes its files. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

export async function startPostgres(): Promise<TestPostgres | null> {
  const external = process.env.TEST_DATABASE_URL?.trim();
  if (external) return externalServer(external);
  const bindir = findBindir();
  return bindir === null ? null : startCluster(bindir);
}

function findBindir(): string | null {
  const candidates = ['/usr/lib/postgresql/15/bin'];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no pg_config on PATH
  }
  return candidates.find((dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres'))) ?? null;
}

function databaseUrl(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.href;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function externalServer(url: string): TestPostgres {
  const created: string[] = [];
  return {
    url,
    async createDatabase(name) {
      const unique = `${name}_${randomBytes(4).toString('hex')}`;
      await adminQuery(url, `CREATE DATABASE ${quoteIdent(unique)}`);
      created.push(unique);
      return databaseUrl(url, unique);
    },
    async stop() {
      for (const name of created.splice(0)) {
        await adminQuery(url, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => {});
      }
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startCluster(bindir: string): Promise<TestPostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eosc-perf-pg-'));
  const data = path.join(dir, 'data');
  // PostgreSQL refuses to run as root: run it as the postgres user, owner of the temp dir.
  const ids = process.getuid?.() === 0 ? postgresUserIds() : {};
  if (ids.uid !== undefined && ids.gid !== undefined) chownSync(dir, ids.uid, ids.gid);

  try {
    execFileSync(path.join(bindir, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'], {
      ...ids,
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const primary = await runServer(bindir, dir, ids);
  return {
    url: primary.url,
    async createDatabase(name) {
      await adminQuery(primary.url, `CREATE DATABASE ${quoteIdent(name)}`);
      return databaseUrl(primary.url, name);
    },
    async startReplica() {
      return startReplica(bindir, primary.url, ids);
    },
    stop: primary.stop,
  };
}

/**
 * A hot standby streaming from the server at `primaryUrl`: a base backup
 * (pg_basebackup -R, which writes the standby's connection settings) started
 * as a server of its own. initdb's default pg_hba.conf lets 127.0.0.1 in for
 * replication.
 */
async function startReplica(bindir: string, primaryUrl: string, ids: { uid?: number; gid?: number }): Promise<TestReplica> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eosc-perf-pg-replica-'));
  if (ids.uid !== undefined && ids.gid !== undefined) chownSync(dir, ids.uid, ids.gid);
  const primary = new URL(primaryUrl);
  try {
    execFileSync(
      path.join(bindir, 'pg_basebackup'),
      [
        '-D',
        path.join(dir, 'data'),
        '-R',
        '-X',
        'stream',
        '-c',
        'fast',
        '--no-sync',
        '-h',
        primary.hostname,
        '-p',
        primary.port,
        '-U',
        'postgres',
      ],
      { ...ids, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pg_basebackup failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const replica = await runServer(bindir, dir, ids);
  return {
    url: replica.url,
    pauseReplay: () => adminQuery(replica.url, 'SELECT pg_wal_replay_pause()'),
    resumeReplay: () => adminQuery(replica.url, 'SELECT pg_wal_replay_resume()'),
    stop: replica.stop,
  };
}

/**
 * Runs `postgres` on the data directory `dir`/data, on a free port of 127.0.0.1,
 * until stop() (or this process's exit): the URL of its default database.
 */
async function runServer(
  bindir: string,
  dir: string,
  ids: { uid?: number; gid?: number },
): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const postgresArgs = [
    '-D',
    path.join(dir, 'data'),
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ];
  // A watchdog shell owns the server: when our end of its stdin closes (stop(), or this process
  // exiting for any reason, even SIGKILL) it stops the server at once and removes the temp dir.
  // It marks a server that ended on its own with an "exited" file, so start-up fails fast.
  const watchdog = [
    // Background jobs of a non-interactive shell read /dev/null: keep our pipe as fd 3.
    'exec 3<&0',
    '"$@" >"$PGTEST_DIR/server.log" 2>&1 </dev/null 3<&- &',
    'pid=$!',
    '( cat <&3 >/dev/null; kill -QUIT "$pid" 2>/dev/null ) &',
    'exec 3<&-',
    'wait "$pid"',
    ': >"$PGTEST_DIR/exited"',
    'wait',
    'rm -rf "$PGTEST_DIR"',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', watchdog, 'pg-watchdog', path.join(bindir, 'postgres'), ...postgresArgs], {
    ...ids,
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGTEST_DIR: dir },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // Neither the child nor its pipe keeps this process alive; exiting closes the pipe.
  child.unref();
  (child.stdin as Socket).unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      child.ref(); // wait for the shutdown even if nothing else keeps this process alive
      child.stdin?.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    await waitUntilReady(
      url,
      () => existsSync(path.join(dir, 'exited')),
      () => readLog(dir),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

function postgresUserIds(): { uid?: number; gid?: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root, but there is no "postgres" user to run PostgreSQL as');
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'server.log'), 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '(no server log)';
  }
}

async function waitUntilReady(url: string, hasExited: () => boolean, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (hasExited()) throw new Error(`PostgreSQL exited during start-up:\n${log()}`);
    try {
      await adminQuery(url, 'SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not start within ${START_TIMEOUT_MS} ms: ${String(err)}\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Runs one SQL text on a connection of the test's own and answers its rows. */
export type RunSql = (text: string) => Promise<Record<string, unknown>[]>;

/**
 * Makes every INSERT into `table` sleep `seconds` on the server (a BEFORE
 * INSERT trigger named `name`), to hold a statement between two of its steps
 * while the test acts. `paused()` resolves once a statement sleeps there
 * (throws after 5 s without one); `remove()` drops the trigger.
 */
export async function pauseInserts(run: RunSql, name: string, table: string, seconds: number) {
  await run(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(${seconds}); RETURN NEW; END $$`);
  await run(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  return {
    async paused(): Promise<void> {
      for (let i = 0; i < 1000; i++) {
        const [row] = await run("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep'");
        if (row?.n) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error(`no INSERT into ${table} paused within 5 s`);
    },
    remove: () => run(`DROP TRIGGER IF EXISTS ${name} ON ${table}`),
  };
}
