// Builds the real service for a test, on a real database, with a real OIDC
// provider on 127.0.0.1. `eachDatabase` runs a suite once on embedded PGlite
// and once on a PostgreSQL server (skipped, visibly, where there is none).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { FastifyBaseLogger, FastifyInstance, LightMyRequestResponse } from 'fastify';
import type tap from 'tap';
import { buildApp } from '../../src/app.js';
import { OidcVerifier } from '../../src/auth/oidc.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, openPglite, SILENT_LOG, type Database } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { createNotifier, type NotifierLogger } from '../../src/notifications/index.js';

const silentLogger: NotifierLogger = { info: () => {}, warn: () => {}, error: () => {} };
import { startOidcProvider, type MockOidcProvider } from './oidc-provider.js';
import { startPostgres, type TestPostgres } from './postgres.js';
import { startSmtpServer, type TestSmtpServer } from './smtp.js';

/** The `t` a tap test callback receives (tap's last `test` overload takes only the callback). */
const ROOT = new URL('../..', import.meta.url).pathname;

export type Test = Parameters<Parameters<typeof tap.test>[0]>[0];

export const ADMIN_ENTITLEMENT = 'urn:mace:egi.eu:group:eosc-perf:role=admin#aai.egi.eu';

export interface Persona {
  sub: string;
  email?: string;
  email_verified?: boolean;
  eduperson_entitlement?: unknown;
}

export const SUPPORT_ADDRESS = 'support@eosc-perf.example.org';

export interface TestContext {
  app: FastifyInstance;
  db: Database;
  oidc: MockOidcProvider;
  /** The SMTP relay the service's notifications go to, on 127.0.0.1. */
  smtp: TestSmtpServer;
  config: Config;
  /** A signed access token for a persona. */
  token(persona: Persona): Promise<string>;
  /** `Authorization` header for a persona. */
  auth(persona: Persona): Promise<{ authorization: string }>;
  /** Registers the persona through the API (POST /users:register). */
  register(persona: Persona): Promise<void>;
}

export type DatabaseName = 'pglite' | 'postgresql';

let postgres: Promise<TestPostgres | null> | undefined;
let databaseCount = 0;

/** The PostgreSQL server of this test process (null where there is none). */
export function testPostgres(): Promise<TestPostgres | null> {
  // No teardown: the server's watchdog stops it when this process exits.
  postgres ??= startPostgres();
  return postgres;
}

/** One PostgreSQL server per test process, a fresh database per suite. */
async function postgresUrl(): Promise<string | null> {
  const server = await testPostgres();
  if (!server) return null;
  databaseCount += 1;
  return server.createDatabase(`test_${process.pid}_${databaseCount}`);
}

let pgliteTemplate: Promise<Blob> | undefined;

