// npm run db:migration -- <name> — writes prisma/migrations/<timestamp>_<name>/migration.sql
// with what schema.prisma changed since the last migration. Needs no database server.
import { createMigration } from '../src/db/migrate.js';

const verbose = process.argv.includes('--verbose');
const name = process.argv.slice(2).find((arg) => !arg.startsWith('--'));
if (name === undefined) {
  console.error('usage: npm run db:migration -- <name> [--verbose]');
  process.exit(2);
}
try {
  const created = await createMigration(name, { log: verbose ? (msg) => console.error(msg) : undefined });
  console.log(
    created === null ? 'schema.prisma matches the migrations: nothing to create' : `created prisma/migrations/${created}/migration.sql`,
  );
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
