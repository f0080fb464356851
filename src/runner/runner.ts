// A site's runner: polls the site's queue (POST /sites/{site_id}/runs:take),
// runs each run's container, reports its progress with heartbeats (its
// stderr as the run's log) and sends its stdout as the result — or why it
// failed. Calls go through a client generated from openapi.yaml
// (openapi-fetch over generated/openapi.ts), so they are checked against the
// contract at compile time.
//
// Stopping (SIGTERM, SIGINT) never leaves a run dangling: the container is
// stopped and the run handed back to the queue (`:fail` with requeue).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from '../../generated/openapi.js';
import { commandFor, startContainer } from './container.js';
import type { RunnerOptions } from './options.js';

type Assignment = components['schemas']['RunAssignment'];

/** What a heartbeat may carry, in characters (the spec's maxLength). */
const LOG_CHUNK = 65_536;

export interface RunnerLog {
  info(message: string): void;
  warn(message: string): void;
}

/** The runner could not go on: misconfigured (403, 404) or its token cannot be had. */
export class RunnerError extends Error {}

export class Runner {
  private readonly client: Client<paths>;
  private token: string | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private current: { runId: string; stop: () => void } | undefined;
  /** The least the next poll waits, ms: a 429's or 503's Retry-After. */
  private retryAfterMs = 0;

  constructor(
    private readonly options: RunnerOptions,
    private readonly log: RunnerLog,
  ) {
    this.client = createClient<paths>({ baseUrl: options.api });
  }

  /** Polls and runs until stopped (or, with `once`, after one run or one empty poll). */
  async run(): Promise<void> {
    let wait = this.options.pollMinMs;
    while (!this.stopping) {
      const assignment = await this.take();
      if (assignment) {
        wait = this.options.pollMinMs;
        await this.execute(assignment);
      } else {
        if (this.options.once || this.stopping) return;
        await this.sleep(Math.max(wait, this.retryAfterMs));
        this.retryAfterMs = 0;
        // Doubling, with jitter so that a site's runners do not poll in step.
        wait = Math.min(this.options.pollMaxMs, wait * 2) * (0.8 + Math.random() * 0.4);
      }
      if (this.options.once) return;
    }
  }

