/**
 * OIDC bearer-token authentication (docs/CONTRACT.md §2).
 *
 * A caller sends `Authorization: Bearer <access token>`, a JWT signed by one of the trusted
 * issuers. The issuer's keys come from its discovery document (`jwks_uri`); `email`,
 * `email_verified` and `eduperson_entitlement` come from the token, or from the issuer's
 * `userinfo_endpoint` when the token has no `email`.
 *
 * Safety rules kept throughout this file:
 * - the token never appears in an error message, a log line or an error `cause`;
 * - nothing is fetched for an issuer that is not in the trusted list (the untrusted `iss` is read
 *   only to pick the issuer, never to build a URL);
 * - every network request has a timeout, every response body a size limit, every cache a bound.
 */
import { createHash } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWSAlgorithm,
  type JWTPayload,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from 'jose';
import { AuthenticationError, IssuerUnavailableError } from '../errors.js';

export interface Identity {
  sub: string;
  iss: string;
  email?: string;
  emailVerified?: boolean;
  /** `eduperson_entitlement`: only the string members of a list; [] when absent or not a list. */
  entitlements: string[];
}

/** The subset of a pino / Fastify logger used here. */
export interface OidcLogger {
  warn(obj: Record<string, unknown>, msg?: string): void;
}

export interface OidcVerifierOptions {
  /** Trusted issuer URLs (as in the token's `iss`; a trailing slash difference is tolerated). */
  issuers: string[];
  /** When set, the token's `aud` must contain it. */
  audience?: string;
  /** Timeout of discovery / JWKS / userinfo requests, in ms. Default 5000. */
  fetchTimeoutMs?: number;
  /** Clock skew tolerated for `exp` / `nbf`, in seconds. Default 30. */
  clockToleranceSec?: number;
  /**
   * Minimum time between two JWKS fetches triggered by an unknown `kid`, in ms (jose's
   * `cooldownDuration`). Default 30000.
   */
  jwksCooldownMs?: number;
  /** After a failed discovery, requests within this many ms fail fast without refetching. Default 2000. */
  discoveryRetryMs?: number;
  /** Where to report issuer / userinfo trouble. Never receives the token. */
  logger?: OidcLogger;
}

/** Longest accepted token (characters); longer ones are rejected without being parsed. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** Asymmetric signature algorithms only: `none` and HS* are never accepted. */
export const ALLOWED_ALGORITHMS: readonly JWSAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

const DISCOVERY_TTL_MS = 60 * 60 * 1000; // refresh the discovery document hourly
const JWKS_MAX_AGE_MS = 10 * 60 * 1000;
const MAX_RESPONSE_BYTES = 512 * 1024; // discovery and userinfo documents
const USERINFO_TTL_MS = 60 * 1000;
const USERINFO_FAILURE_TTL_MS = 10 * 1000;
const USERINFO_CACHE_MAX = 1000;
const DEFAULT_FETCH_TIMEOUT_MS = 5000;
const DEFAULT_CLOCK_TOLERANCE_SEC = 30;
const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
const DEFAULT_DISCOVERY_RETRY_MS = 2000;

interface IssuerMetadata {
  jwksUri: string;
  userinfoEndpoint: string | undefined;
  jwks: RemoteJWKSet;
  getKey: JWTVerifyGetKey;
}

interface IssuerState {
  /** The issuer as configured. */
  issuer: string;
  meta: IssuerMetadata | undefined;
  fetchedAt: number;
  failedAt: number | undefined;
  pending: Promise<IssuerMetadata> | undefined;
}

interface UserinfoClaims {
  email: unknown;
  email_verified: unknown;
  eduperson_entitlement: unknown;
}

interface UserinfoCacheEntry {
  expires: number;
  value: Promise<UserinfoClaims | undefined>;
}

const BASE64URL_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function stripTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

/** Reads a JSON body of at most `limit` bytes. */
async function readJson(res: Response, limit: number): Promise<unknown> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel();
    throw new Error('response too large');
  }
  if (!res.body) throw new Error('empty response');
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new Error('response too large');
    }
    chunks.push(value);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

/** `eduperson_entitlement`: a list → its string members (deduplicated); anything else → []. */
export function readEntitlements(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const item of value as unknown[]) {
    if (typeof item === 'string' && item !== '' && !out.includes(item)) out.push(item);
  }
  return out;
}

/** `email_verified`: boolean, or the strings "true" / "false" (some providers send strings). */
export function readEmailVerified(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
  }
  return undefined;
}

