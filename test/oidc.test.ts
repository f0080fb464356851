import t from 'tap';
import { base64url, SignJWT } from 'jose';
import { OidcVerifier, type OidcLogger, type OidcVerifierOptions } from '../src/auth/oidc.js';
import { AuthenticationError, IssuerUnavailableError } from '../src/errors.js';
import { startOidcProvider, type MockOidcProvider } from './helpers/oidc-provider.js';

type Test = Pick<typeof t, 'ok' | 'match' | 'notOk'>;

const DISCOVERY = '/.well-known/openid-configuration';

/** Every token any test handed to the verifier: no error message or log line may contain one. */
const seenTokens: string[] = [];
const seenMessages: string[] = [];

function bearer(token: string): string {
  seenTokens.push(token);
  return `Bearer ${token}`;
}

function count(p: MockOidcProvider, path: string): number {
  return p.requests.filter((r) => r.path === path).length;
}

function verifier(p: MockOidcProvider | string, extra: Partial<OidcVerifierOptions> = {}): OidcVerifier {
  const issuer = typeof p === 'string' ? p : p.issuer;
  return new OidcVerifier({ issuers: [issuer], fetchTimeoutMs: 2000, ...extra });
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof Error)) throw new Error(`non-Error thrown: ${String(err)}`);
    seenMessages.push(err.message, err.stack ?? '');
    return err;
  }
  throw new Error('expected a rejection');
}

async function rejectsAuth(t: Test, promise: Promise<unknown>, message: RegExp, token?: string): Promise<void> {
  const err = await caught(promise);
  t.ok(err instanceof AuthenticationError, `AuthenticationError (got ${err.name}: ${err.message})`);
  t.match(err.message, message);
  if (token !== undefined) t.notOk(err.message.includes(token), 'message does not contain the token');
}

function capturingLogger(): OidcLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (obj, msg) => void lines.push(JSON.stringify({ obj, msg })) };
}

