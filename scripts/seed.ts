// npm run seed [-- --results N] — fills the database the configuration names
// (DATABASE_URL; unset: PGlite under DATA_DIR) with a realistic data set: 10 sites, 50
// flavors, 20 benchmarks, 7 tags (all approved) and N results (default 1000).
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { type Config, ConfigError, loadConfig, processEnvironment } from '../src/config.js';
import { type Database, DatabaseOpenError, openConfiguredDatabase } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';
import { seedCatalog, seedResults } from './lib/sample-data.js';

const { values } = parseArgs({ options: { results: { type: 'string', default: '1000' } } });
const count = Number(values.results);
if (!Number.isInteger(count) || count < 0) {
  console.error('usage: npm run seed -- --results <N>');
  process.exit(2);
}

let config: Config;
try {
  config = loadConfig(processEnvironment());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
let db: Database;
try {
  db = await openConfiguredDatabase(config);
} catch (error) {
  // The embedded database in use by the running service, an unreachable server: one line.
  if (!(error instanceof DatabaseOpenError)) throw error;
  console.error(`${error.variable}: ${error.message}`);
  process.exit(1);
}
try {
  await applyMigrations(db);
  const catalog = await seedCatalog(db);
  console.log(`${db.description}: ${catalog.benchmarks.length} benchmarks, ${catalog.flavors.length} flavors, ${catalog.tags.length} tags`);
  const bar = new cliProgress.SingleBar(
    { format: 'results [{bar}] {percentage}% | {value}/{total} | {eta}s left' },
    cliProgress.Presets.shades_classic,
  );
  bar.start(count, 0);
  const started = performance.now();
  await seedResults(db, catalog, count, (done) => bar.update(done));
  bar.stop();
  const seconds = (performance.now() - started) / 1000;
  console.log(`added ${count} results in ${seconds.toFixed(1)} s (${Math.round(count / Math.max(seconds, 0.001))} rows/s)`);
} finally {
  await db.close();
}