  /** Stops polling; a run in progress is stopped and handed back to the queue. */
  stop(): void {
    this.stopping = true;
    this.wake?.();
    this.current?.stop();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async headers(fresh = false): Promise<{ authorization: string }> {
    if (fresh || this.token === undefined) this.token = await this.newToken();
    return { authorization: `Bearer ${this.token}` };
  }

  private async newToken(): Promise<string> {
    const source = this.options.token;
    if ('value' in source) return source.value;
    const [program, ...args] = source.command as [string, ...string[]];
    try {
      const { stdout } = await promisify(execFile)(program, args, { timeout: 60_000 });
      const token = stdout.trim();
      if (!token) throw new Error('it printed nothing');
      return token;
    } catch (error) {
      throw new RunnerError(`EOSC_PERF_TOKEN_COMMAND failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * One call with the current token; on a 401 the token command (if any)
   * is asked for a new one and the call made once more.
   */
  private async call<T extends { response: Response }>(send: (headers: { authorization: string }) => Promise<T>): Promise<T> {
    const answer = await send(await this.headers());
    if (answer.response.status !== 401 || 'value' in this.options.token) return answer;
    return send(await this.headers(true));
  }

  private async take(): Promise<Assignment | undefined> {
    let answer: Awaited<ReturnType<typeof this.takeOnce>>;
    try {
      answer = await this.takeOnce();
    } catch (error) {
      if (error instanceof RunnerError) throw error;
      this.log.warn(`the service did not answer (${String(error)}); trying again`);
      return undefined;
    }
    const status = answer.response.status;
    if (status === 200 && answer.data) return answer.data;
    if (status === 204) return undefined;
    const message = (answer.error as { message?: string } | undefined)?.message ?? answer.response.statusText;
    if (status === 401 || status === 403 || status === 404) throw new RunnerError(`taking a run: ${status} ${message}`);
    this.retryAfterMs = retryAfter(answer.response) ?? 0;
    const when = this.retryAfterMs > 0 ? `in ${Math.round(this.retryAfterMs / 100) / 10} s, as Retry-After asks` : 'again';
    this.log.warn(`taking a run: ${status} ${message}; trying ${when}`);
    return undefined;
  }

  private takeOnce() {
    return this.call((headers) =>
      this.client.POST('/sites/{site_id}/runs:take', { params: { path: { site_id: this.options.siteId } }, headers }),
    );
  }

  private async execute(assignment: Assignment): Promise<void> {
    const { run } = assignment;
    // Stopped while the take was on its way: the run goes back at once.
    if (this.stopping) return this.report(run.id, { fail: 'the runner stopped before the run started', requeue: true });
    const argv = commandFor(this.options.command, {
      image: assignment.docker_image,
      tag: assignment.docker_tag,
      runId: run.id,
      parameters: run.parameters,
    });
    this.log.info(`run ${run.id}: ${argv.join(' ')}`);
    let pending = '';
    const started = new Date();
    const container = startContainer(
      argv,
      { EOSC_PERF_PARAMETERS: JSON.stringify(run.parameters), EOSC_PERF_RUN_ID: run.id },
      this.options.maxOutputBytes,
      (line) => {
        pending += line;
      },
    );
    let released = false;
    const release = () => {
      released = true;
      container.stop();
    };
    this.current = { runId: run.id, stop: release };
    let lost: string | undefined;
    const beat = async () => {
      const log = pending.slice(-LOG_CHUNK);
      pending = '';
      const answer = await this.call((headers) =>
        this.client.POST('/runs/{run_id}:heartbeat', { params: { path: { run_id: run.id } }, headers, body: log ? { log } : {} }),
      );
      if (answer.data?.cancelled) lost = 'it was cancelled';
      else if (answer.response.status === 422 || answer.response.status === 404 || answer.response.status === 403) {
        lost = (answer.error as { message?: string } | undefined)?.message ?? `heartbeat answered ${answer.response.status}`;
      }
      if (lost) container.stop();
    };
    const heartbeats = setInterval(
      () => {
        beat().catch((error: unknown) => this.log.warn(`run ${run.id}: heartbeat failed (${String(error)}); the next one may pass`));
      },
      (assignment.lease_seconds * 1000) / 3,
    );
    const outcome = await container.outcome;
    clearInterval(heartbeats);
    this.current = undefined;
    if (lost) {
      this.log.info(`run ${run.id}: stopped, ${lost}`);
      return;
    }
    if (pending) await beat().catch(() => {});
    if (released) return this.report(run.id, { fail: 'the runner stopped before the run ended', requeue: true });
    if ('error' in outcome) return this.report(run.id, { fail: `the command could not be started: ${outcome.error.message}` });
    if (outcome.tooLarge) return this.report(run.id, { fail: `the output is larger than ${this.options.maxOutputBytes} bytes` });
    if (outcome.code !== 0) {
      const how = outcome.code === null ? `was killed by ${outcome.signal}` : `exited with status ${outcome.code}`;
      return this.report(run.id, { fail: `the container ${how}` });
    }
    let result: unknown;
    try {
      result = JSON.parse(outcome.stdout.toString('utf8'));
    } catch (error) {
      return this.report(run.id, { fail: `the container's output is not JSON: ${error instanceof Error ? error.message : String(error)}` });
    }
    if (result === null || typeof result !== 'object' || Array.isArray(result)) {
      return this.report(run.id, { fail: "the container's output is not a JSON object" });
    }
    return this.report(run.id, { result: result as Record<string, unknown>, executed: started });
  }

  private async report(
    runId: string,
    end: { fail: string; requeue?: boolean } | { result: Record<string, unknown>; executed: Date },
  ): Promise<void> {
    const answer =
      'fail' in end
        ? await this.call((headers) =>
            this.client.POST('/runs/{run_id}:fail', {
              params: { path: { run_id: runId } },
              headers,
              body: { reason: end.fail.slice(0, 4096), requeue: end.requeue ?? false },
            }),
          )
        : await this.call((headers) =>
            this.client.POST('/runs/{run_id}:complete', {
              params: { path: { run_id: runId } },
              headers,
              body: { execution_datetime: end.executed.toISOString(), result: end.result },
            }),
          );
    if (answer.data)
      this.log.info(`run ${runId}: ${answer.data.status}${answer.data.failure_reason ? ` (${answer.data.failure_reason})` : ''}`);
    else
      this.log.warn(
        `run ${runId}: the service answered ${answer.response.status} ${(answer.error as { message?: string } | undefined)?.message ?? ''}`,
      );
  }
}

/** The longest a Retry-After is waited for, ms: a service asking for longer is asked again after this. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/** How long a refused poll (429, 503) asks the runner to wait, ms, from its Retry-After (seconds or an HTTP date). */
function retryAfter(response: Response): number | undefined {
  const value = response.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isNaN(ms) ? undefined : Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
