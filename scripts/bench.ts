// npm run bench [-- --results 100000 --duration 10 --connections 16 --only <text>]
//
// Seeds a real PostgreSQL with N results, starts the service against it (as
// `npm start` would), drives it with autocannon and prints, per query, p50/p99
// latency and requests/s. For each read query it also replays the exact SQL
// the service issued for one such request, directly on the database, and
// prints API time ÷ SQL time. It then exports every result (GET /results:export,
// CSV and NDJSON) and prints rows/s and the resident memory while it streams,
// and has 8 runners take 10 000 queued runs of one site at once (through the
// API, then as takeRun's SQL alone), checking that each was taken exactly once.
// With --memory-phases N, it then drives the
// cached instance through N identical load phases of mixed reads and prints
// its resident memory at the end of each and after a rest: growth that goes on
// phase after phase is a leak, a plateau is a bound being filled. With
// --memory-variants, it starts the service as `npm start` does (tsx) and as
// built (`node dist/src/server.js`, after `npm run build`), the latter also
// with V8 memory flags, each uncached, and prints each one's requests/s and
// resident memory at rest, at its peak under mixed reads and after. Not part
// of `npm test`. With --replica, a third instance, uncached, reads from a
// streaming replica of the bench's server (DATABASE_REPLICA_URLS), and every
// read query is measured on it too.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PrismaPg } from '@prisma/adapter-pg';
import autocannon from 'autocannon';
import cliProgress from 'cli-progress';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { buildApp } from '../src/app.js';
import { OidcVerifier } from '../src/auth/oidc.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';
import { takeRun } from '../src/db/run-queue.js';
import { createNotifier } from '../src/notifications/index.js';
import { startOidcProvider } from '../test/helpers/oidc-provider.js';
import { startPostgres, type TestReplica } from '../test/helpers/postgres.js';
import { freePort } from '../test/helpers/processes.js';
import { seedCatalog, seedResults } from './lib/sample-data.js';

const { values } = parseArgs({
  options: {
    results: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    'sql-runs': { type: 'string', default: '200' },
    /** Only the queries whose name contains this text, e.g. --only POST (given again: any of them). */
    only: { type: 'string', multiple: true, default: [] },
    'memory-phases': { type: 'string', default: '0' },
    'memory-variants': { type: 'boolean', default: false },
    replica: { type: 'boolean', default: false },
  },
});
const RESULTS = Number(values.results);
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const SQL_RUNS = Number(values['sql-runs']);
const MEMORY_PHASES = Number(values['memory-phases']);
/** How the service is started for --memory-variants: node's arguments. */
const MEMORY_VARIANTS: [string, string[]][] = [
  ['`npm start` (tsx)', ['--import=tsx', 'src/server.ts']],
  ['`node dist/src/server.js`', ['dist/src/server.js']],
  ['built, `--max-old-space-size=160`', ['--max-old-space-size=160', 'dist/src/server.js']],
  ['built, `--optimize-for-size`', ['--optimize-for-size', 'dist/src/server.js']],
];
const REST_MS = 10_000;
/** Whether --only asks for the query named `name` (every query without --only). */
function chosen(name: string): boolean {
  return values.only.length === 0 || values.only.some((text) => name.includes(text));
}

const BENCH_METRICS_TOKEN = 'bench-metrics-token-0123456789';

/** eosc_perf_db_replica_reads_total of the instance at `base`, as "outcome: n" pairs. */
async function replicaOutcomes(base: string): Promise<string> {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } })).text();
  return [...text.matchAll(/^eosc_perf_db_replica_reads_total\{outcome="(\w+)"\} (\d+)/gm)].map((m) => `${m[1]}: ${m[2]}`).join(', ');
}
/** Runs queued for the take benchmark. */
const QUEUED_RUNS = 10_000;

/** Resident memory of a process, MB (Linux). */
function residentMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

interface Query {
  name: string;
  method: 'GET' | 'POST';
  /** Paths to cycle through (one is enough for most). */
  paths: string[];
  body?: string;
  headers?: Record<string, string>;
  read: boolean;
  /** Sent with `If-None-Match` naming the answer's current ETag, as a client that holds it would. */
  conditional?: boolean;
}

const LINKED_PAGES = 'GET /results?page=…&after=… (every page in turn, along the Link: rel="next" headers)';

