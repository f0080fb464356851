// Configuration is validated before anything starts (CONTRACT §1).
import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.js';

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
  });
  t.equal(config.databaseUrl, undefined, 'embedded PGlite');
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
});

const bad: [string, Record<string, string>, RegExp][] = [
  ['PORT', { PORT: 'eighty' }, /^PORT: must be an integer/],
  ['PORT', { PORT: '70000' }, /^PORT: must be between/],
  ['OIDC_ISSUERS', { OIDC_ISSUERS: 'not a url' }, /^OIDC_ISSUERS: /],
  ['OIDC_ISSUERS', { OIDC_ISSUERS: 'ftp://issuer.example.org' }, /^OIDC_ISSUERS: .*http/],
  ['DATABASE_URL', { DATABASE_URL: 'mysql://db/x' }, /^DATABASE_URL: unsupported scheme/],
  ['DATABASE_URL', { DATABASE_URL: '::::' }, /^DATABASE_URL: /],
  ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
  ['API_PREFIX', { API_PREFIX: 'api v1' }, /^API_PREFIX: /],
  ['CORS_ORIGINS', { CORS_ORIGINS: 'nope' }, /^CORS_ORIGINS: /],
  ['MAIL_PORT', { MAIL_SERVER: 'smtp', MAIL_PORT: 'x' }, /^MAIL_PORT: /],
];
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