/** Where the template of the current migrations is kept between test processes. */
function templatePath(): string {
  const hash = createHash('sha256');
  const migrations = path.join(ROOT, 'prisma', 'migrations');
  for (const dir of readdirSync(migrations).sort()) {
    const sql = path.join(migrations, dir, 'migration.sql');
    if (existsSync(sql)) hash.update(dir).update(readFileSync(sql));
  }
  hash.update(JSON.parse(readFileSync(path.join(ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')).version);
  return path.join(tmpdir(), `eosc-perf-test-pglite-${hash.digest('hex').slice(0, 16)}.tar`);
}

/**
 * An embedded database with every migration applied, copied for each suite:
 * creating one (PGlite's initdb) takes 8–15 s on this machine, starting from
 * a copy 2–4 s. The copy is made once and kept in the temp directory, named
 * by a hash of the migrations, for every test process of the run (and the
 * next runs); a process that finds none makes it and renames it into place.
 */
async function migratedPglite(): Promise<Database> {
  pgliteTemplate ??= (async () => {
    const file = templatePath();
    if (existsSync(file)) return new Blob([readFileSync(file)]);
    const pglite = new PGlite();
    const db = await openPglite(pglite, 'pglite:template', SILENT_LOG);
    await applyMigrations(db);
    const template = await pglite.dumpDataDir('none');
    await db.close();
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, Buffer.from(await template.arrayBuffer()));
    renameSync(partial, file);
    return template;
  })();
  return openPglite(new PGlite({ loadDataDir: await pgliteTemplate }), 'pglite:memory', SILENT_LOG);
}

export async function openTestDatabase(name: DatabaseName): Promise<Database | null> {
  if (name === 'pglite') return migratedPglite();
  const url = await postgresUrl();
  if (url === null) return null;
  const db = await openDatabase({ databaseUrl: url, dataDir: '' });
  await applyMigrations(db);
  return db;
}

export function json<T = Record<string, unknown>>(response: LightMyRequestResponse): T {
  return JSON.parse(response.body) as T;
}

/** `logger`: where the service logs (pino); none by default. */
export async function createTestContext(
  t: Test,
  name: DatabaseName,
  env: Record<string, string> = {},
  logger?: FastifyBaseLogger,
): Promise<TestContext | null> {
  const db = await openTestDatabase(name);
  if (!db) return null;
  const { oidc, smtp } = await startProviders(t);
  return serviceOn(t, { db, oidc, smtp }, env, logger);
}

/**
 * `count` instances of the service on one fresh PostgreSQL database, as
 * behind a load balancer: each with its own connections, cache and change
 * feed; one OIDC provider and one SMTP relay. `loggers[i]`: instance i's.
 * Null where there is no PostgreSQL server.
 */
export async function createTestInstances(
  t: Test,
  count: number,
  env: Record<string, string> = {},
  loggers: FastifyBaseLogger[] = [],
): Promise<{ instances: TestContext[]; databaseUrl: string } | null> {
  const databaseUrl = await postgresUrl();
  if (databaseUrl === null) return null;
  return { instances: await instancesOn(t, databaseUrl, count, env, loggers), databaseUrl };
}

/**
 * `count` instances of the service on the PostgreSQL database at
 * `databaseUrl`, migrated first; each opens its database as the server does
 * from `env` (DATABASE_REPLICA_URLS among it).
 */
export async function instancesOn(
  t: Test,
  databaseUrl: string,
  count: number,
  env: Record<string, string> = {},
  loggers: FastifyBaseLogger[] = [],
): Promise<TestContext[]> {
  const migrator = await openDatabase({ databaseUrl, dataDir: '' });
  await applyMigrations(migrator);
  await migrator.close();
  const providers = await startProviders(t);
  const instances: TestContext[] = [];
  const replicaUrls = loadConfig({ DATABASE_URL: databaseUrl, ...env }).databaseReplicaUrls;
  for (let i = 0; i < count; i += 1) {
    const logger = loggers[i];
    const db = await openDatabase({ databaseUrl, dataDir: '', replicaUrls, ...(logger ? { log: logger } : {}) });
    instances.push(await serviceOn(t, { db, ...providers }, { DATABASE_URL: databaseUrl, ...env }, logger));
  }
  return instances;
}

/** The OIDC provider and SMTP relay the services of a test talk to, stopped when the test ends. */
async function startProviders(t: Test): Promise<{ oidc: MockOidcProvider; smtp: TestSmtpServer }> {
  const oidc = await startOidcProvider();
  const smtp = await startSmtpServer();
  t.teardown(async () => {
    await oidc.close();
    await smtp.close();
  });
  return { oidc, smtp };
}

/** The service on `db`, closed (with its database) when the test ends. */
async function serviceOn(
  t: Test,
  { db, oidc, smtp }: { db: Database; oidc: MockOidcProvider; smtp: TestSmtpServer },
  env: Record<string, string>,
  logger: FastifyBaseLogger | undefined,
): Promise<TestContext> {
  const config = loadConfig({
    OIDC_ISSUERS: oidc.issuer,
    ADMIN_ENTITLEMENTS: ADMIN_ENTITLEMENT,
    MAIL_SERVER: '127.0.0.1',
    MAIL_PORT: String(smtp.port),
    MAIL_SUPPORT: SUPPORT_ADDRESS,
    MAIL_STARTTLS: 'off',
    // One checking thread: suites build dozens of services, and a thread loads ajv through
    // tsx. The default of two is what test/result-validation.test.ts runs with.
    VALIDATION_THREADS: '1',
    ...env,
  });
  const notifier = createNotifier(config.mail, silentLogger);
  const app = await buildApp({
    config,
    db,
    notifier,
    authenticator: new OidcVerifier({ issuers: config.oidcIssuers }),
    ...(logger ? { logger } : {}),
  });
  // Registered after the providers' teardown, so run before it (tap runs teardowns in reverse).
  t.teardown(async () => {
    await app.close();
    await notifier.close();
    await db.close();
  });
  const token = (persona: Persona) =>
    oidc.token({
      sub: persona.sub,
      ...(persona.email !== undefined ? { email: persona.email } : {}),
      ...(persona.email_verified !== undefined ? { email_verified: persona.email_verified } : {}),
      ...(persona.eduperson_entitlement !== undefined ? { eduperson_entitlement: persona.eduperson_entitlement } : {}),
    });
  const auth = async (persona: Persona) => ({ authorization: `Bearer ${await token(persona)}` });
  return {
    app,
    db,
    oidc,
    smtp,
    config,
    token,
    auth,
    async register(persona) {
      const response = await app.inject({ method: 'POST', url: `${config.apiPrefix}/users:register`, headers: await auth(persona) });
      if (response.statusCode !== 201) throw new Error(`register ${persona.sub}: ${response.statusCode} ${response.body}`);
    },
  };
}

/** Runs `suite` on PGlite and on PostgreSQL, each with its own fresh database and app. */
export function eachDatabase(t: Test, suite: (t: Test, ctx: TestContext) => Promise<void>, env: Record<string, string> = {}): void {
  for (const name of ['pglite', 'postgresql'] as const) {
    t.test(name, async (t) => {
      const ctx = await createTestContext(t, name, env);
      if (!ctx) {
        // A skipped subtest is what tap's summary shows: visible, not silent.
        t.skip(`${name}: no PostgreSQL server binaries on this machine (install postgresql or set TEST_DATABASE_URL)`, () => {});
        return;
      }
      await suite(t, ctx);
    });
  }
}

let personaCount = 0;

/** A fresh identity for a test; unique so suites sharing a database do not collide. */
export function persona(label: string, extra: Partial<Persona> = {}): Persona {
  personaCount += 1;
  const sub = `${label}-${process.pid}-${personaCount}`;
  return { sub, email: `${sub}@example.org`, email_verified: true, ...extra };
}

export function adminPersona(label = 'admin'): Persona {
  return persona(label, { eduperson_entitlement: [ADMIN_ENTITLEMENT] });
}