/** The paths of the first `count` pages of `first`, each taken from the Link: rel="next" of the one before. */
async function linkedPaths(base: string, first: string, count: number): Promise<string[]> {
  const paths = [first];
  while (paths.length < count) {
    const response = await fetch(`${base}${paths.at(-1)}`);
    await response.arrayBuffer();
    const next = /^<([^>]*)>; rel="next"$/.exec(response.headers.get('link') ?? '')?.[1];
    if (!next) break;
    const url = new URL(next);
    paths.push(`${url.pathname}${url.search}`);
  }
  return paths;
}

interface CapturedSql {
  query: string;
  params: unknown[];
}

/** Runs one request in-process with query logging on, to learn the SQL the service issues for it. */
async function captureSql(db: Database, url: string, query: Query, issuer: string): Promise<CapturedSql[]> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool), log: [{ emit: 'event', level: 'query' }] });
  const captured: CapturedSql[] = [];
  prisma.$on('query', (event) => captured.push({ query: event.query, params: JSON.parse(event.params) as unknown[] }));
  const app = await buildApp({
    // Nothing remembered but the catalog's JSON, as on the uncached instance.
    config: loadConfig({ OIDC_ISSUERS: issuer, RESULTS_CACHE_MS: '0' }),
    // Every read through the logging client, replicas or not.
    db: { ...db, prisma, readAsOf: (_walEnd, work) => work(prisma) },
    notifier: createNotifier(undefined, { info: () => {}, warn: () => {}, error: () => {} }),
    authenticator: new OidcVerifier({ issuers: [issuer] }),
  });
  // The middle one of the query's paths: for every page in turn, a page of average depth.
  const path = query.paths[Math.floor(query.paths.length / 2)] ?? '/';
  // Asked once before, as in a running service: what a page needs of the catalog is then
  // known (catalog-fragments.ts), and only the page's own statements are captured.
  // The change feed starts listening in the background; until it does, nothing is remembered.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const warm = await app.inject({ method: query.method, url: query.paths[0] ?? '/' });
  captured.length = 0;
  const response = await app.inject({ method: query.method, url: path });
  if (warm.statusCode !== 200 || response.statusCode !== 200) {
    throw new Error(`${query.name}: ${response.statusCode} ${response.body.slice(0, 300)}`);
  }
  await app.close();
  await prisma.$disconnect();
  await pool.end();
  return captured;
}

/** Replays the captured statements one after the other, `runs` times: p50 of the total, ms. */
async function timeSql(url: string, statements: CapturedSql[], runs: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const times: number[] = [];
  for (let i = 0; i < runs + 10; i++) {
    const started = performance.now();
    for (const statement of statements) await client.query(statement.query, statement.params);
    if (i >= 10) times.push(performance.now() - started); // the first runs warm the caches
  }
  await client.end();
  return percentile(
    times.sort((a, b) => a - b),
    50,
  );
}

async function load(base: string, query: Query): Promise<autocannon.Result> {
  let next = 0;
  return autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: query.method,
        ...(query.body ? { body: query.body } : {}),
        headers: { 'content-type': 'application/json', ...query.headers },
        setupRequest: (request) => ({ ...request, path: query.paths[next++ % query.paths.length] ?? '/' }),
      },
    ],
  });
}

async function waitForHealth(base: string, server: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (server.exitCode !== null) throw new Error('the service exited');
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the service did not become healthy');
}

