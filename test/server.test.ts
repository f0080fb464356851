// The process as an operator runs it: `npm start` (src/server.ts) refuses bad
// configuration before listening, serves, and stops cleanly on SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadSpec } from '../src/http/spec.js';
import type { Test } from './helpers/app.js';
import { freePort, spawnTied } from './helpers/processes.js';

const ROOT = new URL('..', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of our entry points as `npm start` / `npm run seed` would, tied to the test `t`. */
function runNode(t: Test, entry: string, args: string[], env: Record<string, string>) {
  const child = spawnTied(t, process.execPath, ['--import=tsx', entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done, output: () => stdout, errors: () => stderr };
}

function startServer(t: Test, env: Record<string, string>) {
  const server = runNode(t, 'src/server.ts', [], { LOG_LEVEL: 'info', ...env });
  const listening = async (): Promise<void> => {
    for (let i = 0; i < 300 && !/Server listening/.test(server.output()); i++) {
      if (server.child.exitCode !== null) throw new Error(`server exited: ${server.errors()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return { ...server, listening };
}

const refusals: [string, Record<string, string>][] = [
  ['PORT', { PORT: 'eighty' }],
  ['OIDC_ISSUERS', { OIDC_ISSUERS: 'not-a-url' }],
  ['DATABASE_URL', { DATABASE_URL: 'postgresql://nobody:secret-password@127.0.0.1:1/none' }],
];
for (const [variable, env] of refusals) {
  t.test(`refuses to start with a bad ${variable}: one line, non-zero exit`, async (t) => {
    const run = await startServer(t, { DATABASE_URL: 'memory://', ...env }).done;
    t.not(run.code, 0);
    const lines = run.stderr.trim().split('\n');
    t.equal(lines.length, 1, run.stderr);
    t.match(lines[0], new RegExp(`^eosc-perf-api: ${variable}: `));
    t.notMatch(run.stderr, /secret-password/, 'no password in the message');
    t.notMatch(run.stdout, /Server listening/);
  });
}

t.test('serves, logs JSON with request ids, and stops on SIGTERM with exit 0', async (t) => {
  const port = await freePort();
  const server = startServer(t, { DATABASE_URL: 'memory://', PORT: String(port), HOST: '127.0.0.1' });
  await server.listening();
  const health = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { authorization: 'Bearer secret-token-value' } });
  t.equal(health.status, 200);
  t.same(await health.json(), { status: 'ok', version: '0.1.0' });
  const spec = await fetch(`http://127.0.0.1:${port}/api-spec.json`);
  t.same(Object.keys(((await spec.json()) as { paths: object }).paths), Object.keys(loadSpec().paths), 'every path of openapi.yaml');
  // A slow in-flight request is finished, not cut, by a SIGTERM.
  const inflight = fetch(`http://127.0.0.1:${port}/`);
  server.child.kill('SIGTERM');
  t.equal((await inflight).status, 200);
  const run = await server.done;
  t.equal(run.code, 0, run.stderr);
  const logs = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.ok(
    logs.some((entry) => typeof entry.reqId === 'string'),
    'request ids in the logs',
  );
  const phases = ['starting', 'database open', 'migrations applied'].map((msg) => logs.findIndex((entry) => entry.msg === msg));
  const listening = logs.findIndex((entry) => /Server listening/.test(String(entry.msg)));
  t.ok(
    phases.every((at, i) => at >= 0 && at < listening && (i === 0 || at > (phases[i - 1] ?? 0))),
    'each start-up phase logged, in order, before listening',
  );
  t.same(
    logs.slice(0, listening).filter((entry) => Number(entry.level) >= 40),
    [],
    'a start without a warning',
  );
  t.match(
    logs.find((entry) => entry.msg === 'database open'),
    { database: 'pglite:memory', ms: Number },
  );
  t.match(
    logs.find((entry) => entry.msg === 'request' && entry.operation === 'GET /healthz'),
    { status: 200 },
  );
  t.notMatch(run.stdout, /secret-token-value/, 'tokens never logged');
});

function runSeed(t: Test, env: Record<string, string>): Promise<Run> {
  return runNode(t, 'scripts/seed.ts', ['--results', '20'], env).done;
}

t.test("the embedded database is the running service's: npm run seed refuses in one line, then works once it stops", async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'eosc-perf-serve-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const server = startServer(t, { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
  await server.listening();

  const refused = await runSeed(t, { DATA_DIR: dataDir });
  t.not(refused.code, 0);
  const lines = refused.stderr.trim().split('\n');
  t.equal(lines.length, 1, refused.stderr);
  t.match(lines[0], new RegExp(`^DATA_DIR: the embedded database in .* is in use by process ${server.child.pid} .*stop it first`));
  const stillServing = await fetch(`http://127.0.0.1:${port}/results`);
  t.equal(stillServing.status, 200, 'the service is untouched');

  server.child.kill('SIGTERM');
  t.equal((await server.done).code, 0);
  const seeded = await runSeed(t, { DATA_DIR: dataDir });
  t.equal(seeded.code, 0, seeded.stderr);
  t.match(seeded.stdout, /added 20 results in .* rows\/s/);

  const again = startServer(t, { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
  await again.listening();
  const page = (await (await fetch(`http://127.0.0.1:${port}/results?per_page=1`)).json()) as { total: number };
  t.equal(page.total, 20, 'what the seed added is served');
  again.child.kill('SIGTERM');
  t.equal((await again.done).code, 0);
});
