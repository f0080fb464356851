// Results are checked against their benchmark's JSON Schema in worker threads
// (piscina, running worker.ts), each check bounded in time. A benchmark's schema is written by a
// user: a `pattern` that backtracks catastrophically, or `uniqueItems` over a
// large array of objects, can take minutes on one crafted result. On the main
// thread that would stall every request of the service; here the worker is
// terminated at the deadline and the upload is refused with a 422.
import { Piscina } from 'piscina';
import { ResultInvalidError } from '../../errors.js';
import type { Problem } from './benchmark-schema.js';
import type { ValidationOutcome, ValidationTask } from './worker.js';

// From the TypeScript sources (tsx, whose loader worker threads inherit) the
// worker is worker.ts; compiled (npm run build), worker.js beside this file.
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).href;

/** A flag the worker raises when it starts a task (see worker.ts). */
function startFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

export class ResultValidator {
  private readonly pool: Piscina<ValidationTask, ValidationOutcome>;

  /**
   * `threads` (VALIDATION_THREADS, default 2: the cores are shared with the
   * service and the database) are all kept loaded and ready: a check stopped
   * at its deadline ends its thread, and the next upload then goes to another
   * one instead of waiting for a new thread to load.
   */
  constructor(
    private readonly timeoutMs: number,
    threads: number,
  ) {
    this.pool = new Piscina({ filename: WORKER, minThreads: threads, maxThreads: threads, idleTimeout: Number.POSITIVE_INFINITY });
    for (let i = 0; i < threads; i++) void this.pool.run({ schema: {}, body: {}, started: startFlag() }).catch(() => {});
  }

  /**
   * Resolves when `body` satisfies `schema`; a 422 naming the failing JSON
   * paths, or the deadline, otherwise (see problemWith).
   */
  async assertValid(schema: Record<string, unknown>, body: unknown): Promise<void> {
    const problem = await this.problemWith(schema, body);
    if (problem) throw new ResultInvalidError(problem.message, problem.errors);
  }

  /**
   * Why `body` does not satisfy `schema` (a benchmark's, of results or of run
   * parameters), or undefined when it does. The deadline counts from when a
   * thread starts the check: neither a thread starting up (loading ajv), nor
   * compiling the schema the first time that thread sees it, nor waiting
   * behind other checks counts against the caller.
   */
  async problemWith(schema: Record<string, unknown>, body: unknown): Promise<(Problem & { timedOut?: true }) | undefined> {
    const started = startFlag();
    const abort = new AbortController();
    let settled = false;
    let deadline: NodeJS.Timeout | undefined;
    const task = this.pool.run({ schema, body, started }, { signal: abort.signal });
    const waiting = Atomics.waitAsync(started, 0, 0);
    void Promise.resolve(waiting.value).then(() => {
      // Never abort a settled task: its thread may be running another one by now.
      if (!settled) deadline = setTimeout(() => settled || abort.abort(), this.timeoutMs);
    });
    try {
      return (await task) ?? undefined;
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') {
        return {
          timedOut: true,
          message:
            `The result could not be checked against the benchmark's JSON Schema within ${this.timeoutMs} ms ` +
            '(a pattern or uniqueItems that is too costly for this input); it was not stored',
          errors: { body: 'validation took too long' },
        };
      }
      throw error;
    } finally {
      settled = true;
      clearTimeout(deadline);
      // Releases the wait above if the task never started (the pool closed).
      Atomics.notify(started, 0);
    }
  }

  /** Checks waiting for a thread. */
  get queued(): number {
    return this.pool.queueSize;
  }

  /** Lets running checks finish, then stops the threads. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
