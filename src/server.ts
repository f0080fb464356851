// Starts and stops the service: configuration, database and migrations,
// listen; on SIGTERM/SIGINT stop accepting, finish in-flight requests, close
// the database, exit 0.
import closeWithGrace from 'close-with-grace';
import { type Logger, pino } from 'pino';
import { buildApp } from './app.js';
import { OidcVerifier } from './auth/oidc.js';
import { ConfigError, loadConfig, maskedConfig, processEnvironment, type Config } from './config.js';
import { type Database, DatabaseOpenError, openConfiguredDatabase } from './db/client.js';
import { applyMigrations } from './db/migrate.js';
import { createNotifier } from './notifications/index.js';
import { version } from './version.js';

function fail(message: string): never {
  process.stderr.write(`eosc-perf-api: ${message}\n`);
  process.exit(1);
}

function configure(): Config {
  try {
    return loadConfig(processEnvironment());
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

async function connect(config: Config, log: Logger): Promise<Database> {
  try {
    let started = performance.now();
    const db = await openConfiguredDatabase(config, log.child({ component: 'database' }));
    log.info({ database: db.description, ms: Math.round(performance.now() - started) }, 'database open');
    started = performance.now();
    const applied = await applyMigrations(db);
    log.info({ applied, ms: Math.round(performance.now() - started) }, 'migrations applied');
    return db;
  } catch (error) {
    if (error instanceof DatabaseOpenError || error instanceof ConfigError) {
      fail(error instanceof ConfigError ? error.message : `${error.variable}: ${error.message}`);
    }
    // Migrations failed on a database that answered: say which one.
    const variable = config.databaseUrl ? 'DATABASE_URL' : 'DATA_DIR';
    fail(`${variable}: cannot apply migrations: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const config = configure();
const logger = pino({
  level: config.logLevel,
  // Tokens never reach the logs, whatever a serializer decides to include.
  redact: ['req.headers.authorization', 'headers.authorization'],
});
logger.info({ version }, 'starting');
logger.debug({ config: maskedConfig(config) }, 'configuration');
const db = await connect(config, logger);
const notifier = createNotifier(config.mail, logger.child({ component: 'mail' }));
const app = await buildApp({
  config,
  db,
  notifier,
  logger,
  authenticator: new OidcVerifier({
    issuers: config.oidcIssuers,
    ...(config.oidcAudience ? { audience: config.oidcAudience } : {}),
    logger,
  }),
});

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'stopping after an error');
  else app.log.info({ signal }, 'stopping');
  await app.close(); // requests in flight may still queue mail
  await notifier.close(); // bounded: what cannot be sent in time is logged
  await db.close();
});

try {
  await app.listen({ port: config.port, host: config.host });
} catch (error) {
  await db.close();
  fail(`PORT: cannot listen on ${config.host}:${config.port}: ${error instanceof Error ? error.message : String(error)}`);
}
