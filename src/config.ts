// Environment → validated configuration (docs/CONTRACT.md §1). A bad value is a
// ConfigError naming the variable, so start-up can print one clear line and
// exit before listening.
import { existsSync } from 'node:fs';
import path from 'node:path';

/** How notifications reach the SMTP relay (MAIL_*, PUBLIC_URL); absent without MAIL_SERVER. */
export interface MailConfig {
  /** SMTP relay host name or IP address (MAIL_SERVER). */
  server: string;
  /** MAIL_PORT; default 465 with MAIL_SECURE, 25 otherwise. */
  port: number;
  /** Sender, `addr@host` or `Name <addr@host>` (MAIL_FROM). */
  from: string;
  /** Where support notifications go (MAIL_SUPPORT); unset: they are logged, not sent. */
  support?: string;
  /** Implicit TLS from the first byte, usually port 465 (MAIL_SECURE). */
  secure: boolean;
  /** STARTTLS on a plain connection (MAIL_STARTTLS); 'off' when `secure`, which needs none. */
  starttls: 'required' | 'opportunistic' | 'off';
  /** MAIL_USERNAME / MAIL_PASSWORD; absent: no AUTH. */
  auth?: { user: string; pass: string };
  /** Verify the relay's certificate (MAIL_TLS_REJECT_UNAUTHORIZED). */
  tlsRejectUnauthorized: boolean;
  /** Public base URL of the API, with any API_PREFIX, no trailing slash (PUBLIC_URL); links in e-mails. */
  publicUrl?: string;
  /** Most simultaneous SMTP connections (MAIL_POOL_SIZE). */
  poolSize: number;
  /** Most e-mails waiting to be sent; beyond it new ones are dropped and logged (MAIL_QUEUE_SIZE). */
  queueSize: number;
  /** Bound on connecting and on each SMTP reply, ms (MAIL_TIMEOUT, in seconds); a whole delivery gets twice this. */
  timeoutMs: number;
}

/** Where OpenTelemetry traces go (OTEL_EXPORTER_OTLP_ENDPOINT …); absent: no tracing at all. */
export interface TracingConfig {
  /** The OTLP/HTTP traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  tracesUrl: string;
  /** OTEL_SERVICE_NAME. */
  serviceName: string;
}

export interface Config {
  port: number;
  host: string;
  /** `postgresql://…`, `memory://`, or undefined for PGlite under dataDir. */
  databaseUrl?: string;
  /** PostgreSQL read replicas of databaseUrl (DATABASE_REPLICA_URLS); empty: none. */
  databaseReplicaUrls: string[];
  dataDir: string;
  oidcIssuers: string[];
  oidcAudience?: string;
  adminEntitlements: string[];
  /** The bearer token GET /metrics asks for (METRICS_TOKEN); unset: no /metrics. */
  metricsToken?: string;
  /** '' or a path such as '/api/v1' (no trailing slash). */
  apiPrefix: string;
  /**
   * The API's base URL as clients reach it, with any API_PREFIX, no trailing
   * slash (PUBLIC_URL): what links in e-mails and the next-page links of
   * results lists start with; unset, next-page links name the request's own host.
   */
  publicUrl?: string;
  logLevel: string;
  /** A request that takes at least this long is logged as a warning (SLOW_REQUEST_MS). */
  slowRequestMs: number;
  /** '*' or a list of exact origins. */
  corsOrigins: '*' | string[];
  /** Requests per client per window: reads (RATE_LIMIT_READS) and writes (RATE_LIMIT_WRITES); 0 turns one off. */
  rateLimits: { reads: number; writes: number; windowMs: number };
  /** Which proxies' X-Forwarded-For is believed for the client's address (TRUST_PROXY): Fastify's trustProxy. */
  trustProxy: boolean | string[];
  mail?: MailConfig;
  tracing?: TracingConfig;
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /** Container registry (v2 API) that must know a benchmark's image; unset: no check. */
  imageRegistry?: string;
  /** How long a results page or count may be answered again, ms (RESULTS_CACHE_MS); 0: never. */
  resultsCacheMs: number;
  /** Longest check of one result against its benchmark's JSON Schema, ms (VALIDATION_TIMEOUT_MS). */
  validationTimeoutMs: number;
  /** Worker threads that check results (VALIDATION_THREADS), all kept loaded. */
  validationThreads: number;
  /** PostgreSQL: longest wait for the answer to one query, ms (DATABASE_TIMEOUT_MS). */
  databaseTimeoutMs: number;
  /** Longest time for a client to send a whole request, headers and body, ms (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Longest time for a client to send a request's headers, ms (HEADERS_TIMEOUT_MS); at most requestTimeoutMs. */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open, ms (KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
  /** Requests worked on at once (MAX_CONCURRENT_REQUESTS); 0: no limit. */
  maxConcurrentRequests: number;
  /** Requests waiting for a turn; beyond, a 503 (MAX_QUEUED_REQUESTS). */
  maxQueuedRequests: number;
  /** Longest a request waits for a turn before it is refused with a 503, ms (MAX_QUEUE_WAIT_MS). */
  maxQueueWaitMs: number;
  /** How long a runner holds a run without a heartbeat before it goes back to the queue, s (RUN_LEASE_SECONDS). */
  runLeaseSeconds: number;
  /** Runners may take a run this many times; a lease lost after the last fails it (RUN_MAX_ATTEMPTS). */
  runMaxAttempts: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function httpUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `"${value}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(name, `"${value}" must be an http(s) URL`);
  }
  return value;
}

/**
 * The rule for DATABASE_URL, stated once (db/client.ts applies it too):
 * undefined (embedded PGlite under DATA_DIR), `memory://`, or a
 * `postgresql://` URL. The reasons never echo the URL, which may hold a
 * password.
 */
export function parseDatabaseUrl(value: string | undefined): string | undefined {
  const raw = value?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'memory://') return raw;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', 'DATABASE_URL is not a valid URL (expected postgresql://…, memory:// or unset)');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new ConfigError(
      'DATABASE_URL',
      `unsupported scheme "${url.protocol}" in DATABASE_URL (use postgresql://…, memory://, or leave it unset)`,
    );
  }
  return raw;
}

