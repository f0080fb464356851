// Rate limits (src/http/rate-limits.ts): per user with a token, per IP
// address without; writes limited apart from reads; past the limit a 429 in
// the API's error body with Retry-After; off unless configured.
import t from 'tap';
import { createTestContext, persona, type Test } from './helpers/app.js';
import { assertError } from './helpers/assertions.js';

async function service(t: Test, env: Record<string, string>) {
  const ctx = await createTestContext(t, 'pglite', env);
  if (!ctx) throw new Error('PGlite is always available');
  return ctx;
}

t.test('429 with Retry-After once an anonymous client passes the read limit; another address is not affected', async (t) => {
  const ctx = await service(t, { RATE_LIMIT_READS: '3', RATE_LIMIT_WINDOW_MS: '60000' });
  for (let i = 0; i < 3; i++) t.equal((await ctx.app.inject({ url: '/tags' })).statusCode, 200);
  const refused = await ctx.app.inject({ url: '/benchmarks' });
  const error = assertError(t, refused, 429);
  t.equal(error.error_code, 'too_many_requests');
  t.match(error.message, /Rate limit of 3 reads per 1 min reached; try again in \d+ s/);
  const retryAfter = Number(refused.headers['retry-after']);
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After: ${retryAfter}`);
  const elsewhere = await ctx.app.inject({ url: '/tags', remoteAddress: '192.0.2.7' });
  t.equal(elsewhere.statusCode, 200, 'a client at another address has its own limit');
  t.equal((await ctx.app.inject({ url: '/healthz' })).statusCode, 200, 'health checks are never limited');
});

t.test('429 per user for writes, tighter than reads: each user has their own limit', async (t) => {
  const ctx = await service(t, { RATE_LIMIT_READS: '100', RATE_LIMIT_WRITES: '2' });
  const [alice, bob] = [persona('limited-alice'), persona('limited-bob')];
  await ctx.register(alice); // one write each
  await ctx.register(bob);
  const tag = async (who: typeof alice, name: string) =>
    ctx.app.inject({ method: 'POST', url: '/tags', headers: await ctx.auth(who), payload: { name } });
  t.equal((await tag(alice, `${alice.sub}-1`)).statusCode, 201);
  const refused = await tag(alice, `${alice.sub}-2`);
  t.match(assertError(t, refused, 429).message, /2 writes per 1 min/);
  t.ok(Number(refused.headers['retry-after']) > 0);
  t.equal(await ctx.db.prisma.tag.count({ where: { name: `${alice.sub}-2` } }), 0, 'nothing done');
  t.equal((await tag(bob, `${bob.sub}-1`)).statusCode, 201, 'another user (same address) has their own limit');
  const read = await ctx.app.inject({ url: '/users/self', headers: await ctx.auth(alice) });
  t.equal(read.statusCode, 200, 'reads are counted apart from writes');
});

t.test('no limit by default', async (t) => {
  const ctx = await service(t, {});
  const answers = await Promise.all(Array.from({ length: 50 }, () => ctx.app.inject({ url: '/tags' })));
  t.same(new Set(answers.map((answer) => answer.statusCode)), new Set([200]));
});
