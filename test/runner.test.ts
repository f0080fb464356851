// The site runner (`npm run runner`, src/runner/) as a real process against
// the real service, on PGlite and on PostgreSQL, with a command template that
// runs test/fixtures/fake-benchmark.mjs instead of a container: runs end to
// end (result stored, log kept), a container that fails, output that is not
// JSON or fails the schema, cancellation while running, SIGTERM while running
// (the run goes back to the queue), the token command, the exit codes of a
// misconfigured runner, and a refused poll's Retry-After.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { adminPersona, eachDatabase, json, type Persona, persona, type Test as Tap, type TestContext } from './helpers/app.js';
import type { Benchmark, Result, Run } from './helpers/contract.js';
import { fixtures, uniqueDashed } from './helpers/fixtures.js';
import { spawnTied } from './helpers/processes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const FAKE_BENCHMARK = path.join(ROOT, 'test', 'fixtures', 'fake-benchmark.mjs');
const TEMPLATE = `${process.execPath} ${FAKE_BENCHMARK} {image}:{tag} {parameters}`;

interface RunnerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startRunner(t: Tap, args: string[], env: Record<string, string>): RunnerProcess {
  const child = spawnTied(t, process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'runner', 'cli.ts'), ...args], {
    cwd: ROOT,
    // The test's own environment (tap's coverage of the runner's code included), and the runner's settings.
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** The process's exit code; a failure (and a kill) if it runs longer than `timeoutMs`. */
async function exitOf(runner: RunnerProcess, timeoutMs = 30_000): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), timeoutMs);
  });
  const code = await Promise.race([runner.exited, late]);
  clearTimeout(timer);
  if (code === 'still running') runner.child.kill('SIGKILL');
  return code;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

