// Prisma's schema engine as WebAssembly (@prisma/schema-engine-wasm), so migrations need no
// native binary: it talks to the database through the same driver adapters as the client.
import { readFile } from 'node:fs/promises';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm/schema_engine_bg';

type EngineModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

interface PanicRegistry {
  set_message(message: string): void;
}

declare global {
  // The engine reports a Rust panic here before it traps (`global.PRISMA_WASM_PANIC_REGISTRY`).
  var PRISMA_WASM_PANIC_REGISTRY: PanicRegistry | undefined;
}

// Not in this project's TypeScript libs (no "dom"); only what is used here.
declare const WebAssembly: {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

let lastPanic: string | undefined;

// The engine arms timers (e.g. 10 s around Prisma's advisory lock) and never clears them, which
// kept a finished `db:migrate` alive for 10 s. Its timers are cleared once no engine call runs.
const engineTimers = new Set<NodeJS.Timeout>();
let activeCalls = 0;

function engineSetTimeout(callback: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(() => {
    engineTimers.delete(timer);
    callback();
  }, ms >>> 0);
  engineTimers.add(timer);
  return timer;
}

let loading: Promise<EngineModule> | undefined;

/** Instantiates the wasm once per process, on first use (the package's own entry imports a
 * `.wasm` module, which Node cannot do). */
function loadEngine(): Promise<EngineModule> {
  loading ??= (async () => {
    globalThis.PRISMA_WASM_PANIC_REGISTRY ??= {
      set_message(message) {
        lastPanic = message;
      },
    };
    const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(new URL('schema_engine_bg.wasm', import.meta.resolve('@prisma/schema-engine-wasm')));
    const imports: Record<string, unknown> = { ...bindings };
    for (const name of Object.keys(imports).filter((key) => key.startsWith('__wbg_setTimeout_'))) {
      imports[name] = engineSetTimeout;
    }
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': imports });
    bindings.__wbg_set_wasm(instance.exports);
    const start = instance.exports.__wbindgen_start;
    if (typeof start === 'function') start();
    return bindings;
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

export interface SchemaFile {
  path: string;
  content: string;
}

/** Runs `fn` with an engine connected through `factory`, then frees the engine. */
export async function withSchemaEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  schema: SchemaFile[],
  log: { debug(msg: string): void; warn(msg: string): void },
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const bindings = await loadEngine();
  let engine: SchemaEngine | undefined;
  activeCalls += 1;
  try {
    engine = await bindings.SchemaEngine.new(
      // An empty list makes the engine panic; undefined means "no schema".
      { datamodels: schema.length > 0 ? schema.map((file): [string, string] => [file.path, file.content]) : undefined },
      (line: string) => {
        const entry = formatEngineLog(line);
        // Its progress (which migration it applies) is for debugging; anything else is worth a look.
        if (entry.quiet) log.debug(entry.text);
        else log.warn(entry.text);
      },
      // Without binding, the engine calls the factory's methods with `this` lost.
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    return await fn(engine);
  } catch (err) {
    throw engineError(err);
  } finally {
    engine?.free();
    activeCalls -= 1;
    if (activeCalls === 0) {
      for (const timer of engineTimers) clearTimeout(timer);
      engineTimers.clear();
    }
  }
}

/** The engine logs one JSON object per line: {level, fields: {message, …}, target}. */
function formatEngineLog(line: string): { text: string; quiet: boolean } {
  try {
    const entry = JSON.parse(line) as { level?: string; fields?: Record<string, unknown> };
    const { message, ...rest } = entry.fields ?? {};
    // Fields such as `script` hold whole migrations: one short line per entry is enough.
    const extra = Object.entries(rest).map(([key, value]) => `${key}=${clip(typeof value === 'string' ? value : JSON.stringify(value))}`);
    const level = entry.level ?? 'INFO';
    return { text: ['schema-engine', level, String(message ?? ''), ...extra].join(' ').trim(), quiet: QUIET_LEVELS.has(level) };
  } catch {
    return { text: `schema-engine ${line.trim()}`, quiet: false };
  }
}

const QUIET_LEVELS = new Set(['TRACE', 'DEBUG', 'INFO']);

function clip(text: string, max = 120): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** Engine errors carry a span trace after the message ("   0: schema_engine_wasm::…"): keep the
 * message, plus the name of the migration the trace points at, if any. */
function engineError(err: unknown): Error {
  if (!(err instanceof Error)) {
    return new Error(lastPanic !== undefined ? `schema engine panicked: ${lastPanic}` : String(err));
  }
  if (err.message.includes('unreachable') && lastPanic !== undefined) {
    return new Error(`schema engine panicked: ${lastPanic}`, { cause: err });
  }
  const [head = err.message, trace = ''] = err.message.split(/\n(?=\s+0: )/);
  const migration = /migration_name="([^"]+)"/.exec(trace)?.[1];
  const message = migration !== undefined && !head.includes(migration) ? `migration ${migration}: ${head.trim()}` : head.trim();
  if (message === err.message) return err;
  const clean = new Error(message, { cause: err });
  clean.name = err.name;
  return clean;
}
