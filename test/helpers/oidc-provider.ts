/**
 * A small but real OpenID Connect provider for tests: an HTTP server on 127.0.0.1 serving a
 * discovery document, a JWKS and a userinfo endpoint, and signing access tokens with its keys.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface TokenOptions {
  /** Header kid; defaults to the current signing key's kid. */
  kid?: string;
  /** Header alg; default RS256. HS256/384/512 sign with a fixed shared secret. */
  alg?: string;
  /** Seconds from now (may be negative) or a jose time span ("1h", "-5m"); default one hour. */
  expiresIn?: string | number;
  /** 'foreign': sign with a key that /jwks does not contain (under the same kid). */
  key?: 'foreign';
}

export interface MockOidcProvider {
  /** The provider's base URL, also the `iss` of its tokens (no trailing slash). */
  issuer: string;
  /**
   * Signs an access token; defaults: iss = issuer, sub random, iat now, exp +1h. `claims` are
   * merged over the defaults; a claim set to `undefined` is removed (e.g. `{ exp: undefined }`).
   */
  token(claims?: Record<string, unknown>, opts?: TokenOptions): Promise<string>;
  /** Claims /userinfo returns for tokens of `sub` (merged over `{ sub }`). */
  setUserinfo(sub: string, claims: Record<string, unknown>): void;
  /** A new signing key with a new kid; the old key stays in /jwks unless `retireOld` is set. */
  rotateKey(opts?: { retireOld?: boolean }): Promise<void>;
  /** Makes `path` answer `status` (with a JSON error body) until called again with `null`. */
  fail(path: string, status: number | null): void;
  /** Every request received, in order. */
  requests: { path: string; method: string; authorization: boolean }[];
  /** The current signing key's kid. */
  readonly kid: string;
  close(): Promise<void>;
}

/** The secret used for `alg: HS*` tokens (the verifier must reject them whatever the secret). */
export const HMAC_SECRET = new TextEncoder().encode('a-shared-secret-that-is-long-enough-for-hs512-0123456789abcdef');

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export async function startOidcProvider(): Promise<MockOidcProvider> {
  let keys: SigningKey[] = [await newKey()];
  const foreign = await newKey();
  const userinfo = new Map<string, Record<string, unknown>>();
  const failures = new Map<string, number>();
  const requests: MockOidcProvider['requests'] = [];
  let issuer = '';

  const current = (): SigningKey => {
    const key = keys[keys.length - 1];
    if (key === undefined) throw new Error('no signing key');
    return key;
  };

  const handleUserinfo = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const token = match?.[1];
    const unauthorized = { 'www-authenticate': 'Bearer error="invalid_token"' };
    if (token === undefined) return send(res, 401, { error: 'invalid_token' }, unauthorized);
    let payload: JWTPayload;
    try {
      const jwks = createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) });
      ({ payload } = await jwtVerify(token, jwks, { issuer, algorithms: ['RS256'] }));
    } catch {
      return send(res, 401, { error: 'invalid_token' }, unauthorized);
    }
    const claims = typeof payload.sub === 'string' ? userinfo.get(payload.sub) : undefined;
    if (claims === undefined) return send(res, 401, { error: 'invalid_token' }, unauthorized);
    send(res, 200, { sub: payload.sub, ...claims });
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push({ path, method: req.method ?? 'GET', authorization: req.headers.authorization !== undefined });
    const failure = failures.get(path);
    if (failure !== undefined) return send(res, failure, { error: 'server_error' });
    if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' });
    switch (path) {
      case '/.well-known/openid-configuration':
        return send(res, 200, {
          issuer,
          jwks_uri: `${issuer}/jwks`,
          userinfo_endpoint: `${issuer}/userinfo`,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        });
      case '/jwks':
        return send(res, 200, { keys: keys.map((k) => k.publicJwk) });
      case '/userinfo':
        handleUserinfo(req, res).catch(() => send(res, 500, { error: 'server_error' }));
        return;
      default:
        return send(res, 404, { error: 'not found' });
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  issuer = `http://127.0.0.1:${port}`;

  return {
    issuer,
    requests,
    get kid() {
      return current().kid;
    },
    async token(claims = {}, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = { iss: issuer, sub: randomUUID(), iat: now };
      if (typeof opts.expiresIn !== 'string') payload.exp = now + (opts.expiresIn ?? 3600);
      for (const [name, value] of Object.entries(claims)) {
        if (value === undefined) delete payload[name];
        else payload[name] = value;
      }
      const alg = opts.alg ?? 'RS256';
      const signing = opts.key === 'foreign' ? foreign : current();
      const jwt = new SignJWT(payload as JWTPayload).setProtectedHeader({
        alg,
        typ: 'at+jwt',
        kid: opts.kid ?? current().kid,
      });
      if (typeof opts.expiresIn === 'string' && !('exp' in claims)) jwt.setExpirationTime(opts.expiresIn);
      return jwt.sign(alg.startsWith('HS') ? HMAC_SECRET : signing.privateKey);
    },
    setUserinfo(sub, claims) {
      userinfo.set(sub, claims);
    },
    async rotateKey(opts = {}) {
      const next = await newKey();
      keys = opts.retireOld === true ? [next] : [...keys, next];
    },
    fail(path, status) {
      if (status === null) failures.delete(path);
      else failures.set(path, status);
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
