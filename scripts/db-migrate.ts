// npm run db:migrate — applies pending migrations to the database named by DATABASE_URL
// (unset: PGlite under DATA_DIR, default ./data).
import { DatabaseOpenError, openDatabase } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';

const verbose = process.argv.includes('--verbose');
try {
  const db = await openDatabase({
    databaseUrl: process.env.DATABASE_URL,
    dataDir: process.env.DATA_DIR ?? './data',
    log: verbose ? (msg) => console.error(msg) : undefined,
  });
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
  else console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
