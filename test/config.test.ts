// Configuration is validated before anything starts (docs/CONTRACT.md §1).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig, maskedConfig, processEnvironment } from '../src/config.js';

t.test('defaults', async (t) => {
  const config = loadConfig({});
  t.match(config, {
    port: 5000,
    host: '0.0.0.0',
    oidcIssuers: [],
    adminEntitlements: [],
    apiPrefix: '',
    logLevel: 'info',
    corsOrigins: '*',
    bodyLimit: 1024 * 1024,
    resultsCacheMs: 60_000,
    validationTimeoutMs: 2000,
    validationThreads: 2,
    slowRequestMs: 1000,
    maxQueueWaitMs: 5_000,
    runLeaseSeconds: 120,
    runMaxAttempts: 3,
    rateLimits: { reads: 0, writes: 0, windowMs: 60_000 },
    trustProxy: false,
    databaseTimeoutMs: 30_000,
  });
  t.equal(config.databaseUrl, undefined, 'embedded PGlite');
  t.same(config.databaseReplicaUrls, [], 'no read replicas');
  t.match(config.dataDir, /\/data$/);
  t.equal(config.mail, undefined);
});

t.test('values are read and normalised', async (t) => {
  const config = loadConfig({
    PORT: '8080',
    DATABASE_URL: 'postgresql://u:p@db:5432/perf',
    OIDC_ISSUERS: 'https://aai.egi.eu/auth/realms/egi, http://127.0.0.1:9000',
    ADMIN_ENTITLEMENTS: 'a,b',
    API_PREFIX: '/api/v1/',
    CORS_ORIGINS: 'https://a.example.org,https://b.example.org',
    MAIL_SERVER: 'smtp.example.org',
  });
  t.match(config, {
    port: 8080,
    databaseUrl: 'postgresql://u:p@db:5432/perf',
    oidcIssuers: ['https://aai.egi.eu/auth/realms/egi', 'http://127.0.0.1:9000'],
    adminEntitlements: ['a', 'b'],
    apiPrefix: '/api/v1',
    corsOrigins: ['https://a.example.org', 'https://b.example.org'],
    mail: { server: 'smtp.example.org', port: 25 },
  });
  t.equal(loadConfig({ DATABASE_URL: 'memory://' }).databaseUrl, 'memory://');
  t.same(
    loadConfig({ DATABASE_URL: 'postgresql://db/perf', DATABASE_REPLICA_URLS: ' postgresql://r1/perf , postgres://r2/perf' })
      .databaseReplicaUrls,
    ['postgresql://r1/perf', 'postgres://r2/perf'],
    'read replicas',
  );
  t.equal(loadConfig({ RESULTS_CACHE_MS: '0' }).resultsCacheMs, 0, '0 turns the results cache off');
  t.match(loadConfig({ RUN_LEASE_SECONDS: '30', RUN_MAX_ATTEMPTS: '1' }), { runLeaseSeconds: 30, runMaxAttempts: 1 });
  t.equal(loadConfig({}).tracing, undefined, 'no tracing unless an OTLP endpoint is set');
  t.same(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing, {
    tracesUrl: 'http://collector:4318/v1/traces',
    serviceName: 'eosc-perf-api',
  });
  t.same(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c.example.org/traces', OTEL_SERVICE_NAME: 'perf' }).tracing, {
    tracesUrl: 'https://c.example.org/traces',
    serviceName: 'perf',
  });
  t.match(loadConfig({}), { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000 }, 'timeout defaults');
  t.match(
    loadConfig({ REQUEST_TIMEOUT_MS: '5000' }),
    { requestTimeoutMs: 5000, headersTimeoutMs: 5000 },
    'headers never wait longer than the request',
  );
});

