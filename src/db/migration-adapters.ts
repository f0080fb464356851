// The driver adapters as the schema engine needs them. Both stock adapters fall short for
// migrations (checked with @prisma/adapter-pg 7.10 and pglite-prisma-adapter 0.7):
// - executeScript: adapter-pg splits the script on every ";" (breaking function bodies, DO
//   blocks, strings) and runs the pieces outside any transaction; the PGlite adapter does not
//   await its exec, so a failing migration is recorded as applied and its error goes unhandled.
//   Here a script is one simple-protocol query, as with Prisma's native engine: all or nothing.
// - adapter-pg rejects the catalog type "char" (OID 18), which the engine's schema describer
//   reads, so describing a PostgreSQL database (drift, diff) failed.
// - the PGlite adapter's shadow databases were never closed.
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { DriverAdapterError, type SqlDriverAdapter, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

const CHAR_OID = 18;
const TEXT_OID = 25;

/** PostgreSQL through one pool that the caller owns (and ends). */
export class PgMigrationFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName: string;
  private readonly inner: PrismaPg;
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
    readCharAsText(pool);
    this.inner = new PrismaPg(pool);
    this.adapterName = this.inner.adapterName;
  }

  async connect(): Promise<SqlDriverAdapter> {
    const adapter = await this.inner.connect();
    const pool = this.pool;
    adapter.executeScript = async (script) => {
      await pool.query(script).catch(rethrowAsAdapterError);
    };
    return adapter;
  }

  /** Creates a database on the server (needs CREATEDB); migrate.ts uses PGlite shadows instead. */
  connectToShadowDb(): Promise<SqlDriverAdapter> {
    return this.inner.connectToShadowDb();
  }
}

/** PGlite: the main instance is shared; shadow databases are in-memory PGlites closed on dispose. */
export class PgliteMigrationFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName: string;
  private readonly pglite: PGlite;

  constructor(pglite: PGlite) {
    this.pglite = pglite;
    this.adapterName = new PrismaPGlite(pglite).adapterName;
  }

  connect(): Promise<SqlDriverAdapter> {
    return pgliteAdapter(this.pglite);
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const shadow = new PGlite();
    const adapter = await pgliteAdapter(shadow);
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      if (!shadow.closed) await shadow.close();
    };
    return adapter;
  }
}

async function pgliteAdapter(pglite: PGlite): Promise<SqlDriverAdapter> {
  const adapter = await new PrismaPGlite(pglite).connect();
  adapter.executeScript = async (script) => {
    await pglite.exec(script).catch(rethrowAsAdapterError);
  };
  return adapter;
}

/** The engine reports a DriverAdapterError with the database's own code and message. */
function rethrowAsAdapterError(err: unknown): never {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)) {
    const field = (name: string): string | undefined => {
      const value: unknown = Reflect.get(err, name);
      return typeof value === 'string' ? value : undefined;
    };
    throw new DriverAdapterError({
      kind: 'postgres',
      code: err.code,
      severity: field('severity') ?? 'ERROR',
      message: err.message,
      detail: field('detail'),
      column: field('column'),
      hint: field('hint'),
    });
  }
  throw err;
}

/** Reports "char" columns as text (their text form is the character itself). */
function readCharAsText(pool: pg.Pool): void {
  const query = pool.query.bind(pool) as (config: pg.QueryConfig | string) => Promise<pg.QueryResult>;
  const patched = async (config: pg.QueryConfig | string): Promise<pg.QueryResult> => {
    const result = await query(config);
    for (const field of result.fields ?? []) {
      if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
    }
    return result;
  };
  pool.query = patched as typeof pool.query;
}