function readEmail(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** The token from an `Authorization` header value, or an AuthenticationError. */
function extractBearer(authorization: string | undefined): string {
  if (typeof authorization !== 'string' || authorization.trim() === '') {
    throw new AuthenticationError('missing bearer token');
  }
  // Checked before anything else looks at it.
  if (authorization.length > MAX_TOKEN_LENGTH + 64) throw new AuthenticationError('token too large');
  // "<scheme> <token>": split by hand (linear, no backtracking on hostile input).
  const value = authorization.trim();
  const gap = value.search(/\s/);
  const scheme = gap === -1 ? value : value.slice(0, gap);
  if (scheme.toLowerCase() !== 'bearer') {
    throw new AuthenticationError('missing bearer token (authorization scheme must be Bearer)');
  }
  const token = gap === -1 ? '' : value.slice(gap).trim();
  if (token === '') throw new AuthenticationError('missing bearer token');
  if (/\s/.test(token)) throw new AuthenticationError('malformed token');
  if (token.length > MAX_TOKEN_LENGTH) throw new AuthenticationError('token too large');
  return token;
}

/** Maps an error thrown by jwtVerify to what the caller should see. */
function mapVerifyError(err: unknown): Error {
  if (err instanceof IssuerUnavailableError || err instanceof AuthenticationError) return err;
  if (err instanceof errors.JWTExpired) return new AuthenticationError('token expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return new AuthenticationError('token not yet valid');
      case 'aud':
        return new AuthenticationError(err.reason === 'missing' ? 'token has no audience' : 'token audience not accepted');
      case 'iss':
        return new AuthenticationError('untrusted issuer');
      case 'exp':
        return new AuthenticationError(err.reason === 'missing' ? 'token has no expiry' : 'invalid token expiry');
      case 'sub':
        return new AuthenticationError('token has no subject');
      default:
        return new AuthenticationError('invalid token claims');
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new AuthenticationError('invalid signature');
  if (err instanceof errors.JWKSNoMatchingKey) return new AuthenticationError('invalid signature (unknown signing key)');
  if (err instanceof errors.JWKSMultipleMatchingKeys) {
    return new AuthenticationError('invalid signature (ambiguous signing key)');
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new AuthenticationError('unsupported token algorithm');
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return new AuthenticationError('malformed token');
  return new AuthenticationError('invalid token');
}

export class OidcVerifier {
  private readonly issuers = new Map<string, IssuerState>();
  private readonly audience: string | undefined;
  private readonly fetchTimeoutMs: number;
  private readonly clockToleranceSec: number;
  private readonly jwksCooldownMs: number;
  private readonly discoveryRetryMs: number;
  private readonly logger: OidcLogger | undefined;
  private readonly userinfoCache = new Map<string, UserinfoCacheEntry>();

  constructor(opts: OidcVerifierOptions) {
    for (const raw of opts.issuers) {
      const issuer = raw.trim();
      if (issuer === '') continue;
      if (!isHttpUrl(issuer)) throw new TypeError(`OIDC issuer is not an http(s) URL: ${issuer}`);
      this.issuers.set(stripTrailingSlashes(issuer), {
        issuer,
        meta: undefined,
        fetchedAt: 0,
        failedAt: undefined,
        pending: undefined,
      });
    }
    this.audience = opts.audience === undefined || opts.audience === '' ? undefined : opts.audience;
    this.fetchTimeoutMs = positiveInt(opts.fetchTimeoutMs, DEFAULT_FETCH_TIMEOUT_MS, 'fetchTimeoutMs');
    this.clockToleranceSec = nonNegative(opts.clockToleranceSec, DEFAULT_CLOCK_TOLERANCE_SEC, 'clockToleranceSec');
    this.jwksCooldownMs = nonNegative(opts.jwksCooldownMs, DEFAULT_JWKS_COOLDOWN_MS, 'jwksCooldownMs');
    this.discoveryRetryMs = nonNegative(opts.discoveryRetryMs, DEFAULT_DISCOVERY_RETRY_MS, 'discoveryRetryMs');
    this.logger = opts.logger;
  }

  /**
   * Verifies an `Authorization` header value ("Bearer <jwt>") and returns the caller's identity.
   * Throws AuthenticationError (→ 401) for anything wrong with the token, IssuerUnavailableError
   * (→ 503) when the trusted issuer cannot be reached.
   */
  async authenticate(authorization: string | undefined): Promise<Identity> {
    const token = extractBearer(authorization);
    if (!BASE64URL_JWS.test(token)) throw new AuthenticationError('malformed token');

    // Read, without trusting them, the header (for alg) and the payload (for iss).
    let alg: unknown;
    let unverifiedIss: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      unverifiedIss = decodeJwt(token).iss;
    } catch {
      throw new AuthenticationError('malformed token');
    }
    if (typeof alg !== 'string' || !ALLOWED_ALGORITHMS.includes(alg)) {
      throw new AuthenticationError('unsupported token algorithm');
    }
    if (typeof unverifiedIss !== 'string' || unverifiedIss === '') throw new AuthenticationError('token has no issuer');
    const state = this.issuers.get(stripTrailingSlashes(unverifiedIss));
    if (state === undefined) throw new AuthenticationError('untrusted issuer');

    const meta = await this.metadata(state);

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, meta.getKey, {
        algorithms: [...ALLOWED_ALGORITHMS],
        issuer: unverifiedIss,
        ...(this.audience === undefined ? {} : { audience: this.audience }),
        clockTolerance: this.clockToleranceSec,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw mapVerifyError(err);
    }

    const { sub, iss } = payload;
    if (typeof sub !== 'string' || sub === '') throw new AuthenticationError('token has no subject');
    if (typeof iss !== 'string') throw new AuthenticationError('token has no issuer');

    const identity: Identity = { sub, iss, entitlements: readEntitlements(payload.eduperson_entitlement) };
    let email = readEmail(payload.email);
    let emailVerified = readEmailVerified(payload.email_verified);

    if (email === undefined && meta.userinfoEndpoint !== undefined) {
      const info = await this.userinfo(token, sub, state.issuer, meta.userinfoEndpoint, payload.exp);
      if (info !== undefined) {
        email = readEmail(info.email);
        emailVerified = readEmailVerified(info.email_verified) ?? emailVerified;
        if (Array.isArray(info.eduperson_entitlement)) {
          identity.entitlements = readEntitlements(info.eduperson_entitlement);
        }
      }
    }
    if (email !== undefined) identity.email = email;
    if (emailVerified !== undefined) identity.emailVerified = emailVerified;
    return identity;
  }

  /** The issuer's metadata: cached, refreshed hourly, fetched once at a time. */
  private async metadata(state: IssuerState): Promise<IssuerMetadata> {
    const now = Date.now();
    if (state.meta !== undefined && now - state.fetchedAt < DISCOVERY_TTL_MS) return state.meta;
    if (state.pending === undefined && state.failedAt !== undefined && now - state.failedAt < this.discoveryRetryMs) {
      // Failed a moment ago: fail fast (or keep the stale document) rather than hammer the issuer.
      if (state.meta !== undefined) return state.meta;
      throw new IssuerUnavailableError(state.issuer, 'identity provider unavailable');
    }
    if (state.pending === undefined) {
      const pending = this.discover(state).then(
        (meta) => {
          state.meta = meta;
          state.fetchedAt = Date.now();
          state.failedAt = undefined;
          return meta;
        },
        (err: unknown) => {
          state.failedAt = Date.now();
          throw err;
        },
      );
      state.pending = pending;
      void pending.then(
        () => {
          if (state.pending === pending) state.pending = undefined;
        },
        () => {
          if (state.pending === pending) state.pending = undefined;
        },
      );
    }
    try {
      return await state.pending;
    } catch (err) {
      this.logger?.warn({ issuer: state.issuer, err: describeError(err) }, 'OIDC discovery failed');
      if (state.meta !== undefined) return state.meta; // serve the stale document
      throw err;
    }
  }

  private async discover(state: IssuerState): Promise<IssuerMetadata> {
    const { issuer } = state;
    const url = `${stripTrailingSlashes(issuer)}/.well-known/openid-configuration`;
    let doc: unknown;
    try {
      const res = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.fetchTimeoutMs),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`discovery answered HTTP ${res.status}`);
      }
      doc = await readJson(res, MAX_RESPONSE_BYTES);
    } catch (cause) {
      throw new IssuerUnavailableError(issuer, 'identity provider unavailable', { cause });
    }
    if (!isRecord(doc)) throw new IssuerUnavailableError(issuer, 'identity provider discovery document is invalid');
    const docIssuer = doc.issuer;
    if (typeof docIssuer !== 'string' || stripTrailingSlashes(docIssuer) !== stripTrailingSlashes(issuer)) {
      throw new IssuerUnavailableError(issuer, 'identity provider discovery document names another issuer');
    }
    const jwksUri = doc.jwks_uri;
    if (typeof jwksUri !== 'string' || !isHttpUrl(jwksUri)) {
      throw new IssuerUnavailableError(issuer, 'identity provider discovery document has no valid jwks_uri');
    }
    const rawUserinfo = doc.userinfo_endpoint;
    const userinfoEndpoint = typeof rawUserinfo === 'string' && isHttpUrl(rawUserinfo) ? rawUserinfo : undefined;

    // Keep the key set (and its cache) when the jwks_uri did not change.
    const previous = state.meta;
    const jwks =
      previous !== undefined && previous.jwksUri === jwksUri
        ? previous.jwks
        : createRemoteJWKSet(new URL(jwksUri), {
            timeoutDuration: this.fetchTimeoutMs,
            cooldownDuration: this.jwksCooldownMs,
            cacheMaxAge: JWKS_MAX_AGE_MS,
          });
    const getKey: JWTVerifyGetKey = async (header, token) => {
      try {
        return await jwks(header, token);
      } catch (err) {
        // Problems of the token itself stay token problems (→ 401) ...
        if (
          err instanceof errors.JWKSNoMatchingKey ||
          err instanceof errors.JWKSMultipleMatchingKeys ||
          err instanceof errors.JOSENotSupported ||
          err instanceof errors.JOSEAlgNotAllowed
        ) {
          throw err;
        }
        // ... anything else (timeout, refused connection, non-200, bad JSON, bad key set) is the issuer's.
        this.logger?.warn({ issuer, err: describeError(err) }, 'OIDC JWKS fetch failed');
        throw new IssuerUnavailableError(issuer, 'identity provider unavailable', { cause: err });
      }
    };
    return { jwksUri, userinfoEndpoint, jwks, getKey };
  }

  /** Userinfo claims for a verified token; cached per token, concurrent calls share one request. */
  private userinfo(
    token: string,
    sub: string,
    issuer: string,
    endpoint: string,
    exp: number | undefined,
  ): Promise<UserinfoClaims | undefined> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = Date.now();
    const cached = this.userinfoCache.get(key);
    if (cached !== undefined && cached.expires > now) return cached.value;
    if (cached !== undefined) this.userinfoCache.delete(key);

    const tokenExpires = typeof exp === 'number' ? exp * 1000 : now + USERINFO_TTL_MS;
    const value = this.fetchUserinfo(token, sub, issuer, endpoint);
    const entry: UserinfoCacheEntry = { expires: Math.min(now + USERINFO_TTL_MS, tokenExpires), value };
    this.remember(key, entry);
    void value.then((info) => {
      if (info === undefined) entry.expires = Math.min(entry.expires, Date.now() + USERINFO_FAILURE_TTL_MS);
    });
    return value;
  }

  private remember(key: string, entry: UserinfoCacheEntry): void {
    if (this.userinfoCache.size >= USERINFO_CACHE_MAX) {
      const now = Date.now();
      for (const [k, e] of this.userinfoCache) if (e.expires <= now) this.userinfoCache.delete(k);
      // Still full: drop the oldest entries (a Map iterates in insertion order).
      for (const k of this.userinfoCache.keys()) {
        if (this.userinfoCache.size < USERINFO_CACHE_MAX) break;
        this.userinfoCache.delete(k);
      }
    }
    this.userinfoCache.set(key, entry);
  }

  /** Never throws: a failing userinfo leaves the claims undefined. */
  private async fetchUserinfo(token: string, sub: string, issuer: string, endpoint: string): Promise<UserinfoClaims | undefined> {
    try {
      const res = await fetch(endpoint, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        redirect: 'error', // never forward the bearer token elsewhere
        signal: AbortSignal.timeout(this.fetchTimeoutMs),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        this.logger?.warn({ issuer, status: res.status }, 'OIDC userinfo request failed');
        return undefined;
      }
      const body = await readJson(res, MAX_RESPONSE_BYTES);
      if (!isRecord(body)) {
        this.logger?.warn({ issuer }, 'OIDC userinfo answer is not a JSON object');
        return undefined;
      }
      if (body.sub !== sub) {
        // OIDC Core §5.3.2: the userinfo sub must match, or the answer must not be used.
        this.logger?.warn({ issuer }, 'OIDC userinfo answer is for another subject');
        return undefined;
      }
      return {
        email: body.email,
        email_verified: body.email_verified,
        eduperson_entitlement: body.eduperson_entitlement,
      };
    } catch (err) {
      // fetch errors carry the URL, never the headers: safe to log.
      this.logger?.warn({ issuer, err: describeError(err) }, 'OIDC userinfo request failed');
      return undefined;
    }
  }
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`);
  return Math.max(1, Math.round(value));
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`);
  return value;
}