const postgres = process.env.BENCH_DATABASE_URL ? null : await startPostgres();
const url = process.env.BENCH_DATABASE_URL ?? (await postgres?.createDatabase(`bench_${Date.now()}`));
if (!url) throw new Error('no PostgreSQL: install postgresql or set BENCH_DATABASE_URL');
const oidc = await startOidcProvider();
const db = await openDatabase({ databaseUrl: url, dataDir: '' });
const servers: ChildProcess[] = [];
let replica: TestReplica | undefined;
try {
  await applyMigrations(db);
  const catalog = await seedCatalog(db);
  const existing = await db.prisma.result.count();
  if (existing < RESULTS) {
    const bar = new cliProgress.SingleBar({ format: 'seeding [{bar}] {value}/{total} results' }, cliProgress.Presets.shades_classic);
    bar.start(RESULTS - existing, 0);
    await seedResults(db, catalog, RESULTS - existing, (done) => bar.update(done));
    bar.stop();
  }
  // The state autovacuum brings a table to after a bulk insert: statistics
  // gathered and the visibility map set (index-only scans for counts).
  await db.prisma.$executeRawUnsafe('VACUUM ANALYZE');

  const cray = await db.prisma.benchmark.findFirstOrThrow({
    where: { docker_image: 'thechristophe/openbench-c-ray', docker_tag: 'latest' },
  });
  const flavor = await db.prisma.flavor.findFirstOrThrow({ where: { name: 'hpc.8core-16ram', site: { name: 'KIT-HPC' } } });
  const ids = (await db.prisma.result.findMany({ select: { id: true }, take: 1000, orderBy: { upload_datetime: 'desc' } })).map(
    (r) => r.id,
  );
  const bencher = { sub: 'bench-user', iss: oidc.issuer, email: 'bench@example.org' };
  await db.prisma.user.upsert({ where: { sub_iss: { sub: bencher.sub, iss: bencher.iss } }, create: bencher, update: {} });
  const token = await oidc.token({ sub: bencher.sub, email: bencher.email }, { expiresIn: '2h' });

  // Two instances of the service on the same database: one as deployed (results pages and
  // counts remembered until a change commits), one with RESULTS_CACHE_MS=0, so every read
  // query is measured both as clients asking it again see it and uncached.
  const startService = async (env: Record<string, string>, args = ['--import=tsx', 'src/server.ts']): Promise<string> => {
    const port = await freePort();
    const child = spawn(process.execPath, args, {
      env: {
        ...process.env,
        DATABASE_URL: url,
        PORT: String(port),
        HOST: '127.0.0.1',
        OIDC_ISSUERS: oidc.issuer,
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    servers.push(child);
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base, child);
    return base;
  };
  const base = await startService({});
  const uncachedBase = await startService({ RESULTS_CACHE_MS: '0' });
  replica = values.replica ? await postgres?.startReplica?.() : undefined;
  if (values.replica && !replica) throw new Error('--replica needs the PostgreSQL server the bench starts (not BENCH_DATABASE_URL)');
  const replicaBase =
    replica &&
    (await startService({
      RESULTS_CACHE_MS: '0',
      DATABASE_REPLICA_URLS: Object.assign(new URL(replica.url), { pathname: new URL(url).pathname }).href,
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
    }));

  const upload = {
    arguments: 'Total Time - 4K, 16 Rays Per Pixel',
    machine: { cpu: { count: 8, arch: 'X86_64', brand_raw: 'bench' } },
    result: { score: 123.4, all_results: '123.4:124.0:122.9' },
    test: 'pts/c-ray-1.2.0',
    units: 'Seconds',
  };
  const queries: Query[] = [
    { name: 'GET /results (default page)', method: 'GET', paths: ['/results'], read: true },
    {
      name: 'GET /results?embed=false (default page, ids instead of documents)',
      method: 'GET',
      paths: ['/results?embed=false'],
      read: true,
    },
    { name: 'GET /results (default page), brotli', method: 'GET', paths: ['/results'], headers: { 'accept-encoding': 'br' }, read: true },
    { name: 'GET /results (default page), gzip', method: 'GET', paths: ['/results'], headers: { 'accept-encoding': 'gzip' }, read: true },
    { name: 'GET /results (default page), If-None-Match: 304', method: 'GET', paths: ['/results'], conditional: true, read: true },
    {
      // Deep pages: the offset is skipped in an index; few of these URLs repeat within RESULTS_CACHE_MS.
      name: 'GET /results?page=1…1000 (every page in turn)',
      method: 'GET',
      paths: Array.from({ length: 1000 }, (_, index) => `/results?page=${index + 1}`),
      read: true,
    },
    {
      // The same pages reached as a client walking the list reaches them: along `Link: rel="next"`.
      name: LINKED_PAGES,
      method: 'GET',
      paths: chosen(LINKED_PAGES) ? await linkedPaths(base, '/results', 1000) : [],
      read: true,
    },
    {
      name: 'GET /results benchmark_id + 2 JSON filters + JSON sort',
      method: 'GET',
      paths: [
        `/results?benchmark_id=${cray.id}&filters=machine.cpu.count%20%3E%204&filters=result.score%20%3C%20100&sort_by=-json.result.score`,
      ],
      read: true,
    },
    {
      // Aggregated by PostgreSQL over every result of the benchmark (not remembered by either instance).
      name: 'GET /results:stats one benchmark, per flavor, with a baseline',
      method: 'GET',
      paths: [`/results:stats?benchmark_id=${cray.id}&metric=result.score&group_by=flavor&better=lower&baseline=${flavor.id}`],
      read: true,
    },
    {
      name: 'GET /results:stats one benchmark, per site',
      method: 'GET',
      paths: [`/results:stats?benchmark_id=${cray.id}&metric=result.score&group_by=site`],
      read: true,
    },
    { name: 'GET /results:search (2 terms)', method: 'GET', paths: ['/results:search?terms=c-ray&terms=KIT'], read: true },
    { name: 'GET /results/{id}', method: 'GET', paths: ids.map((id) => `/results/${id}`), read: true },
    {
      name: 'POST /results (schema-validated upload)',
      method: 'POST',
      paths: [`/results?execution_datetime=2025-06-01T10:00:00Z&benchmark_id=${cray.id}&flavor_id=${flavor.id}`],
      body: JSON.stringify(upload),
      headers: { authorization: `Bearer ${token}` },
      read: false,
    },
  ];

  const rows: string[] = [];
  /** `sql`: p50 ms of the query's statements replayed on the database, and how many there are. */
  const measure = async (name: string, target: string, query: Query, sql?: { ms: number; statements: number }): Promise<void> => {
    if (query.conditional) {
      const etag = (await fetch(`${target}${query.paths[0]}`)).headers.get('etag') ?? '';
      query = { ...query, headers: { ...query.headers, 'if-none-match': etag } };
    }
    await load(target, query).catch(() => undefined); // warm-up: JIT, connection pool, caches
    const result = await load(target, query);
    // 304s count as answered: what a client holding the page gets.
    const answered = result['2xx'] + (result.statusCodeStats?.['304']?.count ?? 0);
    const notOk = result.non2xx - (result.statusCodeStats?.['304']?.count ?? 0);
    // autocannon's errors include its timeouts.
    const failures = notOk + result.errors;
    // Which answers the failures were (a 503 is the service shedding load, by design).
    const statuses = Object.entries(result.statusCodeStats ?? {})
      .filter(([code]) => !code.startsWith('2') && code !== '304')
      .map(([code, stat]) => `${code}×${stat.count}`);
    if (result.timeouts > 0) statuses.push(`timeout×${result.timeouts}`);
    if (result.errors > result.timeouts) statuses.push(`error×${result.errors - result.timeouts}`);
    const sqlMs = sql ? `${sql.ms.toFixed(2)} (${sql.statements} stmts)` : '—';
    const ratio = sql ? (result.latency.p50 / sql.ms).toFixed(1) : '—';
    // What a client read per answer, headers included (autocannon counts every byte received).
    const bytes = answered > 0 ? Math.round(result.throughput.total / answered / 1000) : 0;
    rows.push(
      `| ${name} | ${result.latency.p50} | ${result.latency.p99} | ${Math.round(result.requests.average)} | ${bytes} | ${failures}${statuses.length > 0 ? ` (${statuses.join(', ')})` : ''} | ${sqlMs} | ${ratio} |`,
    );
    console.error(`done: ${name}`);
  };
  // Reads first, on the seeded data set; the uploads then add to it.
  const picked = queries.filter((candidate) => chosen(candidate.name));
  for (const query of picked.filter((candidate) => candidate.read)) {
    // Both instances issue the same SQL for a page they do not remember: captured and timed once.
    const statements = await captureSql(db, url, query, oidc.issuer);
    const sql = { ms: await timeSql(url, statements, SQL_RUNS), statements: statements.length };
    await measure(query.name, base, query, sql);
    await measure(`${query.name}, uncached`, uncachedBase, query, sql);
    if (replicaBase) await measure(`${query.name}, uncached, on a read replica`, replicaBase, query, sql);
  }
  const replicaReads = replicaBase && (await replicaOutcomes(replicaBase));
  for (const query of picked.filter((candidate) => !candidate.read)) await measure(query.name, base, query);

  // Exports of every result: time, rows/s and the instance's resident memory while it streams.
  const exportRows: string[] = [];
  for (const [name, path] of [
    ['CSV, 2 JSON columns', '/results:export?columns=result.score&columns=machine.cpu.count'],
    ['NDJSON', '/results:export?format=ndjson'],
  ] as const) {
    if (!chosen(`GET /results:export ${name}`)) continue;
    const pid = servers[1]?.pid;
    const before = residentMb(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, residentMb(pid));
    }, 100);
    const started = performance.now();
    const response = await fetch(`${uncachedBase}${path}`, { headers: { 'accept-encoding': 'identity' } });
    let bytes = 0;
    let lines = 0;
    for await (const chunk of response.body ?? []) {
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 10) lines += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const rowsExported = name === 'NDJSON' ? lines : lines - 1;
    exportRows.push(
      `| ${name} | ${rowsExported} | ${Math.round(bytes / 1e6)} | ${seconds.toFixed(1)} | ${Math.round(rowsExported / seconds)} | ${before} | ${peak} |`,
    );
    console.error(`done: export ${name}`);
  }

  // Runs taken from one site's queue by 8 runners at once, through the API and as the SQL alone.
  const runRows: string[] = [];
  if (chosen('POST /sites/{site_id}/runs:take')) {
    const runners = Array.from({ length: 8 }, (_, i) => ({ sub: `bench-runner-${i}`, iss: oidc.issuer, email: `runner${i}@example.org` }));
    await db.prisma.user.createMany({ data: runners, skipDuplicates: true });
    await db.prisma.siteRunner.createMany({
      data: runners.map((r) => ({ site_id: flavor.site_id, sub: r.sub, iss: r.iss })),
      skipDuplicates: true,
    });
    const queue = async () => {
      await db.prisma.$executeRaw`
        INSERT INTO runs (id, benchmark_id, site_id, flavor_id, parameters, tags_ids, requester_sub, requester_iss)
        SELECT gen_random_uuid(), ${cray.id}::uuid, ${flavor.site_id}::uuid, ${flavor.id}::uuid, '{}'::jsonb, '{}', ${bencher.sub}, ${bencher.iss}
        FROM generate_series(1, ${QUEUED_RUNS})`;
    };
    /** Each runner takes until the queue is empty: the ids taken, and how long each take took. */
    const drain = async (take: (runner: (typeof runners)[number]) => Promise<string | undefined>) => {
      const taken: string[] = [];
      const latencies: number[] = [];
      const started = performance.now();
      await Promise.all(
        runners.map(async (runner) => {
          for (;;) {
            const begun = performance.now();
            const id = await take(runner);
            latencies.push(performance.now() - begun);
            if (!id) return;
            taken.push(id);
          }
        }),
      );
      return { taken, latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - started) / 1000 };
    };
    const tokens = new Map(
      await Promise.all(runners.map(async (r) => [r.sub, await oidc.token({ sub: r.sub, email: r.email }, { expiresIn: '2h' })] as const)),
    );
    for (const [name, take] of [
      [
        'POST /sites/{site_id}/runs:take',
        async (runner: (typeof runners)[number]) => {
          const response = await fetch(`${base}/sites/${flavor.site_id}/runs:take`, {
            method: 'POST',
            headers: { authorization: `Bearer ${tokens.get(runner.sub)}` },
          });
          if (response.status === 204) return undefined;
          if (response.status !== 200) throw new Error(`take: ${response.status} ${await response.text()}`);
          return ((await response.json()) as { run: { id: string } }).run.id;
        },
      ],
      [
        'its SQL alone (takeRun on 8 connections)',
        async (runner: (typeof runners)[number]) => (await takeRun(db.prisma, flavor.site_id, runner, 120))?.id,
      ],
    ] as const) {
      await queue();
      const result = await drain(take);
      // Each run taken exactly once: as many distinct ids as runs, none left queued, none taken twice.
      const distinct = new Set(result.taken).size;
      const [check] = await db.prisma.$queryRaw<{ queued: number; twice: number }[]>`
        SELECT count(*) FILTER (WHERE status = 'queued')::int AS queued, count(*) FILTER (WHERE attempts > 1)::int AS twice FROM runs`;
      const exact = distinct === QUEUED_RUNS && result.taken.length === QUEUED_RUNS && check?.queued === 0 && check?.twice === 0;
      runRows.push(
        `| ${name} | ${QUEUED_RUNS} | ${result.seconds.toFixed(2)} | ${Math.round(QUEUED_RUNS / result.seconds)} | ${percentile(result.latencies, 50).toFixed(1)} | ${percentile(result.latencies, 99).toFixed(1)} | ${exact ? 'yes' : `NO (${distinct} distinct of ${result.taken.length})`} |`,
      );
      await db.prisma.run.deleteMany({});
      console.error(`done: ${name}`);
    }
  }

  // Every read query's paths in turn, on the instance as deployed (cache on).
  const mixed: Query = { name: 'mixed reads', method: 'GET', paths: queries.filter((q) => q.read).flatMap((q) => q.paths), read: true };
  const memoryRows: string[] = [];
  const cachedPid = servers[0]?.pid;
  if (MEMORY_PHASES > 0) memoryRows.push(`| at rest, before | — | — | ${residentMb(cachedPid)} |`);
  for (let phase = 1; phase <= MEMORY_PHASES; phase++) {
    const result = await load(base, mixed);
    const peak = residentMb(cachedPid);
    await new Promise((resolve) => setTimeout(resolve, REST_MS));
    memoryRows.push(`| phase ${phase} | ${Math.round(result.requests.average)} | ${peak} | ${residentMb(cachedPid)} |`);
    console.error(`done: memory phase ${phase}`);
  }
  const variantRows: string[] = [];
  for (const [label, args] of values['memory-variants'] ? MEMORY_VARIANTS : []) {
    const variantBase = await startService({ RESULTS_CACHE_MS: '0' }, args);
    const child = servers.at(-1);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const atRest = residentMb(child?.pid);
    let peak = atRest;
    const sampler = setInterval(() => {
      peak = Math.max(peak, residentMb(child?.pid));
    }, 100);
    const result = await load(variantBase, mixed);
    clearInterval(sampler);
    variantRows.push(`| ${label} | ${Math.round(result.requests.average)} | ${atRest} | ${peak} | ${residentMb(child?.pid)} |`);
    child?.kill('SIGTERM');
    console.error(`done: memory variant ${label}`);
  }
  const total = await db.prisma.result.count();
  // A database given by BENCH_DATABASE_URL is used again: leave it with the results it was seeded with.
  await db.prisma.result.deleteMany({ where: { uploader_sub: bencher.sub, uploader_iss: bencher.iss } });
  console.log(
    `\n${total} results in PostgreSQL after the run; ${CONNECTIONS} connections, ${DURATION} s per query (after a ${DURATION} s warm-up run);` +
      ' "uncached": a second instance with RESULTS_CACHE_MS=0\n',
  );
  console.log('| query | p50 ms | p99 ms | req/s | kB/answer | failed | SQL p50 ms | API p50 ÷ SQL p50 |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
  if (replicaReads) console.log(`\nReads of the instance on a read replica, by where they went: ${replicaReads}`);
  if (exportRows.length > 0) {
    console.log('\nGET /results:export of every result, one client, uncompressed, on the uncached instance\n');
    console.log('| export | rows | MB | s | rows/s | RSS before, MB | RSS peak, MB |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const row of exportRows) console.log(row);
  }
  if (runRows.length > 0) {
    console.log(`\n${QUEUED_RUNS} queued runs of one site taken by 8 runners at once, each until the queue is empty\n`);
    console.log('| taken through | runs | s | runs/s | p50 ms | p99 ms | each taken once |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const row of runRows) console.log(row);
  }
  if (memoryRows.length > 0) {
    console.log(
      `\nResident memory of the instance as deployed, ${MEMORY_PHASES} phases of ${DURATION} s of mixed reads, ${REST_MS / 1000} s rest after each\n`,
    );
    console.log('| phase | req/s | RSS at its end, MB | RSS after the rest, MB |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const row of memoryRows) console.log(row);
  }
  if (variantRows.length > 0) {
    console.log(`\nThe service started in different ways, uncached, ${DURATION} s of mixed reads (RSS sampled every 100 ms)\n`);
    console.log('| started as | req/s | RSS at rest, MB | RSS peak, MB | RSS after, MB |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const row of variantRows) console.log(row);
  }
} finally {
  for (const server of servers) server.kill('SIGTERM');
  await db.close();
  await oidc.close();
  await replica?.stop();
  await postgres?.stop();
}
