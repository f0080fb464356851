// A PostgreSQL that goes away, or stops answering, while the service runs: every operation
// answers a JSON 503 (never a 500, never a stack trace), /healthz says so, and
// the service recovers on its own once the database is back. The service
// reaches PostgreSQL through a TCP proxy on 127.0.0.1 that the test can cut or stall.
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import t from 'tap';
import { buildApp } from '../src/app.js';
import { OidcVerifier } from '../src/auth/oidc.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';
import { isDatabaseUnavailable, isOutcomeUnknown } from '../src/db/prisma-errors.js';
import { createNotifier } from '../src/notifications/index.js';
import { assertError } from './helpers/assertions.js';
import { startOidcProvider } from './helpers/oidc-provider.js';
import { pauseInserts, startPostgres } from './helpers/postgres.js';

interface Proxy {
  port: number;
  /** Drops every connection and refuses new ones, as a database host that went down. */
  cut(): void;
  restore(): void;
  /** Holds every byte both ways, connections open: a paused server, a network partition. */
  stall(): void;
  /** Delivers what was held and forwards again. */
  resume(): void;
  close(): Promise<void>;
}

async function startProxy(target: { host: string; port: number }): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const flushes = new Set<() => void>();
  let down = false;
  let stalled = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const forward = (from: Socket, to: Socket) => {
    const held: Buffer[] = [];
    from.on('data', (chunk: Buffer) => (stalled ? held.push(chunk) : to.write(chunk)));
    const flush = () => {
      for (const chunk of held.splice(0)) to.write(chunk);
    };
    flushes.add(flush);
    from.on('close', () => flushes.delete(flush));
  };
  const server: Server = createServer((client) => {
    track(client);
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    track(upstream);
    forward(client, upstream);
    forward(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      down = false;
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const flush of flushes) flush();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const QUERY_TIMEOUT_MS = 1000;

t.test('a database that goes away and comes back', async (t) => {
  const postgres = await startPostgres();
  if (!postgres) {
    t.skip('no PostgreSQL server binaries on this machine (install postgresql or set TEST_DATABASE_URL)', () => {});
    return;
  }
  const direct = new URL(await postgres.createDatabase(`faults_${process.pid}`));
  const proxy = await startProxy({ host: direct.hostname, port: Number(direct.port) });
  const viaProxy = new URL(direct.href);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);

  // What the driver says of the connections it loses (the service logs it at warn).
  const warnings: string[] = [];
  const log = { debug: () => {}, info: () => {}, warn: (msg: string) => warnings.push(msg) };
  const db = await openDatabase({ databaseUrl: viaProxy.href, dataDir: '', queryTimeoutMs: QUERY_TIMEOUT_MS, log });
  await applyMigrations(db);
  const oidc = await startOidcProvider();
  const config = loadConfig({ OIDC_ISSUERS: oidc.issuer, RESULTS_CACHE_MS: '0' });
  const app = await buildApp({
    config,
    db,
    notifier: createNotifier(undefined, { info: () => {}, warn: () => {}, error: () => {} }),
    authenticator: new OidcVerifier({ issuers: config.oidcIssuers }),
  });
  t.teardown(async () => {
    await app.close();
    await db.close();
    await oidc.close();
    await proxy.close();
    await postgres.stop();
  });
  const headers = { authorization: `Bearer ${await oidc.token({ sub: 'faulty', email: 'faulty@example.org' })}` };
  t.equal((await app.inject({ method: 'POST', url: '/users:register', headers })).statusCode, 201);

  const requests = [
    { url: '/results', status: 200 }, // raw SQL (results-query.ts)
    { url: '/results:search?terms=x', status: 200 }, // raw SQL, terms looked up first
    { url: '/results/00000000-0000-4000-8000-000000000000', status: 404 },
    { url: '/sites', status: 200 }, // Prisma model queries
    { url: '/tags', status: 200 },
    { url: '/users/self', headers, status: 200 }, // the security handler reads the user
    { method: 'POST' as const, url: '/tags', headers, payload: { name: 'while-up' }, status: 201 },
  ];
  for (const { status, ...request } of requests) t.equal((await app.inject(request)).statusCode, status, `${request.url} while up`);

  proxy.cut();
  for (const { status: _, ...request } of requests) {
    const response = await app.inject(request);
    assertError(t, response, 503);
    t.match(response.body, /database is not available/, `${request.method ?? 'GET'} ${request.url}`);
  }
  const health = await app.inject({ url: '/healthz' });
  t.equal(health.statusCode, 503);
  t.ok(
    warnings.some((msg) => msg.startsWith('postgresql pool: ')),
    `the idle connections lost are told, not dropped: ${JSON.stringify(warnings.slice(0, 3))}`,
  );

  proxy.restore();
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'healthy again without a restart');
  for (const { status, ...request } of requests.slice(0, -1))
    t.equal((await app.inject(request)).statusCode, status, `${request.url} after`);
  const created = await app.inject({ method: 'POST', url: '/tags', headers, payload: { name: 'after-the-outage' } });
  t.equal(created.statusCode, 201, created.body);

  t.test('a server that stops answering, connections open: 503 at the query timeout, then back', async (t) => {
    proxy.stall();
    // A write sent on an open connection and never answered may have been stored: the answer says so.
    const write = await app.inject({ method: 'POST', url: '/tags', headers, payload: { name: 'during-the-stall' } });
    const body = assertError(t, write, 503);
    t.match(body.message, /not known whether this change was stored; read it back/);
    for (const { status: _, ...request } of [requests[0]!, requests[3]!]) {
      const started = performance.now();
      const response = await app.inject(request);
      const waited = performance.now() - started;
      assertError(t, response, 503);
      t.ok(waited < QUERY_TIMEOUT_MS + 5000, `${request.url}: answered after ${waited.toFixed(0)} ms, not held forever`);
    }
    proxy.resume();
    let recovered = false;
    for (let i = 0; i < 50 && !recovered; i++) {
      recovered = (await app.inject({ url: '/healthz' })).statusCode === 200;
      if (!recovered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.ok(recovered, 'healthy again once the server answers');
    for (const { status, ...request } of requests.slice(0, -1))
      t.equal((await app.inject(request)).statusCode, status, `${request.url} after`);
  });

  t.test('an upload committed whose answer was lost: 503, and its retry with the Idempotency-Key stores nothing twice', async (t) => {
    const owner = { uploader_sub: 'faulty', uploader_iss: oidc.issuer, status: 'approved' as const };
    const prisma = db.prisma;
    const benchmark = await prisma.benchmark.create({
      data: { docker_image: 'faults/bench', docker_tag: 'v1', json_schema: {}, ...owner },
    });
    const site = await prisma.site.create({ data: { name: 'faults-site', address: 'faults.example.org', ...owner } });
    const flavor = await prisma.flavor.create({ data: { site_id: site.id, name: 'faults-flavor', ...owner } });
    const upload = {
      method: 'POST' as const,
      url: `/results?execution_datetime=2022-01-01T10:00:00Z&benchmark_id=${benchmark.id}&flavor_id=${flavor.id}`,
      headers: { ...headers, 'idempotency-key': `lost-answer-${process.pid}` },
      payload: { run: 1 },
    };
    // The insert pauses on the server (within its statement timeout); the answer is then held on the way back.
    const observer = new pg.Client({ connectionString: direct.href });
    await observer.connect();
    const pause = await pauseInserts(async (text) => (await observer.query(text)).rows, 'pause_upload', 'results', QUERY_TIMEOUT_MS / 4000);
    t.teardown(async () => {
      await pause.remove();
      await observer.end();
    });
    const answering = app.inject(upload);
    await pause.paused();
    proxy.stall();
    const lost = assertError(t, await answering, 503);
    t.match(lost.message, /not known whether this change was stored/);
    const committed = await observer.query<{ n: number }>('SELECT count(*)::int AS n FROM results WHERE benchmark_id = $1', [benchmark.id]);
    t.same(committed.rows, [{ n: 1 }], 'the upload whose answer was lost was committed');
    proxy.resume();
    await pause.remove();
    const count = () => prisma.result.count({ where: { benchmark_id: benchmark.id } });
    let retry = await app.inject(upload);
    for (let i = 0; i < 50 && retry.statusCode === 503; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      retry = await app.inject(upload);
    }
    t.equal(retry.statusCode, 201, retry.body);
    t.equal(await count(), 1, 'the retry stored nothing more');
    const again = await app.inject(upload);
    t.equal(again.statusCode, 201);
    t.equal(JSON.parse(again.body).id, JSON.parse(retry.body).id, 'every retry answers the one stored result');
    t.equal(await count(), 1);
  });

  t.test('a statement past DATABASE_TIMEOUT_MS is cancelled by the server, not abandoned running', async (t) => {
    const error = await db.prisma.$queryRaw`SELECT pg_sleep(${(QUERY_TIMEOUT_MS * 5) / 1000})`.then(
      () => null,
      (failure: unknown) => failure,
    );
    t.ok(isDatabaseUnavailable(error), 'a 503, try again later');
    t.notOk(isOutcomeUnknown(error), 'and known not to have been done');
    const observer = new pg.Client({ connectionString: direct.href });
    await observer.connect();
    t.teardown(() => observer.end());
    const { rows } = await observer.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
    );
    t.same(rows, [{ n: 0 }], 'nothing left running on the server');
  });
});

t.test('what counts as the database being unavailable', async (t) => {
  const postgresError = (code: string) => Object.assign(new Error('pg'), { code, severity: 'FATAL' });
  const rawQueryError = (cause: object) =>
    Object.assign(new Error('Raw query failed'), { code: 'P2010', meta: { driverAdapterError: { cause } } });
  const unavailable: [string, unknown][] = [
    ['P1001 (cannot reach)', { code: 'P1001' }],
    ['a raw query on an unreachable server', rawQueryError({ kind: 'DatabaseNotReachable' })],
    ['a raw query on a server shutting down', rawQueryError({ kind: 'postgres', originalCode: '57P01' })],
    ['too many connections', postgresError('53300')],
    ['a read-only standby after failover', postgresError('25006')],
    ['an I/O error', postgresError('58030')],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a statement cancelled at statement_timeout', postgresError('57014')],
  ];
  for (const [name, error] of unavailable) t.ok(isDatabaseUnavailable(error), name);
  const bugs: [string, unknown][] = [
    ['a protocol violation (08P01)', postgresError('08P01')],
    ['a deadlock', postgresError('40P01')],
    ['a serialization failure', rawQueryError({ kind: 'postgres', originalCode: '40001' })],
    ['a unique violation', { code: 'P2002' }],
    ['a syntax error in raw SQL', rawQueryError({ kind: 'postgres', originalCode: '42601' })],
    ['any other error', new TypeError('x is undefined')],
    ['not an error', undefined],
  ];
  for (const [name, error] of bugs) t.notOk(isDatabaseUnavailable(error), `${name}: not a 503`);
});
