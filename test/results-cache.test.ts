// Remembered results pages and counts (src/results/page-cache.ts, src/results/result-pages.ts):
// anything written through the API or straight into the database is read
// back at once (the change feed, src/db/change-feed.ts); a write that fires
// no trigger within RESULTS_CACHE_MS; identical concurrent reads share one
// query. Several instances on one database: test/many-instances.test.ts.
import t from 'tap';
import { ReadCache, WriteGeneration } from '../src/results/page-cache.js';
import { adminPersona, eachDatabase, json, persona, type Test, type TestContext } from './helpers/app.js';
import type { Results } from './helpers/contract.js';

/** Long enough that nothing expires during a test: only invalidation can make a page fresh. */
const LONG_MS = 60_000;
const SHORT_MS = 400;

/** An approved benchmark, site and flavor of `user`'s, and helpers to upload and list. */
async function setUp(t: Test, ctx: TestContext) {
  const { app } = ctx;
  const admin = adminPersona();
  const user = persona('counter');
  await ctx.register(admin);
  await ctx.register(user);
  const asAdmin = await ctx.auth(admin);
  const asUser = await ctx.auth(user);
  const created = async (url: string, payload: object) => {
    const response = await app.inject({ method: 'POST', url, headers: asUser, payload });
    t.equal(response.statusCode, 201, response.body);
    return json<{ id: string }>(response).id;
  };
  const benchmark = await created('/benchmarks', {
    docker_image: `count/me${Math.random().toString(36).slice(2)}`,
    docker_tag: '1',
    json_schema: {},
  });
  const site = await created('/sites', { name: `count-site-${Math.random().toString(36).slice(2)}`, address: 'here' });
  const flavor = await created(`/sites/${site}/flavors`, { name: 'count-flavor' });
  for (const url of [`/benchmarks/${benchmark}:approve`, `/sites/${site}:approve`, `/flavors/${flavor}:approve`]) {
    t.equal((await app.inject({ method: 'POST', url, headers: asAdmin })).statusCode, 204);
  }
  return {
    admin,
    user,
    asAdmin,
    asUser,
    benchmark,
    site,
    flavor,
    created,
    upload: (headers = asUser) =>
      app.inject({
        method: 'POST',
        url: `/results?execution_datetime=2024-01-01T00:00:00Z&benchmark_id=${benchmark}&flavor_id=${flavor}`,
        headers,
        payload: { n: 1 },
      }),
    page: async (url = `/results?benchmark_id=${benchmark}`, headers: Record<string, string> = {}) =>
      json<Results>(await app.inject({ url, headers })),
    /** A result written straight into the database, as another instance or a script would. */
    insertBehindTheService: () => ctx.db.prisma.result.create({ data: row() }),
    /**
     * A result written with the database's triggers off (as a restore with
     * --disable-triggers does): nobody is told, only the TTL lets it show.
     */
    insertUnnoticed: () =>
      ctx.db.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SET LOCAL session_replication_role = replica`;
        return tx.result.create({ data: row() });
      }),
  };

  function row() {
    return {
      json: { n: 2 },
      execution_datetime: new Date('2024-01-02T00:00:00Z'),
      benchmark_id: benchmark,
      site_id: site,
      flavor_id: flavor,
      uploader_sub: user.sub,
      uploader_iss: ctx.oidc.issuer,
    };
  }
}

eachDatabase(
  t,
  async (t, ctx) => {
    const { app } = ctx;

    t.test('a write through the API is read back at once', async (t) => {
      const { asUser, asAdmin, benchmark, created, upload, page } = await setUp(t, ctx);
      t.equal((await page()).total, 0);
      t.equal((await upload()).statusCode, 201);
      const listed = await page();
      t.equal(listed.total, 1, 'not the remembered 0');
      t.equal(listed.items.length, 1, 'not the remembered empty page');
      const id = listed.items[0]!.id;

      const tag = await created('/tags', { name: `cache-tag-${Math.random().toString(36).slice(2)}` });
      t.equal(
        (await app.inject({ method: 'PUT', url: `/results/${id}/tags`, headers: asUser, payload: { tags_ids: [tag] } })).statusCode,
        204,
      );
      t.same(
        (await page()).items[0]!.tags.map((item) => item.id),
        [tag],
        'new tags at once',
      );

      const updated = await app.inject({
        method: 'PUT',
        url: `/benchmarks/${benchmark}`,
        headers: asAdmin,
        payload: {
          docker_image: (await page()).items[0]!.benchmark.docker_image,
          docker_tag: '1',
          json_schema: {},
          description: 'changed',
        },
      });
      t.equal(updated.statusCode, 204, updated.body);
      t.equal((await page()).items[0]!.benchmark.description, 'changed', 'the embedded benchmark as it is now');

      t.equal(
        (await app.inject({ method: 'POST', url: `/results/${id}:claim`, headers: asUser, payload: { message: 'x' } })).statusCode,
        201,
      );
      t.same(await page(), { ...listed, items: [], total: 0, pages: 0 }, 'a claim hides it from the page and the count at once');
    });

    t.test('a search reads a renamed site at once', async (t) => {
      const { asAdmin, site, upload, page } = await setUp(t, ctx);
      t.equal((await upload()).statusCode, 201);
      const renamed = `renamed-${Math.random().toString(36).slice(2)}`;
      t.equal((await page(`/results:search?terms=${renamed}`)).total, 0);
      const put = await app.inject({ method: 'PUT', url: `/sites/${site}`, headers: asAdmin, payload: { name: renamed, address: 'here' } });
      t.equal(put.statusCode, 204, put.body);
      t.equal((await page(`/results:search?terms=${renamed}`)).total, 1);
    });

    t.test("each user's own results are their own, never another's remembered page", async (t) => {
      const { user, upload, page, benchmark } = await setUp(t, ctx);
      const other = persona('other-counter');
      await ctx.register(other);
      t.equal((await upload()).statusCode, 201);
      t.equal((await upload(await ctx.auth(other))).statusCode, 201);
      const url = `/users/self/results?benchmark_id=${benchmark}`;
      const mine = await page(url, await ctx.auth(user));
      const theirs = await page(url, await ctx.auth(other));
      t.equal(mine.total, 1);
      t.equal(theirs.total, 1);
      t.not(mine.items[0]!.id, theirs.items[0]!.id);
    });

    t.test('a write straight into the database is read back at once', async (t) => {
      const { page, insertBehindTheService } = await setUp(t, ctx);
      const before = await page();
      const row = await insertBehindTheService();
      const after = await page();
      t.equal(after.total, before.total + 1, 'the count');
      t.ok(
        after.items.some((item) => item.id === row.id),
        'the page',
      );
    });

    t.test('requests refused before any service call, and preflights, forget nothing', async (t) => {
      const { page, insertUnnoticed } = await setUp(t, ctx);
      const before = await page();
      await insertUnnoticed();
      t.equal((await app.inject({ method: 'POST', url: '/tags', payload: { name: 'anonymous' } })).statusCode, 401);
      const preflight = await app.inject({
        method: 'OPTIONS',
        url: '/results',
        headers: { origin: 'https://frontend.example.org', 'access-control-request-method': 'POST' },
      });
      t.ok(preflight.statusCode < 300, `preflight ${preflight.statusCode}`);
      t.same(await page(), before, 'still the remembered page: nothing was written through the service');
    });
  },
  { RESULTS_CACHE_MS: String(LONG_MS) },
);

eachDatabase(
  t,
  async (t, ctx) => {
    t.test('a write that fires no trigger is read within RESULTS_CACHE_MS', async (t) => {
      const { page, insertUnnoticed } = await setUp(t, ctx);
      const before = await page();
      const row = await insertUnnoticed();
      t.same(await page(), before, 'remembered until RESULTS_CACHE_MS has passed');
      await new Promise((resolve) => setTimeout(resolve, SHORT_MS + 50));
      const after = await page();
      t.equal(after.total, before.total + 1);
      t.ok(after.items.some((item) => item.id === row.id));
    });
  },
  { RESULTS_CACHE_MS: String(SHORT_MS) },
);

/** A load that the test resolves by hand, counting how often it was started. */
function manualLoads<V>() {
  const pending: ((value: V) => void)[] = [];
  return {
    started: () => pending.length,
    load: () => new Promise<V>((resolve) => pending.push(resolve)),
    resolve: (index: number, value: V) => pending[index]!(value),
  };
}

t.test('ReadCache', async (t) => {
  t.test('concurrent asks for one key share one load', async (t) => {
    const database = new WriteGeneration();
    const cache = new ReadCache<number>(database, { ttlMs: 60_000, maxEntries: 10 });
    const loads = manualLoads<number>();
    const asks = Array.from({ length: 20 }, () => cache.get('k', loads.load));
    t.equal(loads.started(), 1);
    loads.resolve(0, 7);
    t.same(await Promise.all(asks), Array(20).fill(7));
    t.equal(await cache.get('k', loads.load), 7, 'then remembered');
    t.equal(loads.started(), 1);
  });

  t.test('a write makes remembered and running loads stale for later asks', async (t) => {
    const database = new WriteGeneration();
    const cache = new ReadCache<string>(database, { ttlMs: 60_000, maxEntries: 10 });
    const loads = manualLoads<string>();
    const early = cache.get('k', loads.load);
    database.advance();
    const late = cache.get('k', loads.load);
    t.equal(loads.started(), 2, 'an ask after the write does not join the load started before it');
    loads.resolve(0, 'before');
    loads.resolve(1, 'after');
    t.equal(await early, 'before');
    t.equal(await late, 'after');
    t.equal(await cache.get('k', loads.load), 'after');
    database.advance();
    void cache.get('k', loads.load);
    t.equal(loads.started(), 3, 'nothing remembered survives a write');
    new WriteGeneration().advance();
    t.equal(loads.started(), 3);
  });

  t.test('another database is another generation', async (t) => {
    const one = new ReadCache<number>(new WriteGeneration(), { ttlMs: 60_000, maxEntries: 10 });
    const otherDatabase = new WriteGeneration();
    const loads = manualLoads<number>();
    const first = one.get('k', loads.load);
    loads.resolve(0, 1);
    await first;
    otherDatabase.advance();
    t.equal(await one.get('k', loads.load), 1);
    t.equal(loads.started(), 1);
  });

  t.test('failures are not remembered', async (t) => {
    const cache = new ReadCache<number>(new WriteGeneration(), { ttlMs: 60_000, maxEntries: 10 });
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error('database gone');
    };
    await t.rejects(cache.get('k', failing), /database gone/);
    await t.rejects(cache.get('k', failing), /database gone/);
    t.equal(calls, 2);
    t.equal(await cache.get('k', async () => 5), 5);
  });

  t.test('expired entries are loaded again', async (t) => {
    const cache = new ReadCache<number>(new WriteGeneration(), { ttlMs: 30, maxEntries: 10 });
    let calls = 0;
    const load = async () => ++calls;
    t.equal(await cache.get('k', load), 1);
    t.equal(await cache.get('k', load), 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.equal(await cache.get('k', load), 2);
  });

  t.test('ttlMs 0 remembers and shares nothing', async (t) => {
    const cache = new ReadCache<number>(new WriteGeneration(), { ttlMs: 0, maxEntries: 10 });
    let calls = 0;
    const load = async () => ++calls;
    t.same(await Promise.all([cache.get('k', load), cache.get('k', load)]), [1, 2]);
  });

  t.test('bounded by entries and by weight, least recently used first', async (t) => {
    const cache = new ReadCache<string>(new WriteGeneration(), {
      ttlMs: 60_000,
      maxEntries: 2,
      maxWeight: 10,
      weigh: (value) => value.length,
    });
    let calls = 0;
    const load = (value: string) => async () => {
      calls += 1;
      return value;
    };
    await cache.get('a', load('aaaa'));
    await cache.get('b', load('bbbb'));
    await cache.get('a', load('aaaa')); // a is now the most recently used
    await cache.get('c', load('cc')); // over 2 entries: b goes
    t.equal(calls, 3);
    await cache.get('a', load('aaaa'));
    t.equal(calls, 3, 'a stayed');
    await cache.get('b', load('bbbb'));
    t.equal(calls, 4, 'b was evicted');
    await cache.get('huge', load('x'.repeat(11)));
    await cache.get('huge', load('x'.repeat(11)));
    t.equal(calls, 6, 'a value heavier than maxWeight is never remembered');
  });
});
