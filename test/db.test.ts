// The database layer on both engines: migrations apply once, leave no drift against
// schema.prisma, and the Prisma client behaves the same on PGlite and PostgreSQL.
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Prisma } from '../generated/prisma/client.js';
import { DatabaseOpenError, openDatabase, type Database } from '../src/db/client.js';
import { applyMigrations, createMigration, DEFAULT_MIGRATIONS_DIR, DEFAULT_SCHEMA_PATH, schemaDrift } from '../src/db/migrate.js';
import { startPostgres } from './helpers/postgres.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const migrationNames = (await readdir(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true }))
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** The diff script without comments and blank lines: '' means no drift. */
function statements(sql: string): string {
  return sql
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('--'))
    .join('\n');
}

async function timed<T>(t: Tap, label: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const value = await fn();
  t.comment(`${label}: ${Math.round(performance.now() - started)} ms`);
  return value;
}

async function tempDir(t: Tap, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** What every engine must do, on a database that has just been created. */
async function checkDatabase(t: Tap, db: Database): Promise<void> {
  await t.test('migrations apply on an empty database, then nothing is pending', async (t) => {
    t.same(await timed(t, `${db.kind}: apply all migrations`, () => applyMigrations(db)), migrationNames);
    t.same(await timed(t, `${db.kind}: apply again`, () => applyMigrations(db)), []);
  });

  await t.test('recorded in _prisma_migrations as `prisma migrate deploy` records them', async (t) => {
    const rows = await db.prisma.$queryRaw<{ migration_name: string; checksum: string; finished: boolean; steps: number }[]>`
      SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, applied_steps_count AS steps
      FROM _prisma_migrations ORDER BY migration_name`;
    t.same(
      rows.map((row) => row.migration_name),
      migrationNames,
    );
    for (const row of rows) {
      const sql = await readFile(path.join(DEFAULT_MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      t.equal(row.checksum, createHash('sha256').update(sql).digest('hex'), `${row.migration_name} checksum`);
      t.ok(row.finished, `${row.migration_name} finished`);
      t.equal(row.steps, 1);
    }
  });

  await t.test('no drift: the migrations produce exactly schema.prisma', async (t) => {
    const drift = await timed(t, `${db.kind}: schema drift`, () => schemaDrift(db));
    t.equal(statements(drift), '', 'schemaDrift has no statements');
  });

  await t.test('create and read back, JSONB and a text[] JSON path', async (t) => {
    const uploader = { uploader_sub: 'sub-1', uploader_iss: 'https://issuer.example' };
    await db.prisma.user.create({ data: { sub: uploader.uploader_sub, iss: uploader.uploader_iss, email: 'a@example.org' } });
    const benchmark = await db.prisma.benchmark.create({
      data: { docker_image: 'deephdc/bench', docker_tag: '1.0', json_schema: { type: 'object' }, ...uploader },
    });
    const site = await db.prisma.site.create({ data: { name: 'site-a', address: 'Karlsruhe', ...uploader } });
    const flavor = await db.prisma.flavor.create({ data: { site_id: site.id, name: 'large', ...uploader } });
    const json = { machine: { cpu: { cores: 8, model: 'x86' } }, score: 3.5, tags: ['a', 'b'] };
    const result = await db.prisma.result.create({
      data: {
        json,
        execution_datetime: new Date('2024-01-02T03:04:05Z'),
        benchmark_id: benchmark.id,
        site_id: site.id,
        flavor_id: flavor.id,
        ...uploader,
      },
    });

    const read = await db.prisma.result.findUniqueOrThrow({ where: { id: result.id }, include: { benchmark: true } });
    t.same(read.json, json);
    t.same(read.benchmark.json_schema, { type: 'object' });
    t.equal(read.execution_datetime.toISOString(), '2024-01-02T03:04:05.000Z');
    t.equal(read.benchmark.status, 'on_review');

    const jsonPath = ['machine', 'cpu', 'cores'];
    const rows = await db.prisma.$queryRaw<{ value: unknown }[]>`
      SELECT json #> ${jsonPath}::text[] AS value FROM results WHERE id = ${result.id}::uuid`;
    t.same(rows, [{ value: 8 }]);
    const byPath = await db.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM results WHERE (json #>> ${['machine', 'cpu', 'model']}::text[]) = ${'x86'}`;
    t.same(
      byPath.map((row) => row.id),
      [result.id],
    );
  });

  await t.test('a unique violation is P2002', async (t) => {
    const data = { name: 'site-a', address: 'elsewhere', uploader_sub: 'sub-1', uploader_iss: 'https://issuer.example' };
    const error = await db.prisma.site.create({ data }).then(
      () => null,
      (err: unknown) => err,
    );
    t.type(error, Prisma.PrismaClientKnownRequestError);
    t.match(error, { code: 'P2002' });
  });

  await t.test('ping answers', async (t) => {
    await t.resolves(db.ping());
  });
}

/** A script is applied whole (semicolons inside bodies and strings are fine) or not at all. */
async function checkMigrationScripts(t: Tap, open: () => Promise<Database>): Promise<void> {
  const db = await open();
  t.teardown(() => db.close());
  const migrationsDir = await tempDir(t, 'eosc-perf-scripts-');
  const write = async (name: string, sql: string): Promise<void> => {
    await cp(path.join(DEFAULT_MIGRATIONS_DIR, 'migration_lock.toml'), path.join(migrationsDir, 'migration_lock.toml'));
    await mkdir(path.join(migrationsDir, name), { recursive: true });
    await writeFile(path.join(migrationsDir, name, 'migration.sql'), sql);
  };

  await write(
    '20000101000000_function',
    "-- a comment; with a semicolon\nCREATE FUNCTION semi() RETURNS text AS $$ SELECT 'a;b' $$ LANGUAGE sql;\n",
  );
  t.same(await applyMigrations(db, migrationsDir), ['20000101000000_function']);
  t.same(await db.prisma.$queryRaw`SELECT semi() AS v`, [{ v: 'a;b' }]);

  await write('20000101000001_broken', 'CREATE TABLE half (id int);\nSELECT 1/0;\n');
  await t.rejects(applyMigrations(db, migrationsDir), { message: /20000101000001_broken/ }, 'a failing migration rejects');
  const tables = await db.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'half'`;
  t.same(tables, [{ n: 0 }], 'and leaves nothing of its script behind');
  const rows = await db.prisma.$queryRaw<{ name: string; finished: boolean }[]>`
    SELECT migration_name AS name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY name`;
  t.same(rows, [
    { name: '20000101000000_function', finished: true },
    { name: '20000101000001_broken', finished: false },
  ]);
  await t.rejects(applyMigrations(db, migrationsDir), { message: /failed migrations/ }, 'later runs refuse, as migrate deploy does');
}

t.test('PGlite in memory (memory://)', async (t) => {
  const db = await timed(t, 'open memory://', () => openDatabase({ databaseUrl: 'memory://', dataDir: '/nonexistent' }));
  t.teardown(() => db.close());
  t.equal(db.kind, 'pglite');
  await checkDatabase(t, db);
  await db.close();
  await t.rejects(db.ping(), 'ping fails once closed');
});

t.test('PGlite on disk (dataDir) keeps schema and data across a reopen', async (t) => {
  const dataDir = path.join(await tempDir(t, 'eosc-perf-pglite-'), 'data');
  const db = await openDatabase({ dataDir });
  t.teardown(() => db.close());
  await checkDatabase(t, db);
  await db.close();

  const reopened = await timed(t, 'reopen dataDir', () => openDatabase({ dataDir }));
  t.teardown(() => reopened.close());
  t.same(await applyMigrations(reopened), [], 'nothing pending after reopen');
  t.equal(await reopened.prisma.site.count(), 1, 'rows survive');
  t.equal(statements(await schemaDrift(reopened)), '');
});

t.test('PGlite on disk belongs to one process: a second open refuses at once, naming the holder', async (t) => {
  const dataDir = path.join(await tempDir(t, 'eosc-perf-lock-'), 'data');
  const db = await openDatabase({ dataDir });
  t.teardown(() => db.close());
  await applyMigrations(db);
  const refused = await openDatabase({ dataDir }).then(
    () => null,
    (error: unknown) => error,
  );
  t.type(refused, DatabaseOpenError);
  t.match(refused, {
    variable: 'DATA_DIR',
    message: new RegExp(`in use by process ${process.pid} .*stop it first.*DATABASE_URL`),
  });
  t.notMatch(String((refused as Error).message), /\n/, 'one line');
  t.equal(await db.prisma.site.count(), 0, 'the holder is untouched');
  await db.close();
  const after = await openDatabase({ dataDir });
  t.teardown(() => after.close());
  t.equal(await after.prisma.site.count(), 0, 'free again once closed');
});

t.test('a lock left by a process that is gone is taken over', async (t) => {
  const dataDir = path.join(await tempDir(t, 'eosc-perf-stale-'), 'data');
  await mkdir(path.join(dataDir, 'eosc-perf.lock'), { recursive: true });
  // A pid no process has: the kernel's limit is below 2^22.
  await writeFile(
    path.join(dataDir, 'eosc-perf.lock.json'),
    JSON.stringify({ pid: 4_194_999, command: 'killed', since: '2020-01-01T00:00:00Z' }),
  );
  const db = await openDatabase({ dataDir });
  t.teardown(() => db.close());
  await applyMigrations(db);
  t.equal(await db.prisma.site.count(), 0);
});

const pgStart = performance.now();
const server = await startPostgres();
if (server !== null) {
  t.comment(`PostgreSQL ready in ${Math.round(performance.now() - pgStart)} ms`);
  t.teardown(() => server.stop());
}

t.test(
  'PostgreSQL',
  { skip: server === null ? 'no PostgreSQL: set TEST_DATABASE_URL or install PostgreSQL 15 (initdb)' : false },
  async (t) => {
    if (server === null) return;
    const db = await openDatabase({ databaseUrl: await server.createDatabase('db_test'), dataDir: '/nonexistent' });
    t.teardown(() => db.close());
    t.equal(db.kind, 'postgresql');
    await checkDatabase(t, db);

    await t.test('migrations leave no advisory lock behind', async (t) => {
      const locks = await db.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`;
      t.same(locks, [{ n: 0 }]);
    });

    await checkMigrationScripts(t, async () =>
      openDatabase({ databaseUrl: await server.createDatabase('db_scripts'), dataDir: '/nonexistent' }),
    );
  },
);

t.test('PGlite runs migration scripts whole', async (t) => {
  await checkMigrationScripts(t, () => openDatabase({ databaseUrl: 'memory://', dataDir: '/nonexistent' }));
});

t.test('openDatabase rejects what it cannot use, naming the variable and no password', async (t) => {
  const started = performance.now();
  const error = await openDatabase({ databaseUrl: 'postgresql://eosc:s3cr3t-pw@127.0.0.1:1/x', dataDir: '/nonexistent' }).then(
    () => null,
    (err: unknown) => err,
  );
  const elapsed = performance.now() - started;
  t.type(error, DatabaseOpenError);
  t.match(error, { variable: 'DATABASE_URL', message: /^cannot connect to postgresql:\/\/eosc@127\.0\.0\.1:1\/x: / });
  t.notMatch(String(error), /s3cr3t/);
  t.ok(elapsed < 6000, `rejected in ${Math.round(elapsed)} ms`);

  await t.rejects(openDatabase({ databaseUrl: 'mysql://u:s3cr3t@h/db', dataDir: '/nonexistent' }), {
    variable: 'DATABASE_URL',
    message: /unsupported scheme "mysql:" in DATABASE_URL/,
  });
  const bad = await openDatabase({ databaseUrl: 'postgresql://u:s3cr3t@[bad/db', dataDir: '/nonexistent' }).catch((err: unknown) => err);
  t.match(bad, { variable: 'DATABASE_URL', message: /DATABASE_URL is not a valid URL/ });
  t.notMatch(String(bad), /s3cr3t/);

  const file = path.join(await tempDir(t, 'eosc-perf-datadir-'), 'a-file');
  await writeFile(file, '');
  await t.rejects(openDatabase({ dataDir: file }), { variable: 'DATA_DIR', message: /^cannot open the embedded database in / });
});

t.test('createMigration writes only what schema.prisma changed, then nothing', async (t) => {
  const dir = await tempDir(t, 'eosc-perf-migrations-');
  const migrationsDir = path.join(dir, 'migrations');
  await cp(DEFAULT_MIGRATIONS_DIR, migrationsDir, { recursive: true });
  const schema = await readFile(DEFAULT_SCHEMA_PATH, 'utf8');
  const schemaPath = path.join(dir, 'schema.prisma');
  await writeFile(schemaPath, schema.replace(/^model Tag \{$/m, 'model Tag {\n  color String?'));

  const created = await timed(t, 'createMigration', () => createMigration('tag_color', { migrationsDir, schemaPath }));
  t.match(created, /^\d{14}_tag_color$/);
  const sql = await readFile(path.join(migrationsDir, String(created), 'migration.sql'), 'utf8');
  t.equal(statements(sql), 'ALTER TABLE "tags" ADD COLUMN     "color" TEXT;');
  t.equal(await createMigration('again', { migrationsDir, schemaPath }), null, 'no change, no migration');
  t.same((await readdir(migrationsDir)).length, migrationNames.length + 2, 'one new directory (and the lock file)');
});