const bad: [string, Record<string, string>, RegExp][] = [
  ['PORT', { PORT: 'eighty' }, /^PORT: must be an integer/],
  ['PORT', { PORT: '70000' }, /^PORT: must be between/],
  ['OIDC_ISSUERS', { OIDC_ISSUERS: 'not a url' }, /^OIDC_ISSUERS: /],
  ['OIDC_ISSUERS', { OIDC_ISSUERS: 'ftp://issuer.example.org' }, /^OIDC_ISSUERS: .*http/],
  ['DATABASE_URL', { DATABASE_URL: 'mysql://db/x' }, /^DATABASE_URL: unsupported scheme/],
  ['DATABASE_URL', { DATABASE_URL: '::::' }, /^DATABASE_URL: /],
  ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
  ['DATABASE_REPLICA_URLS', { DATABASE_REPLICA_URLS: 'postgresql://replica/perf' }, /^DATABASE_REPLICA_URLS: .*PostgreSQL primary/],
  [
    'DATABASE_REPLICA_URLS',
    { DATABASE_URL: 'memory://', DATABASE_REPLICA_URLS: 'postgresql://replica/perf' },
    /^DATABASE_REPLICA_URLS: .*PostgreSQL primary/,
  ],
  [
    'DATABASE_REPLICA_URLS',
    { DATABASE_URL: 'postgresql://db/perf', DATABASE_REPLICA_URLS: 'postgresql://r1/perf, mysql://u:secret@r2/perf' },
    /^DATABASE_REPLICA_URLS: URL 2 is not a postgresql:\/\/ URL$/,
  ],
  ['RESULTS_CACHE_MS', { RESULTS_CACHE_MS: '-1' }, /^RESULTS_CACHE_MS: must be an integer/],
  ['RESULTS_CACHE_MS', { RESULTS_CACHE_MS: '3600001' }, /^RESULTS_CACHE_MS: must be between 0 and 3600000/],
  ['VALIDATION_TIMEOUT_MS', { VALIDATION_TIMEOUT_MS: '0' }, /^VALIDATION_TIMEOUT_MS: must be between 10 and 600000/],
  ['VALIDATION_THREADS', { VALIDATION_THREADS: '0' }, /^VALIDATION_THREADS: must be between 1 and 64/],
  ['SLOW_REQUEST_MS', { SLOW_REQUEST_MS: 'slow' }, /^SLOW_REQUEST_MS: must be an integer/],
  ['OTEL_EXPORTER_OTLP_ENDPOINT', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /^OTEL_EXPORTER_OTLP_ENDPOINT: /],
  ['RUN_LEASE_SECONDS', { RUN_LEASE_SECONDS: '0' }, /^RUN_LEASE_SECONDS: must be between 1 and 86400/],
  ['RUN_MAX_ATTEMPTS', { RUN_MAX_ATTEMPTS: 'many' }, /^RUN_MAX_ATTEMPTS: must be an integer/],
  ['RATE_LIMIT_WRITES', { RATE_LIMIT_WRITES: '-5' }, /^RATE_LIMIT_WRITES: must be an integer/],
  ['TRUST_PROXY', { TRUST_PROXY: 'proxy.example.org' }, /^TRUST_PROXY: "proxy.example.org" is not an IP address/],
  ['DATABASE_TIMEOUT_MS', { DATABASE_TIMEOUT_MS: '5s' }, /^DATABASE_TIMEOUT_MS: must be an integer/],
  ['REQUEST_TIMEOUT_MS', { REQUEST_TIMEOUT_MS: '10' }, /^REQUEST_TIMEOUT_MS: must be between 1000/],
  [
    'HEADERS_TIMEOUT_MS',
    { REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '6000' },
    /^HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS/,
  ],
  ['KEEP_ALIVE_TIMEOUT_MS', { KEEP_ALIVE_TIMEOUT_MS: 'forever' }, /^KEEP_ALIVE_TIMEOUT_MS: must be an integer/],
  ['API_PREFIX', { API_PREFIX: 'api v1' }, /^API_PREFIX: /],
  ['CORS_ORIGINS', { CORS_ORIGINS: 'nope' }, /^CORS_ORIGINS: /],
  ['MAIL_PORT', { MAIL_SERVER: 'smtp', MAIL_PORT: 'x' }, /^MAIL_PORT: /],
  ['MAIL_SERVER', { MAIL_SERVER: 'smtp://smtp.example.org' }, /^MAIL_SERVER: .*host name/],
  ['MAIL_SERVER', { MAIL_SERVER: 'smtp.example.org:587' }, /^MAIL_SERVER: .*MAIL_PORT/],
  ['MAIL_SECURE', { MAIL_SERVER: 'smtp', MAIL_SECURE: 'maybe' }, /^MAIL_SECURE: must be true or false/],
  ['MAIL_STARTTLS', { MAIL_SERVER: 'smtp', MAIL_STARTTLS: 'sometimes' }, /^MAIL_STARTTLS: must be one of required, opportunistic, off/],
  [
    'MAIL_STARTTLS',
    { MAIL_SERVER: 'smtp', MAIL_SECURE: 'true', MAIL_STARTTLS: 'required' },
    /^MAIL_STARTTLS: cannot be combined with MAIL_SECURE/,
  ],
  ['MAIL_PASSWORD', { MAIL_SERVER: 'smtp', MAIL_USERNAME: 'perf' }, /^MAIL_PASSWORD: is required with MAIL_USERNAME/],
  ['MAIL_USERNAME', { MAIL_SERVER: 'smtp', MAIL_PASSWORD: 'secret' }, /^MAIL_USERNAME: is required with MAIL_PASSWORD/],
  ['MAIL_TLS_REJECT_UNAUTHORIZED', { MAIL_SERVER: 'smtp', MAIL_TLS_REJECT_UNAUTHORIZED: 'nah' }, /^MAIL_TLS_REJECT_UNAUTHORIZED: /],
  ['MAIL_FROM', { MAIL_SERVER: 'smtp', MAIL_FROM: 'nobody' }, /^MAIL_FROM: "nobody" is not an e-mail address/],
  ['MAIL_SUPPORT', { MAIL_SERVER: 'smtp', MAIL_SUPPORT: 'support@example.org, helpdesk' }, /^MAIL_SUPPORT: "helpdesk"/],
  [
    'MAIL_SUPPORT',
    { MAIL_SERVER: 'smtp', MAIL_SUPPORT: 'a@example.org\nBcc: b@example.org' },
    /^MAIL_SUPPORT: must not contain line breaks/,
  ],
  ['PUBLIC_URL', { MAIL_SERVER: 'smtp', PUBLIC_URL: 'perf.example.org' }, /^PUBLIC_URL: /],
  ['PUBLIC_URL', { PUBLIC_URL: 'ftp://perf.example.org' }, /^PUBLIC_URL: /],
  ['PUBLIC_URL', { PUBLIC_URL: 'https://perf.example.org/api/v1?x=1' }, /^PUBLIC_URL: .* must not have a query or fragment/],
  ['MAIL_POOL_SIZE', { MAIL_SERVER: 'smtp', MAIL_POOL_SIZE: '0' }, /^MAIL_POOL_SIZE: must be between 1 and 50/],
  ['MAIL_QUEUE_SIZE', { MAIL_SERVER: 'smtp', MAIL_QUEUE_SIZE: 'lots' }, /^MAIL_QUEUE_SIZE: must be an integer/],
  ['MAIL_TIMEOUT', { MAIL_SERVER: 'smtp', MAIL_TIMEOUT: '0' }, /^MAIL_TIMEOUT: must be between 1 and 600/],
];

