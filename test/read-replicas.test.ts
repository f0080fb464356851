// Read replicas (DATABASE_REPLICA_URLS, src/db/read-replicas.ts) on a real
// streaming standby that the test makes from the test PostgreSQL with
// pg_basebackup -R: results pages, a result and statistics are read there
// once it has replayed every commit made before the request, so that every
// read sees every write committed before it, through any instance or
// straight into the database; a replica that lags, is down, or is no
// standby at all leaves the reads to the primary, with no error.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import t from 'tap';
import { DatabaseOpenError, openDatabase, REPLICA_APPLICATION_NAME } from '../src/db/client.js';
import { endOfWal, walPosition } from '../src/db/wal-positions.js';
import { adminPersona, instancesOn, json, persona, type Test, type TestContext, testPostgres } from './helpers/app.js';
import type { Results } from './helpers/contract.js';
import { fixtures, type World } from './helpers/fixtures.js';
import type { TestReplica } from './helpers/postgres.js';

const METRICS_TOKEN = 'replica-metrics-token-0123456789';
/** Writes read back at once in the main loop. */
const ROUNDS = 60;

/** A TCP relay on 127.0.0.1 to `port` that the test can cut (every connection ended, none taken) and restore. */
async function relay(port: number): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let listenPort = 0;
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((socket) => {
        const upstream = createConnection({ port, host: '127.0.0.1' });
        sockets.add(socket).add(upstream);
        for (const end of [socket, upstream]) end.once('close', () => sockets.delete(end)).on('error', () => {});
        socket.pipe(upstream).pipe(socket);
      });
      server.listen(listenPort, '127.0.0.1', () => {
        const address = server?.address();
        if (typeof address === 'object' && address !== null) listenPort = address.port;
        resolve();
      });
    });
  await open();
  return {
    port: listenPort,
    async cut() {
      await new Promise<void>((resolve) => {
        server?.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
    restore: open,
  };
}

function withDatabase(url: string, database: string): string {
  const copy = new URL(url);
  copy.pathname = `/${database}`;
  return copy.href;
}

interface Setup {
  instances: TestContext[];
  primary: pg.Client;
  replica: TestReplica;
  replicaSql: pg.Client;
  world: World;
  owner: ReturnType<typeof persona>;
  admin: ReturnType<typeof persona>;
  database: string;
}

/**
 * A fresh database on the test server with a standby of the server, and
 * `count` instances reading from `replicaUrls(standbyUrl)`.
 */
async function setUp(t: Test, count: number, replicaUrls: (standby: string) => Promise<string[]> | string[]) {
  const server = await testPostgres();
  if (!server?.startReplica) return null;
  const database = `replicas_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const databaseUrl = await server.createDatabase(database);
  const replica = await server.startReplica();
  t.teardown(() => replica.stop());
  const standby = withDatabase(replica.url, database);
  const instances = await instancesOn(t, databaseUrl, count, {
    DATABASE_REPLICA_URLS: (await replicaUrls(standby)).join(','),
    METRICS_TOKEN,
  });
  const primary = new pg.Client({ connectionString: databaseUrl });
  await primary.connect();
  const replicaSql = new pg.Client({ connectionString: standby });
  await replicaSql.connect();
  t.teardown(async () => {
    await primary.end();
    await replicaSql.end();
  });
  const [first] = instances as [TestContext];
  const admin = adminPersona();
  const owner = persona('replicas');
  await first.register(admin);
  await first.register(owner);
  const world = await fixtures(first, admin, owner).world({}, { tags: 1 });
  return { instances, primary, replica, replicaSql, world, owner, admin, database } satisfies Setup;
}

function noReplica(t: Test): void {
  t.skip('no PostgreSQL server binaries here to make a replica with (TEST_DATABASE_URL is not replicated)', () => {});
}

async function get<T>(instance: TestContext, url: string): Promise<T> {
  const response = await instance.app.inject({ url });
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
  return json<T>(response);
}

async function upload(setup: Setup, instance: TestContext, payload: object): Promise<string> {
  const { world } = setup;
  const response = await instance.app.inject({
    method: 'POST',
    url: `/results?execution_datetime=2024-01-01T00:00:00Z&benchmark_id=${world.benchmark.id}&flavor_id=${world.flavor.id}`,
    headers: await instance.auth(setup.owner),
    payload,
  });
  if (response.statusCode !== 201) throw new Error(`upload: ${response.statusCode} ${response.body}`);
  return json<{ id: string }>(response).id;
}

/** A result written straight into the primary, as a script or psql would. */
async function insertDirectly(setup: Setup, payload: object): Promise<string> {
  const { world, owner, instances } = setup;
  const { rows } = await setup.primary.query<{ id: string }>(
    `INSERT INTO results (id, json, execution_datetime, benchmark_id, site_id, flavor_id, uploader_sub, uploader_iss)
     VALUES (gen_random_uuid(), $1, now(), $2, $3, $4, $5, $6) RETURNING id`,
    [JSON.stringify(payload), world.benchmark.id, world.site.id, world.flavor.id, owner.sub, instances[0]?.oidc.issuer],
  );
  return rows[0]?.id ?? '';
}

/** Cacheable reads of `instance` by where they went. */
function reads(instance: TestContext) {
  const stats = instance.db.replicaStats();
  if (!stats) throw new Error('no replicas configured');
  return { ...stats.reads };
}

async function waitFor(what: string, condition: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('a WAL position orders as PostgreSQL orders them', async (t) => {
  t.ok(walPosition('0/3001128') < walPosition('0/3001129'));
  t.ok(walPosition('0/FFFFFFFF') < walPosition('1/0'));
  t.equal(walPosition('16/B374D848'), (0x16n << 32n) + 0xb374d848n);
});

t.test('read replicas need a PostgreSQL primary', async (t) => {
  for (const databaseUrl of [undefined, 'memory://']) {
    await t.rejects(
      openDatabase({ ...(databaseUrl ? { databaseUrl } : {}), dataDir: '/nonexistent', replicaUrls: ['postgresql://127.0.0.1:1/perf'] }),
      new DatabaseOpenError('DATABASE_REPLICA_URLS', 'read replicas need a PostgreSQL primary in DATABASE_URL'),
      databaseUrl ?? 'the embedded database',
    );
  }
});

t.test('the end of the WAL from its insert position: no page header past the last record', async (t) => {
  const sizes = { block: 8192n, segment: 16n * 1024n * 1024n };
  t.equal(endOfWal(walPosition('0/3000028'), sizes), walPosition('0/3000000'), 'a new segment: its long header');
  t.equal(endOfWal(walPosition('0/3002018'), sizes), walPosition('0/3002000'), 'a new page: its short header');
  t.equal(endOfWal(walPosition('0/3001128'), sizes), walPosition('0/3001128'), 'within a page: as it is');
  t.equal(endOfWal(walPosition('0/3002028'), sizes), walPosition('0/3002028'), 'a record continued onto a page, ending at 40');
});

t.test('every read sees every write committed before it, served by the replica once it has them', async (t) => {
  const setup = await setUp(t, 2, (standby) => [standby]);
  if (!setup) return noReplica(t);
  const { instances, world } = setup;
  const [writer, reader] = instances as [TestContext, TestContext];
  const latest = `/results?benchmark_id=${world.benchmark.id}&sort_by=-json.i&per_page=3`;
  const before = reads(reader);

  let expected = 0;
  let caughtUp = 0;
  for (let round = 1; round <= ROUNDS; round += 1) {
    // Every other write goes straight into the primary.
    const id = round % 2 === 0 ? await insertDirectly(setup, { i: round }) : await upload(setup, writer, { i: round });
    expected += 1;
    // Read at once (the replica is behind, and the primary answers), or once the replica has the write.
    const wait = round % 3 === 0;
    if (wait) {
      caughtUp += 1;
      await waitFor('the replica has the write', async () => {
        const { rows } = await setup.replicaSql.query('SELECT 1 FROM results WHERE id = $1', [id]);
        return rows.length === 1;
      });
    }
    const served = reads(reader).replica;
    const page = await get<Results>(reader, latest);
    if (page.items[0]?.id !== id || page.total !== expected) {
      t.fail(`round ${round}: the page shows ${page.items[0]?.id} of ${page.total}, not ${id} of ${expected}`);
      return;
    }
    if (wait && reads(reader).replica === served) t.comment(`round ${round}: the replica had the write, the primary answered`);
    const one = await reader.app.inject({ url: `/results/${id}` });
    if (one.statusCode !== 200) {
      t.fail(`round ${round}: GET /results/${id} answered ${one.statusCode}`);
      return;
    }
  }
  t.pass(`${ROUNDS} writes, each read back at once through the other instance`);
  const after = reads(reader);
  const served = after.replica - before.replica;
  // A read the replica could have served goes to the primary only if more WAL came in between (autovacuum).
  t.ok(served >= caughtUp / 2, `the replica served ${served} reads, ${caughtUp} of the pages once it had the write`);
  t.ok(after.behind > before.behind, `the primary the others (${after.behind - before.behind})`);
  t.equal(after.failed + after.down, 0, 'no read failed on the replica');

  const stats = await reader.app.inject({ url: `/results:stats?benchmark_id=${world.benchmark.id}&metric=i` });
  t.equal(stats.statusCode, 200);
  t.equal(json<{ overall: { n: number } }>(stats).overall.n, ROUNDS, 'statistics of every result');

  const { rows } = await setup.replicaSql.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = $2',
    [REPLICA_APPLICATION_NAME, setup.database],
  );
  t.ok((rows[0]?.n ?? 0) > 0, 'the service holds connections to the replica');

  const metrics = await reader.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  t.match(metrics.body, /eosc_perf_db_replica_reads_total\{outcome="replica"\} [1-9]/);
  t.match(metrics.body, /eosc_perf_db_replicas_answering 1/);
});

t.test('a replica that lags: reads go to the primary, and see every write', async (t) => {
  const setup = await setUp(t, 1, (standby) => [standby]);
  if (!setup) return noReplica(t);
  const [instance] = setup.instances as [TestContext];
  const page = `/results?benchmark_id=${setup.world.benchmark.id}`;
  t.equal((await get<Results>(instance, page)).total, 0);

  await setup.replica.pauseReplay();
  const before = reads(instance);
  const uploaded = await upload(setup, instance, { i: 1 });
  const inserted = await insertDirectly(setup, { i: 2 });
  const answer = await get<Results>(instance, page);
  t.equal(answer.total, 2, 'both writes on the next page');
  t.same(answer.items.map((item) => item.id).sort(), [uploaded, inserted].sort());
  t.equal((await instance.app.inject({ url: `/results/${inserted}` })).statusCode, 200, 'the result itself');
  const { rows } = await setup.replicaSql.query<{ n: number }>('SELECT count(*)::int AS n FROM results');
  t.equal(rows[0]?.n, 0, 'which the replica does not have yet');
  const lagging = reads(instance);
  t.ok(lagging.behind > before.behind, 'read from the primary because the replica is behind');
  t.equal(lagging.replica, before.replica, 'none from the replica');

  await setup.replica.resumeReplay();
  let size = 1;
  await waitFor('the replica serves again', async () => {
    await get<Results>(instance, `${page}&per_page=${size++}`);
    return reads(instance).replica > lagging.replica;
  });
  t.equal((await get<Results>(instance, page)).total, 2);
});

t.test('a replica that goes down: reads go to the primary with no error, and back to it once it answers', async (t) => {
  // The instance reaches the standby through a relay that the test cuts.
  let link: Awaited<ReturnType<typeof relay>> | undefined;
  const setup = await setUp(t, 1, async (standby) => {
    const url = new URL(standby);
    link = await relay(Number(url.port));
    url.port = String(link.port);
    return [url.href];
  });
  if (!setup || !link) return noReplica(t);
  const cut = link;
  t.teardown(() => cut.cut());
  const [instance] = setup.instances as [TestContext];
  const page = `/results?benchmark_id=${setup.world.benchmark.id}`;
  // Each read a page of its own, none remembered.
  let size = 1;
  const readOnce = () => get<Results>(instance, `${page}&per_page=${size++}`);
  await waitFor('a read from the replica through the relay', async () => {
    await readOnce();
    return reads(instance).replica > 0;
  });

  await cut.cut();
  let expected = 0;
  for (let i = 0; i < 5; i += 1) {
    await upload(setup, instance, { i });
    expected += 1;
    const response = await instance.app.inject({ url: `${page}&per_page=${size++}` });
    t.equal(response.statusCode, 200, `read ${i} while the replica is down`);
    t.equal(json<Results>(response).total, expected);
  }
  const down = reads(instance);
  t.ok(down.failed + down.down >= 5, `read from the primary (${down.failed} failed on the replica, ${down.down} while it was down)`);
  t.equal(instance.db.replicaStats()?.up, 0, 'the replica counts as down');

  await cut.restore();
  await waitFor('the replica answers again', () => instance.db.replicaStats()?.up === 1);
  await waitFor('a read from the replica', async () => {
    await readOnce();
    return reads(instance).replica > down.replica;
  });
  t.equal((await get<Results>(instance, page)).total, expected);
});

t.test('a "replica" that is no standby is never read from', async (t) => {
  const server = await testPostgres();
  if (!server?.startReplica) return noReplica(t);
  const databaseUrl = await server.createDatabase(`not_standby_${process.pid}`);
  const logged: string[] = [];
  const logger = pino(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
        done();
      },
    }),
  );
  // The primary itself, given as a replica: its position would say nothing of what it holds.
  const [instance] = await instancesOn(t, databaseUrl, 1, { DATABASE_REPLICA_URLS: databaseUrl }, [logger]);
  if (!instance) throw new Error('no instance');
  let size = 1;
  await waitFor('a read tried on it', async () => {
    const response = await instance.app.inject({ url: `/results?per_page=${size++}` });
    t.equal(response.statusCode, 200);
    return reads(instance).down > 0;
  });
  t.equal(reads(instance).replica, 0, 'none read from it');
  t.equal(instance.db.replicaStats()?.up, 0);
  t.ok(
    logged.some((msg) => msg.includes('is not a standby')),
    'says why',
  );
});

t.test('a read that fails on a replica is read on the primary', async (t) => {
  const server = await testPostgres();
  if (!server?.startReplica) return noReplica(t);
  // A role that may connect but not read results: every results query fails on the replica.
  const role = `reader_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN`);
  await admin.end();
  const setup = await setUp(t, 1, (standby) => {
    const url = new URL(standby);
    url.username = role;
    return [url.href];
  });
  if (!setup) return noReplica(t);
  const [instance] = setup.instances as [TestContext];
  await upload(setup, instance, { i: 1 });
  let size = 1;
  await waitFor('a read that failed on the replica', async () => {
    const response = await instance.app.inject({ url: `/results?per_page=${size++}` });
    t.equal(response.statusCode, 200);
    t.equal(json<Results>(response).total, 1);
    return reads(instance).failed > 0;
  });
  t.equal(instance.db.replicaStats()?.up, 0, 'the replica is left to its probes');
});