/** DATABASE_REPLICA_URLS: `postgresql://` URLs separated by commas, only with a PostgreSQL DATABASE_URL. */
function replicaUrls(env: Env, primary: string | undefined): string[] {
  const urls = list(env.DATABASE_REPLICA_URLS);
  if (urls.length > 0 && (primary === undefined || primary === 'memory://')) {
    throw new ConfigError('DATABASE_REPLICA_URLS', 'read replicas need a PostgreSQL primary in DATABASE_URL');
  }
  for (const [index, url] of urls.entries()) {
    let scheme: string | undefined;
    try {
      scheme = new URL(url).protocol;
    } catch {
      // named below, without echoing a URL that may hold a password
    }
    if (scheme !== 'postgresql:' && scheme !== 'postgres:') {
      throw new ConfigError('DATABASE_REPLICA_URLS', `URL ${index + 1} is not a postgresql:// URL`);
    }
  }
  return urls;
}

function apiPrefix(env: Env): string {
  const raw = env.API_PREFIX?.trim() ?? '';
  if (raw === '' || raw === '/') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(raw)) {
    throw new ConfigError('API_PREFIX', `"${raw}" must be a path such as /api/v1`);
  }
  return raw.replace(/\/$/, '');
}

/** TRUST_PROXY: unset (none), `true` (every proxy), or proxy addresses/CIDRs separated by commas. */
function trustProxy(env: Env): boolean | string[] {
  const raw = env.TRUST_PROXY?.trim() ?? '';
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  const addresses = list(raw);
  for (const address of addresses) {
    if (!/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(address)) {
      throw new ConfigError('TRUST_PROXY', `"${address}" is not an IP address or CIDR (or use true)`);
    }
  }
  return addresses;
}

function corsOrigins(env: Env): '*' | string[] {
  const origins = list(env.CORS_ORIGINS ?? '*');
  if (origins.length === 0 || origins.includes('*')) return '*';
  for (const origin of origins) {
    httpUrl('CORS_ORIGINS', origin);
  }
  return origins;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${env[name]?.trim()}"`);
}

/** One address or a comma-separated list: each with an @, no line breaks (header injection). */
function mailAddresses(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new ConfigError(name, 'must not contain line breaks');
  for (const part of value.split(',')) {
    const address = /<([^<>]*)>\s*$/.exec(part)?.[1] ?? part;
    if (!/^[^\s@<>]+@[^\s@<>]+$/.test(address.trim())) {
      throw new ConfigError(name, `"${part.trim()}" is not an e-mail address (user@host or Name <user@host>)`);
    }
  }
  return value;
}

function mailServer(raw: string): string {
  // A DNS name or IPv4 address, or an IPv6 address (hex digits and colons).
  if (/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(raw) || /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/.test(raw)) return raw;
  throw new ConfigError('MAIL_SERVER', `"${raw}" must be a host name or IP address (no scheme, the port goes in MAIL_PORT)`);
}