t.test('mail: defaults with only MAIL_SERVER', async (t) => {
  t.same(loadConfig({ MAIL_SERVER: 'smtp.example.org' }).mail, {
    server: 'smtp.example.org',
    port: 25,
    from: 'eosc-perf@smtp.example.org',
    secure: false,
    starttls: 'opportunistic',
    tlsRejectUnauthorized: true,
    poolSize: 3,
    queueSize: 1000,
    timeoutMs: 30_000,
  });
  t.equal(loadConfig({ MAIL_USERNAME: 'perf', MAIL_SECURE: 'maybe' }).mail, undefined, 'nothing mail without MAIL_SERVER');
  t.equal(
    loadConfig({ PUBLIC_URL: 'https://perf.example.org/api/v1//' }).publicUrl,
    'https://perf.example.org/api/v1',
    'PUBLIC_URL without mail: the base of next-page links',
  );
});

t.test('mail: TLS, credentials, support, links and limits', async (t) => {
  t.same(
    loadConfig({
      MAIL_SERVER: 'smtp.example.org',
      MAIL_SECURE: 'true',
      MAIL_USERNAME: 'perf',
      MAIL_PASSWORD: ' pass word ',
      MAIL_FROM: 'EOSC Performance <noreply@perf.example.org>',
      MAIL_SUPPORT: 'support@perf.example.org',
      MAIL_TLS_REJECT_UNAUTHORIZED: 'false',
      PUBLIC_URL: 'https://perf.example.org/api/v1/',
      MAIL_POOL_SIZE: '5',
      MAIL_QUEUE_SIZE: '200',
      MAIL_TIMEOUT: '10',
    }).mail,
    {
      server: 'smtp.example.org',
      port: 465,
      from: 'EOSC Performance <noreply@perf.example.org>',
      support: 'support@perf.example.org',
      secure: true,
      starttls: 'off',
      auth: { user: 'perf', pass: ' pass word ' },
      tlsRejectUnauthorized: false,
      publicUrl: 'https://perf.example.org/api/v1',
      poolSize: 5,
      queueSize: 200,
      timeoutMs: 10_000,
    },
  );
  const relay = { MAIL_SERVER: 'smtp.example.org', MAIL_PORT: '587', MAIL_USERNAME: 'perf', MAIL_PASSWORD: 'pw' };
  t.match(loadConfig(relay).mail, { port: 587, secure: false, starttls: 'required' }, 'credentials: STARTTLS required by default');
  t.match(loadConfig({ ...relay, MAIL_STARTTLS: 'Opportunistic' }).mail, { starttls: 'opportunistic' }, 'unless told otherwise');
  t.match(loadConfig({ MAIL_SERVER: '::1', MAIL_STARTTLS: 'off' }).mail, { server: '::1', starttls: 'off' });
  t.match(loadConfig({ MAIL_SERVER: 'smtp', MAIL_SUPPORT: 'a@example.org, Help Desk <b@example.org>' }).mail, {
    support: 'a@example.org, Help Desk <b@example.org>',
  });
});

