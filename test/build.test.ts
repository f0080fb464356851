// The production build: `npm run build` compiles the service to JavaScript in
// dist/, and `node dist/src/server.js` (the Dockerfile's command) — plain
// Node, no TypeScript loader — starts, migrates and serves, validation
// worker threads included. The Dockerfile runs exactly these commands.
import { readFileSync } from 'node:fs';
import { ValidationSeverity, validate } from 'dockerfile-utils';
import t from 'tap';
import { ADMIN_ENTITLEMENT } from './helpers/app.js';
import { startOidcProvider } from './helpers/oidc-provider.js';
import { freePort, spawnTied } from './helpers/processes.js';

const ROOT = new URL('..', import.meta.url).pathname;

t.test('the Dockerfile builds with npm run build and starts node dist/src/server.js', async (t) => {
  const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
  t.match(dockerfile, /RUN npm run build/);
  t.match(dockerfile, /CMD \["node", "dist\/src\/server\.js"\]/);
  t.notMatch(dockerfile, /tsx/, 'no TypeScript loader in the image');
  t.match(dockerfile, /COPY web \.\/web/, "the explorer page's files are in the image");
  t.equal(JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).scripts['start:dist'], 'node dist/src/server.js');
});

t.test("the Dockerfile passes dockerfile-utils' linter, every rule an error", async (t) => {
  const strict = {
    deprecatedMaintainer: ValidationSeverity.ERROR,
    directiveCasing: ValidationSeverity.ERROR,
    emptyContinuationLine: ValidationSeverity.ERROR,
    instructionCasing: ValidationSeverity.ERROR,
    instructionCmdMultiple: ValidationSeverity.ERROR,
    instructionEntrypointMultiple: ValidationSeverity.ERROR,
    instructionHealthcheckMultiple: ValidationSeverity.ERROR,
    instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
    instructionWorkdirRelative: ValidationSeverity.ERROR,
  };
  const problems = validate(readFileSync(`${ROOT}Dockerfile`, 'utf8'), strict);
  t.same(
    problems.map((problem) => `line ${problem.range.start.line + 1}: ${problem.message}`),
    [],
    'no problem',
  );
  // The linter is not silent: a Dockerfile with mistakes it knows is refused.
  const flawed = validate('FROM node:20\nMAINTAINER me\nworkdir app\nCMD a\nCMD b\nCOPY\n', strict);
  t.ok(flawed.length >= 4, flawed.map((problem) => problem.message).join('; '));
});

t.test('npm run build, then node dist/src/server.js serves, migrates and validates', async (t) => {
  const build = spawnTied(t, process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buildOutput = '';
  build.stdout?.on('data', (chunk: Buffer) => (buildOutput += chunk.toString()));
  const built = await new Promise<number | null>((resolve) => build.on('exit', resolve));
  t.equal(built, 0, `tsc -p tsconfig.build.json: ${buildOutput}`);

  const oidc = await startOidcProvider();
  t.teardown(() => oidc.close());
  const port = await freePort();
  // Through env -u: tap instruments a test's children for coverage (NODE_OPTIONS,
  // NODE_V8_COVERAGE), and the compiled server's functions, mapped back onto src/, would
  // count a second time, uncalled.
  const server = spawnTied(t, '/usr/bin/env', ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', process.execPath, 'dist/src/server.js'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: 'memory://',
      PORT: String(port),
      HOST: '127.0.0.1',
      OIDC_ISSUERS: oidc.issuer,
      ADMIN_ENTITLEMENTS: ADMIN_ENTITLEMENT,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let i = 0; i < 600 && !/Server listening/.test(output); i++) {
    if (server.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.match(output, /migrations applied/);
  t.match(output, /Server listening/);

  const base = `http://127.0.0.1:${port}`;
  const health = await fetch(`${base}/healthz`);
  t.equal(health.status, 200);
  t.equal((await fetch(`${base}/explore/explore.js`)).status, 200, 'the explorer page is served from the package root');
  const admin = {
    authorization: `Bearer ${await oidc.token({ sub: 'built-admin', email: 'admin@example.org', eduperson_entitlement: [ADMIN_ENTITLEMENT] })}`,
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...admin, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as { id: string }) };
  };
  t.equal((await call('POST', '/users:register')).status, 201);
  const benchmark = await call('POST', '/benchmarks', {
    docker_image: 'built/bench',
    docker_tag: 'v1',
    json_schema: { type: 'object', properties: { score: { type: 'number' } }, required: ['score'] },
  });
  const site = await call('POST', '/sites', { name: 'built-site', address: 'here' });
  const flavor = await call('POST', `/sites/${site.body!.id}/flavors`, { name: 'built-flavor' });
  for (const path of [
    `/benchmarks/${benchmark.body!.id}:approve`,
    `/sites/${site.body!.id}:approve`,
    `/flavors/${flavor.body!.id}:approve`,
  ]) {
    t.equal((await call('POST', path)).status, 204, path);
  }
  const upload = `/results?execution_datetime=2026-01-01T00:00:00Z&benchmark_id=${benchmark.body!.id}&flavor_id=${flavor.body!.id}`;
  t.equal((await call('POST', upload, { score: 1 })).status, 201, 'a valid result (checked in a worker thread)');
  t.equal((await call('POST', upload, { score: 'one' })).status, 422, 'an invalid one');
  t.equal((await fetch(`${base}/results`)).status, 200);

  server.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) =>
    server.exitCode !== null ? resolve(server.exitCode) : server.on('exit', resolve),
  );
  t.equal(code, 0, 'stops cleanly');
});