const STARTTLS_MODES = ['required', 'opportunistic', 'off'] as const;

/** PUBLIC_URL: an http(s) URL that paths are appended to, without its trailing slashes; undefined when unset. */
function publicUrl(env: Env): string | undefined {
  const raw = env.PUBLIC_URL?.trim() || undefined;
  if (raw === undefined) return undefined;
  const base = httpUrl('PUBLIC_URL', raw);
  if (/[?#]/.test(base)) throw new ConfigError('PUBLIC_URL', `"${raw}" must not have a query or fragment: paths are appended to it`);
  return base.replace(/\/+$/, '');
}

function mail(env: Env, base: string | undefined): MailConfig | undefined {
  const rawServer = env.MAIL_SERVER?.trim();
  if (!rawServer) return undefined;
  const server = mailServer(rawServer);
  const secure = boolean(env, 'MAIL_SECURE', false);
  const user = env.MAIL_USERNAME?.trim() || undefined;
  // A password may legitimately start or end with spaces: taken as given.
  const pass = env.MAIL_PASSWORD === '' ? undefined : env.MAIL_PASSWORD;
  if (user !== undefined && pass === undefined) throw new ConfigError('MAIL_PASSWORD', 'is required with MAIL_USERNAME');
  if (pass !== undefined && user === undefined) throw new ConfigError('MAIL_USERNAME', 'is required with MAIL_PASSWORD');

  const rawStarttls = env.MAIL_STARTTLS?.trim().toLowerCase() || undefined;
  let starttls: MailConfig['starttls'];
  if (rawStarttls === undefined) {
    // With credentials, never AUTH over a connection that stayed in clear text.
    starttls = secure ? 'off' : user !== undefined ? 'required' : 'opportunistic';
  } else {
    const mode = STARTTLS_MODES.find((candidate) => candidate === rawStarttls);
    if (mode === undefined) {
      throw new ConfigError('MAIL_STARTTLS', `must be one of ${STARTTLS_MODES.join(', ')}, got "${env.MAIL_STARTTLS?.trim()}"`);
    }
    if (secure)
      throw new ConfigError('MAIL_STARTTLS', 'cannot be combined with MAIL_SECURE=true (implicit TLS needs no STARTTLS); unset one');
    starttls = mode;
  }

  const support = env.MAIL_SUPPORT?.trim() || undefined;
  const from = env.MAIL_FROM?.trim() || `eosc-perf@${server}`;
  return {
    server,
    port: integer(env, 'MAIL_PORT', secure ? 465 : 25, 1, 65535),
    from: mailAddresses('MAIL_FROM', from),
    ...(support ? { support: mailAddresses('MAIL_SUPPORT', support) } : {}),
    secure,
    starttls,
    ...(user !== undefined && pass !== undefined ? { auth: { user, pass } } : {}),
    tlsRejectUnauthorized: boolean(env, 'MAIL_TLS_REJECT_UNAUTHORIZED', true),
    ...(base ? { publicUrl: base } : {}),
    poolSize: integer(env, 'MAIL_POOL_SIZE', 3, 1, 50),
    queueSize: integer(env, 'MAIL_QUEUE_SIZE', 1000, 1, 1_000_000),
    timeoutMs: integer(env, 'MAIL_TIMEOUT', 30, 1, 600) * 1000,
  };
}

/** The OpenTelemetry SDK's own variables: the traces endpoint, or the base endpoint it appends /v1/traces to. */
function tracing(env: Env): TracingConfig | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  let tracesUrl: string;
  if (traces) tracesUrl = httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces);
  else if (base) tracesUrl = `${httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base).replace(/\/+$/, '')}/v1/traces`;
  else return undefined;
  return { tracesUrl, serviceName: env.OTEL_SERVICE_NAME?.trim() || 'eosc-perf-api' };
}

function timeouts(env: Env): Pick<Config, 'requestTimeoutMs' | 'headersTimeoutMs' | 'keepAliveTimeoutMs'> {
  const requestTimeoutMs = integer(env, 'REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000);
  const headersTimeoutMs = integer(env, 'HEADERS_TIMEOUT_MS', Math.min(10_000, requestTimeoutMs), 1000, 3_600_000);
  // Node refuses a headers timeout longer than the request's, which includes them.
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError('HEADERS_TIMEOUT_MS', `must not exceed REQUEST_TIMEOUT_MS (${requestTimeoutMs}), got ${headersTimeoutMs}`);
  }
  return { requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs: integer(env, 'KEEP_ALIVE_TIMEOUT_MS', 72_000, 1000, 3_600_000) };
}