eachDatabase(
  t,
  async (t, ctx: TestContext) => {
    const api = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    t.equal(typeof (ctx.app.server.address() as AddressInfo).port, 'number');
    const admin = adminPersona('runner-admin');
    const alice = persona('runner-alice');
    const runner = persona('runner-identity');
    for (const who of [admin, alice, runner]) await ctx.register(who);
    const fx = fixtures(ctx, admin, alice);
    const benchmark = await fx.post<Benchmark>('/benchmarks', alice, {
      docker_image: `${uniqueDashed('runner')}/c-ray`,
      docker_tag: 'v2',
      json_schema: {
        type: 'object',
        required: ['result'],
        properties: { result: { type: 'object', properties: { score: { type: 'number' } } } },
      },
      parameters_schema: {
        type: 'object',
        properties: { threads: { type: 'integer' }, mode: { enum: ['ok', 'fail', 'garbage', 'invalid', 'sleep'] } },
      },
    });
    await fx.approve(`/benchmarks/${benchmark.id}:approve`);
    const site = await fx.site();
    const flavor = await fx.flavor(site.id);
    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, who?: Persona, payload?: unknown) =>
      ctx.app.inject({
        method,
        url,
        headers: { ...(who ? await ctx.auth(who) : {}), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
      });
    const ask = async (parameters: Record<string, unknown>) => {
      const response = await call('POST', '/runs', alice, { benchmark_id: benchmark.id, flavor_id: flavor.id, parameters });
      if (response.statusCode !== 201) throw new Error(`POST /runs: ${response.body}`);
      return json<Run>(response);
    };
    const get = async (id: string) => json<Run>(await call('GET', `/runs/${id}`));
    const ended = (id: string) =>
      until(`run ${id} ends`, async () => {
        const run = await get(id);
        return ['completed', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
      });
    const args = ['--api', api, '--site', site.id, '--command', TEMPLATE, '--poll-min', '0.05', '--poll-max', '0.2'];

    t.test('a misconfigured runner says why and exits', async (t) => {
      const usage = startRunner(t, ['--api', api], { EOSC_PERF_TOKEN: 'x' });
      t.equal(await exitOf(usage), 2, 'a usage error');
      t.match(usage.output(), /--site: the site's id/);
      t.match(usage.output(), /usage: npm run runner/);
      const notRunner = startRunner(t, args, { EOSC_PERF_TOKEN: await ctx.token(runner) });
      t.equal(await exitOf(notRunner), 1, 'an identity that is no runner of the site');
      t.match(notRunner.output(), /error taking a run: 403 Only the runners of site/);
      t.notMatch(notRunner.output(), (await ctx.token(runner)).slice(-20), 'the token is never printed');
    });

    t.test('runs end to end: results stored, failures explained', async (t) => {
      const designated = await call('PUT', `/sites/${site.id}/runners`, admin, { runners: [{ sub: runner.sub, iss: ctx.oidc.issuer }] });
      t.equal(designated.statusCode, 200);
      const ok = await ask({ threads: 6 });
      const failing = await ask({ mode: 'fail' });
      const garbage = await ask({ mode: 'garbage' });
      const invalid = await ask({ mode: 'invalid' });
      const daemon = startRunner(t, args, { EOSC_PERF_TOKEN: await ctx.token(runner) });

      const completed = await ended(ok.id);
      t.equal(completed.status, 'completed');
      const result = json<Result>(await call('GET', `/results/${completed.result_id}`));
      t.same(
        result.json,
        { result: { score: 60 }, run: ok.id, argument: { threads: 6 } },
        "the container's stdout; the run's parameters and id were given to it in its environment and as an argument",
      );
      t.ok(Date.parse(result.execution_datetime) <= Date.parse(completed.finish_datetime ?? ''), 'executed when the container started');
      const log = (await call('GET', `/runs/${ok.id}/log`)).body;
      t.match(log, `pulling ${benchmark.docker_image}:v2\nrendering with 6 threads\n`, 'its stderr is the log');

      t.match(await ended(failing.id), { status: 'failed', failure_reason: 'the container exited with status 3' });
      t.match((await call('GET', `/runs/${failing.id}/log`)).body, 'out of memory');
      t.match((await ended(garbage.id)).failure_reason, /^the container's output is not JSON/);
      t.match((await ended(invalid.id)).failure_reason, /^The result does not match the benchmark's JSON Schema: at \/result\/score/);

      t.test('cancelled while running: the container is stopped at the next heartbeat', async (t) => {
        const sleeper = await ask({ mode: 'sleep' });
        await until('it runs', async () => ((await get(sleeper.id)).status === 'running' ? true : undefined));
        await until('it reports', async () => ((await call('GET', `/runs/${sleeper.id}/log`)).body.includes('tick') ? true : undefined));
        t.equal((await call('POST', `/runs/${sleeper.id}:cancel`, alice)).statusCode, 200);
        await until('the runner stops it', async () =>
          daemon.output().includes(`run ${sleeper.id}: stopped, it was cancelled`) ? true : undefined,
        );
        t.equal((await get(sleeper.id)).status, 'cancelled');
        const next = await ask({ threads: 1 });
        t.equal((await ended(next.id)).status, 'completed', 'and it takes the next run');
      });

      t.test('SIGTERM while running: the run goes back to the queue, the runner exits 0', async (t) => {
        const sleeper = await ask({ mode: 'sleep' });
        await until('it runs', async () => ((await get(sleeper.id)).status === 'running' ? true : undefined));
        daemon.child.kill('SIGTERM');
        t.equal(await exitOf(daemon), 0);
        const back = await get(sleeper.id);
        t.match(back, { status: 'queued', attempts: 1 }, 'handed back, for another runner');
        t.match((await call('GET', `/runs/${sleeper.id}/log`)).body, 'released by the runner: the runner stopped before the run ended');
        t.match(daemon.output(), /SIGTERM: stopping/);
      });
    });

    t.test('--once with EOSC_PERF_TOKEN_COMMAND: takes the waiting run, then exits', async (t) => {
      const queued = json<{ items: Run[] }>(await call('GET', `/runs?site_id=${site.id}&status=queued`));
      for (const run of queued.items) await call('POST', `/runs/${run.id}:cancel`, alice);
      const waiting = await ask({ threads: 2 });
      const dir = mkdtempSync(path.join(tmpdir(), 'runner-token-'));
      const file = path.join(dir, 'token');
      writeFileSync(file, `${await ctx.token(runner)}\n`);
      const once = startRunner(t, [...args, '--once'], { EOSC_PERF_TOKEN_COMMAND: `cat ${file}` });
      t.equal(await exitOf(once), 0);
      t.match(await get(waiting.id), { status: 'completed', attempts: 1 });
      const idle = startRunner(t, [...args, '--once'], { EOSC_PERF_TOKEN_COMMAND: `cat ${file}` });
      t.equal(await exitOf(idle), 0, 'an empty queue: one poll, then exit');
      const broken = startRunner(t, [...args, '--once'], { EOSC_PERF_TOKEN_COMMAND: `cat ${path.join(dir, 'missing')}` });
      t.equal(await exitOf(broken), 1);
      t.match(broken.output(), /EOSC_PERF_TOKEN_COMMAND failed/);
    });
  },
  { RUN_LEASE_SECONDS: '3' },
);

t.test('a poll refused with 429 waits as long as its Retry-After asks', async (t) => {
  // A service that refuses the first take for 1 s, then has nothing queued.
  const takes: number[] = [];
  const service = createServer((_request, response) => {
    takes.push(performance.now());
    if (takes.length === 1) {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      response.end(JSON.stringify({ code: 'rate_limited', message: 'Too many requests: retry in 1 s' }));
    } else {
      response.writeHead(204).end();
    }
  });
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => service.close(() => resolve())));
  const api = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
  const runner = startRunner(
    t,
    ['--api', api, '--site', '00000000-0000-4000-8000-000000000001', '--command', TEMPLATE, '--poll-min', '0.05', '--poll-max', '0.1'],
    { EOSC_PERF_TOKEN: 'a-token' },
  );
  await until('a second take', async () => (takes.length >= 3 ? true : undefined));
  runner.child.kill('SIGTERM');
  t.equal(await exitOf(runner), 0);
  const [first = 0, second = 0, third = 0] = takes;
  t.ok(second - first >= 950, `the second take waited ${Math.round(second - first)} ms`);
  t.ok(third - second < 900, `the next one polls as usual again (${Math.round(third - second)} ms)`);
  t.match(runner.output(), /taking a run: 429 Too many requests: retry in 1 s; trying in 1 s, as Retry-After asks/);
});
