// Environment → validated configuration (CONTRACT §1). A bad value is a
// ConfigError naming the variable, so start-up can print one clear line and
// exit before listening.
import path from 'node:path';

export interface MailConfig {
  server: string;
  port: number;
  from: string;
  support?: string;
}

export interface Config {
  port: number;
  host: string;
  /** `postgresql://…`, `memory://`, or undefined for PGlite under dataDir. */
  databaseUrl?: string;
  dataDir: string;
  oidcIssuers: string[];
  oidcAudience?: string;
  adminEntitlements: string[];
  /** '' or a path such as '/api/v1' (no trailing slash). */
  apiPrefix: string;
  logLevel: string;
  /** '*' or a list of exact origins. */
  corsOrigins: '*' | string[];
  mail?: MailConfig;
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /** Container registry (v2 API) that must know a benchmark's image; unset: no check. */
  imageRegistry?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
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

function databaseUrl(env: Env): string | undefined {
  const raw = env.DATABASE_URL?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'memory://') return raw;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a URL (expected postgresql://…, memory:// or unset)');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new ConfigError('DATABASE_URL', `unsupported scheme "${url.protocol}" (expected postgresql://…, memory:// or unset)`);
  }
  return raw;
}

function apiPrefix(env: Env): string {
  const raw = env.API_PREFIX?.trim() ?? '';
  if (raw === '' || raw === '/') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(raw)) {
    throw new ConfigError('API_PREFIX', `"${raw}" must be a path such as /api/v1`);
  }
  return raw.replace(/\/$/, '');
}

function corsOrigins(env: Env): '*' | string[] {
  const origins = list(env.CORS_ORIGINS ?? '*');
  if (origins.length === 0 || origins.includes('*')) return '*';
  for (const origin of origins) {
    httpUrl('CORS_ORIGINS', origin);
  }
  return origins;
}

function mail(env: Env): MailConfig | undefined {
  const server = env.MAIL_SERVER?.trim();
  if (!server) return undefined;
  const support = env.MAIL_SUPPORT?.trim() || undefined;
  return {
    server,
    port: integer(env, 'MAIL_PORT', 25, 1, 65535),
    from: env.MAIL_FROM?.trim() || `eosc-perf@${server}`,
    ...(support ? { support } : {}),
  };
}

export function loadConfig(env: Env = process.env): Config {
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const oidcIssuers = list(env.OIDC_ISSUERS).map((issuer) => httpUrl('OIDC_ISSUERS', issuer));
  const audience = env.OIDC_AUDIENCE?.trim() || undefined;
  const url = databaseUrl(env);
  const mailConfig = mail(env);
  const imageRegistry = env.IMAGE_REGISTRY?.trim() ? httpUrl('IMAGE_REGISTRY', env.IMAGE_REGISTRY.trim()) : undefined;
  return {
    port: integer(env, 'PORT', 5000, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    ...(url ? { databaseUrl: url } : {}),
    dataDir: path.resolve(env.DATA_DIR?.trim() || './data'),
    oidcIssuers,
    ...(audience ? { oidcAudience: audience } : {}),
    adminEntitlements: list(env.ADMIN_ENTITLEMENTS),
    apiPrefix: apiPrefix(env),
    logLevel,
    corsOrigins: corsOrigins(env),
    ...(mailConfig ? { mail: mailConfig } : {}),
    bodyLimit: integer(env, 'BODY_LIMIT', 1024 * 1024, 1024, 64 * 1024 * 1024),
    ...(imageRegistry ? { imageRegistry } : {}),
  };
}