for (const [variable, env, message] of bad) {
  t.test(`a bad ${variable} is a ConfigError naming it`, async (t) => {
    let caught: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof ConfigError, 'a ConfigError');
    t.equal((caught as ConfigError).variable, variable);
    t.match((caught as ConfigError).message, message);
  });
}

t.test('a .env file is read when present; the environment wins over it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'eosc-perf-env-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, '.env');
  writeFileSync(file, `# settings\nEOSC_TEST_FROM_FILE=file\nEOSC_TEST_BOTH="file"\n`);
  process.env.EOSC_TEST_BOTH = 'environment';
  t.teardown(() => {
    delete process.env.EOSC_TEST_BOTH;
    delete process.env.EOSC_TEST_FROM_FILE;
  });
  const env = processEnvironment(file);
  t.equal(env.EOSC_TEST_FROM_FILE, 'file');
  t.equal(env.EOSC_TEST_BOTH, 'environment');
  t.equal(processEnvironment(path.join(dir, 'missing.env')), process.env, 'no file: the environment as it is');
});

t.test('.env.example holds only settings the service reads, all commented out', async (t) => {
  const { readFileSync } = await import('node:fs');
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
  const names = [...example.matchAll(/^# ?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]);
  t.ok(names.length >= 10, `${names.length} settings`);
  t.notMatch(example, /^[A-Z]/m, 'nothing set by copying it');
  const source = readFileSync(new URL('../src/config.ts', import.meta.url), 'utf8');
  for (const name of names) t.ok(source.includes(`'${name}'`) || source.includes(`.${name}`), `${name} is read by src/config.ts`);
});

t.test('maskedConfig, which the service logs at debug level, hides every secret', async (t) => {
  const config = loadConfig({
    DATABASE_URL: 'postgresql://perf:db-secret-1@db.example.org:5432/perf?sslpassword=query-secret-2',
    DATABASE_REPLICA_URLS: 'postgresql://perf:replica-secret-5@r1.example.org/perf,postgres://r2.example.org/perf',
    MAIL_SERVER: 'smtp.example.org',
    MAIL_USERNAME: 'mailer',
    MAIL_PASSWORD: 'mail-secret-3',
    METRICS_TOKEN: 'metrics-secret-4-0123456789',
  });
  const text = JSON.stringify(maskedConfig(config));
  for (const secret of ['db-secret-1', 'query-secret-2', 'mail-secret-3', 'metrics-secret-4', 'replica-secret-5'])
    t.notMatch(text, secret, secret);
  t.match(text, /db\.example\.org:5432\/perf/, 'the rest of the URL');
  t.match(text, /"user":"mailer"/);
  t.match(text, /r1\.example\.org\/perf","postgres:\/\/r2\.example\.org\/perf"/, 'the replicas, each');
  t.equal(JSON.stringify(maskedConfig(loadConfig({ DATABASE_URL: 'memory://' }))).includes('memory://'), true);
});