/** A JWT with `alg: none`, built by hand. */
function unsecuredToken(payload: Record<string, unknown>): string {
  const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(payload)}.`;
}

const now = () => Math.floor(Date.now() / 1000);

t.test('OidcVerifier', async (t) => {
  const p = await startOidcProvider();
  t.teardown(() => p.close());

  t.test('valid token → identity', async (t) => {
    const v = verifier(p);
    const token = await p.token({
      sub: 'alice',
      email: 'alice@example.org',
      email_verified: true,
      eduperson_entitlement: ['urn:mace:egi.eu:group:admins', 'urn:x:y'],
    });
    const id = await v.authenticate(bearer(token));
    t.same(id, {
      sub: 'alice',
      iss: p.issuer,
      email: 'alice@example.org',
      emailVerified: true,
      entitlements: ['urn:mace:egi.eu:group:admins', 'urn:x:y'],
    });
    t.equal(count(p, '/userinfo'), 0, 'no userinfo when the token has the email');
    // scheme is case-insensitive, surrounding blanks tolerated
    t.equal((await v.authenticate(`bearer ${token}`)).sub, 'alice');
    t.equal((await v.authenticate(`  BEARER   ${token}  `)).sub, 'alice');
  });

  t.test('email_verified as the string "true" / "false"', async (t) => {
    const v = verifier(p);
    const a = await v.authenticate(bearer(await p.token({ email: 'a@x.org', email_verified: 'true' })));
    t.equal(a.emailVerified, true);
    const b = await v.authenticate(bearer(await p.token({ email: 'b@x.org', email_verified: 'false' })));
    t.equal(b.emailVerified, false);
    const c = await v.authenticate(bearer(await p.token({ email: 'c@x.org', email_verified: 'yes' })));
    t.equal(c.emailVerified, undefined);
  });

  t.test('no header', async (t) => {
    const v = verifier(p);
    const before = p.requests.length;
    await rejectsAuth(t, v.authenticate(undefined), /missing bearer token/);
    await rejectsAuth(t, v.authenticate(''), /missing bearer token/);
    await rejectsAuth(t, v.authenticate('   '), /missing bearer token/);
    await rejectsAuth(t, v.authenticate('Bearer'), /missing bearer token/);
    await rejectsAuth(t, v.authenticate('Bearer    '), /missing bearer token/);
    t.equal(p.requests.length, before, 'no request');
  });

  t.test('Basic scheme', async (t) => {
    const v = verifier(p);
    await rejectsAuth(t, v.authenticate('Basic dXNlcjpwYXNz'), /bearer/i);
    // even carrying a valid JWT
    const token = await p.token();
    await rejectsAuth(t, v.authenticate(`Basic ${token}`), /bearer/i, token);
  });

  t.test('garbage', async (t) => {
    const v = verifier(p);
    const before = p.requests.length;
    for (const garbage of ['garbage', 'a.b', 'a.b.c.d', 'aaa.bbb.ccc', 'eyJ.eyJ.x', '!!!.???.***', 'Bearer x y']) {
      await rejectsAuth(t, v.authenticate(bearer(garbage)), /malformed/, garbage);
    }
    // valid base64url / JSON but not an object
    const notObject = `${base64url.encode('"x"')}.${base64url.encode('[1]')}.c2ln`;
    await rejectsAuth(t, v.authenticate(bearer(notObject)), /malformed/, notObject);
    t.equal(p.requests.length, before, 'garbage causes no request');
  });

  t.test('token too large is rejected without parsing', async (t) => {
    const v = verifier(p);
    const big = `${'a'.repeat(20_000)}.b.c`;
    const err = await caught(v.authenticate(`Bearer ${big}`));
    t.ok(err instanceof AuthenticationError);
    t.match(err.message, /too large/);
    t.ok(err.message.length < 200);
    const huge = `Bearer ${'a'.repeat(2_000_000)}`;
    await rejectsAuth(t, v.authenticate(huge), /too large/);
  });

  t.test('alg: none token (hand-crafted) is rejected', async (t) => {
    const v = verifier(p);
    const before = p.requests.length;
    const token = unsecuredToken({ iss: p.issuer, sub: 'mallory', exp: now() + 3600, email: 'm@x.org' });
    await rejectsAuth(t, v.authenticate(bearer(token)), /unsupported token algorithm/, token);
    // also with a bogus signature part
    const withSig = `${token}c2lnbmF0dXJl`;
    await rejectsAuth(t, v.authenticate(bearer(withSig)), /unsupported token algorithm/, withSig);
    t.equal(p.requests.length, before, 'no request for an unacceptable algorithm');
  });

  t.test('HS256 token signed with a secret is rejected', async (t) => {
    const v = verifier(p);
    const viaProvider = await p.token({ sub: 'mallory' }, { alg: 'HS256' });
    await rejectsAuth(t, v.authenticate(bearer(viaProvider)), /unsupported token algorithm/, viaProvider);
    // a secret an attacker might guess: the public key's modulus, as in the classic RS/HS confusion
    const jwks = (await (await fetch(`${p.issuer}/jwks`)).json()) as { keys: { n: string }[] };
    const secret = new TextEncoder().encode(jwks.keys[0]?.n ?? 'x');
    const hs = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256', kid: p.kid })
      .setIssuer(p.issuer)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(secret);
    await rejectsAuth(t, v.authenticate(bearer(hs)), /unsupported token algorithm/, hs);
  });

  t.test('token signed with a foreign key (same kid) → invalid signature', async (t) => {
    const v = verifier(p);
    const token = await p.token({ sub: 'mallory' }, { key: 'foreign' });
    await rejectsAuth(t, v.authenticate(bearer(token)), /invalid signature/, token);
    // tampered payload of a genuine token
    const genuine = await p.token({ sub: 'bob', email: 'bob@x.org' });
    const [h, , s] = genuine.split('.');
    const forged = `${h}.${base64url.encode(JSON.stringify({ iss: p.issuer, sub: 'admin', exp: now() + 3600 }))}.${s}`;
    await rejectsAuth(t, v.authenticate(bearer(forged)), /invalid signature/, forged);
  });

  t.test('unknown kid → 401 (after one JWKS refetch at most)', async (t) => {
    const v = verifier(p, { jwksCooldownMs: 0 });
    const token = await p.token({ sub: 'x' }, { kid: 'no-such-kid' });
    await rejectsAuth(t, v.authenticate(bearer(token)), /invalid signature|unknown signing key/, token);
  });

  t.test('untrusted issuer: rejected and nothing fetched for it', async (t) => {
    const evil = await startOidcProvider();
    t.teardown(() => evil.close());
    const other = await startOidcProvider();
    t.teardown(() => other.close());
    const v = verifier(other);
    const token = await evil.token({ sub: 'mallory', email: 'm@x.org' });
    await rejectsAuth(t, v.authenticate(bearer(token)), /untrusted issuer/, token);
    t.equal(evil.requests.length, 0, 'no request reached the untrusted issuer');
    t.equal(other.requests.length, 0, 'no request reached the trusted issuer either');

    // an iss that merely starts like a trusted one, or points elsewhere on the same host
    for (const iss of [`${other.issuer}/evil`, `${other.issuer}.evil.example`, `${other.issuer}#`, other.issuer.toUpperCase()]) {
      const forged = await evil.token({ iss });
      await rejectsAuth(t, v.authenticate(bearer(forged)), /untrusted issuer/, forged);
    }
    // no iss at all
    const noIss = await evil.token({ iss: undefined });
    await rejectsAuth(t, v.authenticate(bearer(noIss)), /issuer/, noIss);
    t.equal(evil.requests.length, 0);
    t.equal(other.requests.length, 0);
  });

  t.test('trailing slash difference between configuration and iss is tolerated', async (t) => {
    const a = verifier(`${p.issuer}/`);
    t.equal((await a.authenticate(bearer(await p.token({ sub: 's1', email: 'e@x.org' })))).iss, p.issuer);
    const b = verifier(p);
    const slashed = await p.token({ sub: 's2', iss: `${p.issuer}/`, email: 'e@x.org' });
    t.equal((await b.authenticate(bearer(slashed))).iss, `${p.issuer}/`, "the identity keeps the token's iss");
  });

  t.test('expired token', async (t) => {
    const v = verifier(p);
    const token = await p.token({ sub: 'old' }, { expiresIn: -3600 });
    await rejectsAuth(t, v.authenticate(bearer(token)), /token expired/, token);
    const span = await p.token({ sub: 'old' }, { expiresIn: '-2h' });
    await rejectsAuth(t, v.authenticate(bearer(span)), /token expired/, span);
    // within the clock tolerance: accepted
    const justNow = await p.token({ sub: 'recent', email: 'r@x.org' }, { expiresIn: -5 });
    t.equal((await v.authenticate(bearer(justNow))).sub, 'recent');
    const strict = verifier(p, { clockToleranceSec: 0 });
    await rejectsAuth(t, strict.authenticate(bearer(justNow)), /token expired/, justNow);
  });

  t.test('token without exp is rejected', async (t) => {
    const v = verifier(p);
    const token = await p.token({ sub: 'forever', exp: undefined });
    await rejectsAuth(t, v.authenticate(bearer(token)), /no expiry/, token);
  });

  t.test('token without sub is rejected', async (t) => {
    const v = verifier(p);
    const token = await p.token({ sub: undefined });
    await rejectsAuth(t, v.authenticate(bearer(token)), /subject/, token);
  });

  t.test('nbf in the future', async (t) => {
    const v = verifier(p);
    const token = await p.token({ sub: 'early', nbf: now() + 3600 });
    await rejectsAuth(t, v.authenticate(bearer(token)), /not yet valid/, token);
    const past = await p.token({ sub: 'fine', nbf: now() - 10, email: 'f@x.org' });
    t.equal((await v.authenticate(bearer(past))).sub, 'fine');
  });

  t.test('audience', async (t) => {
    const v = verifier(p, { audience: 'eosc-perf' });
    const missing = await p.token({ sub: 'a', email: 'a@x.org' });
    await rejectsAuth(t, v.authenticate(bearer(missing)), /audience/, missing);
    const wrong = await p.token({ sub: 'a', email: 'a@x.org', aud: 'other-service' });
    await rejectsAuth(t, v.authenticate(bearer(wrong)), /audience/, wrong);
    const right = await p.token({ sub: 'a', email: 'a@x.org', aud: 'eosc-perf' });
    t.equal((await v.authenticate(bearer(right))).sub, 'a');
    const inList = await p.token({ sub: 'a', email: 'a@x.org', aud: ['other', 'eosc-perf'] });
    t.equal((await v.authenticate(bearer(inList))).sub, 'a');
    // without an audience configured, any aud is fine
    t.equal((await verifier(p).authenticate(bearer(wrong))).sub, 'a');
  });

  t.test('entitlements', async (t) => {
    const v = verifier(p);
    const ent = async (value: unknown) =>
      (await v.authenticate(bearer(await p.token({ email: 'e@x.org', eduperson_entitlement: value })))).entitlements;
    t.same(await ent(undefined), [], 'absent → []');
    t.same(await ent('urn:single'), [], 'a string (not a list) → []');
    t.same(await ent({ a: 'urn:x' }), [], 'an object → []');
    t.same(await ent(null), [], 'null → []');
    t.same(await ent(['urn:a', 5, null, { x: 1 }, ['urn:n'], 'urn:b', '', true, 'urn:a']), ['urn:a', 'urn:b'], 'non-strings filtered');
  });

  t.test('email missing in token → userinfo, cached per token', async (t) => {
    const v = verifier(p);
    p.setUserinfo('carol', {
      email: 'carol@example.org',
      email_verified: 'true',
      eduperson_entitlement: ['urn:from:userinfo', 7],
    });
    const token = await p.token({ sub: 'carol', eduperson_entitlement: ['urn:from:token'] });
    const before = count(p, '/userinfo');
    const id = await v.authenticate(bearer(token));
    t.same(id, {
      sub: 'carol',
      iss: p.issuer,
      email: 'carol@example.org',
      emailVerified: true,
      entitlements: ['urn:from:userinfo'],
    });
    t.equal(count(p, '/userinfo'), before + 1);
    const again = await v.authenticate(bearer(token));
    t.same(again, id);
    t.equal(count(p, '/userinfo'), before + 1, 'second authenticate does not refetch userinfo');

    // concurrent requests with a new token share one userinfo request
    const token2 = await p.token({ sub: 'carol' });
    const all = await Promise.all(Array.from({ length: 5 }, () => v.authenticate(bearer(token2))));
    t.ok(all.every((i) => i.email === 'carol@example.org'));
    t.equal(count(p, '/userinfo'), before + 2, 'one request for five concurrent authentications');

    // userinfo without entitlements keeps the token's
    p.setUserinfo('dave', { email: 'dave@example.org' });
    const d = await v.authenticate(bearer(await p.token({ sub: 'dave', eduperson_entitlement: ['urn:t'] })));
    t.same(d.entitlements, ['urn:t']);
    t.equal(d.email, 'dave@example.org');
    t.equal(d.emailVerified, undefined);
  });

  t.test('userinfo failing → email undefined, token never logged', async (t) => {
    const logger = capturingLogger();
    const q = await startOidcProvider();
    t.teardown(() => q.close());
    const v = verifier(q, { logger });

    // 401: nothing registered for that sub
    const unknown = await q.token({ sub: 'nobody', eduperson_entitlement: ['urn:e'] });
    const id = await v.authenticate(bearer(unknown));
    t.same(id, { sub: 'nobody', iss: q.issuer, entitlements: ['urn:e'] });

    // 500
    q.setUserinfo('erin', { email: 'erin@example.org' });
    q.fail('/userinfo', 500);
    const erin = await q.token({ sub: 'erin' });
    t.equal((await v.authenticate(bearer(erin))).email, undefined);
    q.fail('/userinfo', null);

    // a userinfo answer for another sub must not be used
    q.setUserinfo('frank', { sub: 'someone-else', email: 'other@example.org' });
    const frank = await q.token({ sub: 'frank' });
    t.equal((await v.authenticate(bearer(frank))).email, undefined);

    t.ok(logger.lines.length >= 3, 'failures were logged');
    for (const line of logger.lines) {
      for (const tok of [unknown, erin, frank]) t.notOk(line.includes(tok), 'log line does not contain the token');
    }
  });

  t.test('discovery and JWKS are fetched once and cached; concurrent discovery de-duplicated', async (t) => {
    const q = await startOidcProvider();
    t.teardown(() => q.close());
    const v = verifier(q);
    const tokens = await Promise.all(Array.from({ length: 8 }, (_, i) => q.token({ sub: `u${i}`, email: 'u@x.org' })));
    const ids = await Promise.all(tokens.map((tok) => v.authenticate(bearer(tok))));
    t.same(
      ids.map((i) => i.sub),
      tokens.map((_, i) => `u${i}`),
    );
    for (let i = 0; i < 3; i++) await v.authenticate(bearer(await q.token({ email: 'u@x.org' })));
    t.equal(count(q, DISCOVERY), 1, 'one discovery request');
    t.equal(count(q, '/jwks'), 1, 'one JWKS request');
  });

  t.test('key rotation: a token with a new kid verifies after the provider rotates', async (t) => {
    const q = await startOidcProvider();
    t.teardown(() => q.close());
    const v = verifier(q, { jwksCooldownMs: 0 });
    const oldToken = await q.token({ sub: 'r', email: 'r@x.org' });
    t.equal((await v.authenticate(bearer(oldToken))).sub, 'r');
    t.equal(count(q, '/jwks'), 1);
    const oldKid = q.kid;

    await q.rotateKey();
    t.not(q.kid, oldKid);
    const newToken = await q.token({ sub: 'r2', email: 'r@x.org' });
    t.equal((await v.authenticate(bearer(newToken))).sub, 'r2', 'new kid accepted');
    t.equal(count(q, '/jwks'), 2, 'JWKS refetched once for the unknown kid');
    t.equal((await v.authenticate(bearer(oldToken))).sub, 'r', 'old key still valid');
    t.equal(count(q, '/jwks'), 2);

    await q.rotateKey({ retireOld: true });
    const newest = await q.token({ sub: 'r3', email: 'r@x.org' });
    t.equal((await v.authenticate(bearer(newest))).sub, 'r3');
    const stale = await q.token({ sub: 'r4' }, { kid: oldKid });
    await rejectsAuth(t, v.authenticate(bearer(stale)), /invalid signature/, stale);
  });

  t.test('key rotation respects the JWKS cooldown', async (t) => {
    const q = await startOidcProvider();
    t.teardown(() => q.close());
    const v = verifier(q); // default cooldown (30 s)
    await v.authenticate(bearer(await q.token({ email: 'x@x.org' })));
    for (let i = 0; i < 5; i++) {
      const tok = await q.token({}, { kid: `random-${i}` });
      await rejectsAuth(t, v.authenticate(bearer(tok)), /invalid signature/, tok);
    }
    t.equal(count(q, '/jwks'), 1, 'unknown kids do not make us refetch during the cooldown');
  });

  t.test('issuer down → IssuerUnavailableError, not AuthenticationError', async (t) => {
    const q = await startOidcProvider();
    const token = await q.token({ sub: 'z', email: 'z@x.org' });
    const issuer = q.issuer;
    await q.close();
    const v = verifier(issuer, { discoveryRetryMs: 0 });
    const err = await caught(v.authenticate(bearer(token)));
    t.ok(err instanceof IssuerUnavailableError, `IssuerUnavailableError (got ${err.name})`);
    t.notOk(err instanceof AuthenticationError);
    t.equal((err as IssuerUnavailableError).statusCode, 503);
    t.notOk(err.message.includes(token));
  });

  t.test('failed discovery is not cached forever', async (t) => {
    const q = await startOidcProvider();
    t.teardown(() => q.close());
    const logger = capturingLogger();
    const v = verifier(q, { discoveryRetryMs: 200, logger });
    const token = await q.token({ sub: 'w', email: 'w@x.org' });
    q.fail(DISCOVERY, 503);
    t.ok((await caught(v.authenticate(bearer(token)))) instanceof IssuerUnavailableError);
    t.equal(count(q, DISCOVERY), 1);
    // within the retry window: fails fast, no new request
    t.ok((await caught(v.authenticate(bearer(token)))) instanceof IssuerUnavailableError);
    t.equal(count(q, DISCOVERY), 1, 'fails fast right after a failure');
    q.fail(DISCOVERY, null);
    await new Promise((r) => setTimeout(r, 250));
    t.equal((await v.authenticate(bearer(token))).sub, 'w', 'retried on a later request');
    t.equal(count(q, DISCOVERY), 2);
    for (const line of logger.lines) t.notOk(line.includes(token));
  });

  t.test('JWKS unavailable → IssuerUnavailableError', async (t) => {
    const q = await startOidcProvider();
    t.teardown(() => q.close());
    const v = verifier(q);
    q.fail('/jwks', 500);
    const token = await q.token({ sub: 'j', email: 'j@x.org' });
    const err = await caught(v.authenticate(bearer(token)));
    t.ok(err instanceof IssuerUnavailableError, `IssuerUnavailableError (got ${err.name}: ${err.message})`);
    q.fail('/jwks', null);
    t.equal((await v.authenticate(bearer(token))).sub, 'j', 'recovers once the JWKS is back');
  });

  t.test('unreachable issuer with a slow answer times out as unavailable', async (t) => {
    const { createServer } = await import('node:http');
    const hanging = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', () => r()));
    t.teardown(
      () =>
        new Promise<void>((r) => {
          hanging.closeAllConnections();
          hanging.close(() => r());
        }),
    );
    const addr = hanging.address();
    const issuer = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
    const token = await p.token({ iss: issuer });
    const v = verifier(issuer, { fetchTimeoutMs: 200 });
    const started = Date.now();
    const err = await caught(v.authenticate(bearer(token)));
    t.ok(err instanceof IssuerUnavailableError, `IssuerUnavailableError (got ${err.name})`);
    t.ok(Date.now() - started < 2000, 'bounded by fetchTimeoutMs');
  });

  t.test('invalid configuration is refused', async (t) => {
    t.throws(() => new OidcVerifier({ issuers: ['not a url'] }));
    t.throws(() => new OidcVerifier({ issuers: ['ftp://x.example'] }));
    t.throws(() => new OidcVerifier({ issuers: [p.issuer], fetchTimeoutMs: -1 }));
    t.doesNotThrow(() => new OidcVerifier({ issuers: [] }));
    const none = new OidcVerifier({ issuers: [] });
    const token = await p.token();
    await rejectsAuth(t, none.authenticate(bearer(token)), /untrusted issuer/, token);
  });

  t.test('error messages never contain a token', async (t) => {
    t.ok(seenTokens.length > 20, `${seenTokens.length} tokens tried`);
    t.ok(seenMessages.length > 20, `${seenMessages.length} messages seen`);
    const leaks = seenMessages.filter((m) => seenTokens.some((tok) => tok.length >= 8 && m.includes(tok)));
    t.same(leaks, []);
  });
});