/**
 * The environment `npm start` and the scripts configure themselves from:
 * the process's variables, plus those of `file` (`.env` in the working
 * directory) when it exists. A variable set in the environment wins over the
 * file, so an operator can always override one setting.
 */
export function processEnvironment(file = '.env'): Env {
  if (existsSync(file)) process.loadEnvFile(file);
  return process.env;
}

export function loadConfig(env: Env = process.env): Config {
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const oidcIssuers = list(env.OIDC_ISSUERS).map((issuer) => httpUrl('OIDC_ISSUERS', issuer));
  const audience = env.OIDC_AUDIENCE?.trim() || undefined;
  const metricsToken = env.METRICS_TOKEN?.trim() || undefined;
  const base = publicUrl(env);
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters (a random secret: openssl rand -hex 32)');
  }
  const url = parseDatabaseUrl(env.DATABASE_URL);
  const mailConfig = mail(env, base);
  const tracingConfig = tracing(env);
  const imageRegistry = env.IMAGE_REGISTRY?.trim() ? httpUrl('IMAGE_REGISTRY', env.IMAGE_REGISTRY.trim()) : undefined;
  return {
    port: integer(env, 'PORT', 5000, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    ...(url ? { databaseUrl: url } : {}),
    databaseReplicaUrls: replicaUrls(env, url),
    dataDir: path.resolve(env.DATA_DIR?.trim() || './data'),
    oidcIssuers,
    ...(audience ? { oidcAudience: audience } : {}),
    ...(metricsToken ? { metricsToken } : {}),
    adminEntitlements: list(env.ADMIN_ENTITLEMENTS),
    apiPrefix: apiPrefix(env),
    ...(base ? { publicUrl: base } : {}),
    logLevel,
    corsOrigins: corsOrigins(env),
    rateLimits: {
      reads: integer(env, 'RATE_LIMIT_READS', 0, 0, 1_000_000),
      writes: integer(env, 'RATE_LIMIT_WRITES', 0, 0, 1_000_000),
      windowMs: integer(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1000, 3_600_000),
    },
    trustProxy: trustProxy(env),
    ...(mailConfig ? { mail: mailConfig } : {}),
    ...(tracingConfig ? { tracing: tracingConfig } : {}),
    bodyLimit: integer(env, 'BODY_LIMIT', 1024 * 1024, 1024, 64 * 1024 * 1024),
    ...(imageRegistry ? { imageRegistry } : {}),
    resultsCacheMs: integer(env, 'RESULTS_CACHE_MS', 60_000, 0, 3_600_000),
    validationTimeoutMs: integer(env, 'VALIDATION_TIMEOUT_MS', 2000, 10, 600_000),
    validationThreads: integer(env, 'VALIDATION_THREADS', 2, 1, 64),
    slowRequestMs: integer(env, 'SLOW_REQUEST_MS', 1000, 1, 600_000),
    databaseTimeoutMs: integer(env, 'DATABASE_TIMEOUT_MS', 30_000, 100, 3_600_000),
    ...timeouts(env),
    maxConcurrentRequests: integer(env, 'MAX_CONCURRENT_REQUESTS', 64, 0, 100_000),
    maxQueuedRequests: integer(env, 'MAX_QUEUED_REQUESTS', 1000, 0, 1_000_000),
    maxQueueWaitMs: integer(env, 'MAX_QUEUE_WAIT_MS', 5_000, 1, 600_000),
    runLeaseSeconds: integer(env, 'RUN_LEASE_SECONDS', 120, 1, 86_400),
    runMaxAttempts: integer(env, 'RUN_MAX_ATTEMPTS', 3, 1, 100),
  };
}

function maskedUrl(text: string): string {
  const url = new URL(text);
  if (url.password !== '') url.password = '***';
  // A query string may carry a password too (?password=…).
  if (url.search !== '') url.search = '?***';
  return url.href;
}

/**
 * `config` as it may be logged: every secret replaced by "***" (the
 * database URLs' passwords, the SMTP password, METRICS_TOKEN), so that an
 * operator can see at debug level what the service runs with.
 */
export function maskedConfig(config: Config): Record<string, unknown> {
  const masked: Record<string, unknown> = { ...config };
  if (config.databaseUrl && config.databaseUrl !== 'memory://') masked.databaseUrl = maskedUrl(config.databaseUrl);
  masked.databaseReplicaUrls = config.databaseReplicaUrls.map(maskedUrl);
  if (config.mail?.auth) masked.mail = { ...config.mail, auth: { user: config.mail.auth.user, pass: '***' } };
  if (config.metricsToken) masked.metricsToken = '***';
  return masked;
}
