// npm run db:migrate — applies pending migrations to the database the
// configuration names (DATABASE_URL; unset: PGlite under DATA_DIR).
import { ConfigError, loadConfig, processEnvironment } from '../src/config.js';
import { DatabaseOpenError, openConfiguredDatabase } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';

const verbose = process.argv.includes('--verbose');
const say = (msg: string) => console.error(msg);
try {
  const db = await openConfiguredDatabase(loadConfig(processEnvironment()), verbose ? { debug: say, info: say, warn: say } : undefined);
  try {
    const started = performance.now();
    const applied = await applyMigrations(db);
    const ms = Math.round(performance.now() - started);
    if (applied.length === 0) console.log(`${db.description}: no pending migrations (${ms} ms)`);
    else console.log(`${db.description}: applied ${applied.join(', ')} (${ms} ms)`);
  } finally {
    await db.close();
  }
} catch (err) {
  if (err instanceof DatabaseOpenError) console.error(`${err.variable}: ${err.message}`);
  else if (err instanceof ConfigError) console.error(err.message);
  else console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
