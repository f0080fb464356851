// Walking results pages along their `Link: <…>; rel="next"` header, whose
// `after` cursor starts each page just after the last result of the one
// before (src/results/page-cursor.ts, src/db/results-query.ts): on PGlite
// and on PostgreSQL, every order a list takes — columns, JSON paths with
// missing and mixed values, ties down to the microsecond — visits exactly the
// results the numbered pages show, with the same envelopes; results uploaded
// or deleted during a walk neither repeat nor skip any; the link keeps the
// request as written; and a cursor that is not one of this sort is a 422.
import t from 'tap';
import { adminPersona, createTestContext, eachDatabase, json, persona, type Test, type TestContext } from './helpers/app.js';
import { assertError, ids } from './helpers/assertions.js';
import type { Page, Result } from './helpers/contract.js';
import { fixtures, uniqueDashed } from './helpers/fixtures.js';

/** The URL of `rel="next"` in a Link header, path and query only (as `app.inject` takes it). */
function nextUrl(link: string | string[] | number | undefined): string | undefined {
  if (link === undefined) return undefined;
  const match = /^<([^>]*)>; rel="next"$/.exec(String(link));
  if (!match?.[1]) throw new Error(`not a next link: ${String(link)}`);
  const url = new URL(match[1], 'http://relative.invalid');
  return `${url.pathname}${url.search}`;
}

function cursorOf(url: string): string {
  return new URL(url, 'http://x').searchParams.get('after') ?? '';
}

function cursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app } = ctx;
  const prisma = ctx.db.prisma;
  const admin = adminPersona('cursor-admin');
  const owner = persona('cursor-owner');
  await ctx.register(admin);
  await ctx.register(owner);
  const fx = fixtures(ctx, admin, owner);
  const image = uniqueDashed('walk');
  const a = await fx.world({}, { image: `${image}/a`, siteName: uniqueDashed('site-b'), flavorName: 'zeta' });
  const b = await fx.world({}, { image: `${image}/b`, siteName: uniqueDashed('site-a'), flavorName: 'alpha' });
  const tag = await fx.tag();

  // JSON values of every kind at `score` (numbers with ties, strings, null,
  // missing, objects), execution times with ties, and a run of results apart
  // only by microseconds, which the API's millisecond dates do not show.
  const scores = [3, 1.5, -2, 3, 'fast', null, undefined, { at: 1 }, [2], 1e2, true, 'slow', 0];
  const rows = Array.from({ length: 130 }, (_, i) => {
    const world = i % 3 === 0 ? b : a;
    const score = scores[i % scores.length];
    return {
      json: score === undefined ? { other: i } : { score, i },
      execution_datetime: new Date(Date.UTC(2024, 0, 1, 0, i % 17)),
      benchmark_id: world.benchmark.id,
      site_id: world.site.id,
      flavor_id: world.flavor.id,
      uploader_sub: owner.sub,
      uploader_iss: ctx.oidc.issuer,
    };
  });
  await prisma.result.createMany({ data: rows });
  for (const micro of ['000001', '000002', '000003', '000004']) {
    await prisma.$executeRaw`
      INSERT INTO results (id, json, execution_datetime, benchmark_id, site_id, flavor_id, uploader_sub, uploader_iss)
      VALUES (gen_random_uuid(), '{"score": 7}'::jsonb, ${`2024-01-01T00:03:00.${micro}Z`}::timestamptz, ${a.benchmark.id}::uuid,
              ${a.site.id}::uuid, ${a.flavor.id}::uuid, ${owner.sub}, ${ctx.oidc.issuer})`;
  }
  const questioned = await fx.tag(uniqueDashed('why?not'));
  const tagged = await prisma.result.findMany({ where: { benchmark_id: b.benchmark.id }, select: { id: true }, take: 20 });
  await prisma.resultTag.createMany({
    data: tagged.flatMap((row) => [tag, questioned].map((each) => ({ result_id: row.id, tag_id: each.id }))),
  });
  const mine = `benchmark_id=${a.benchmark.id}`;
  const both = `terms=${image}`;

  async function get(t: Test, url: string, headers: Record<string, string> = {}) {
    const response = await app.inject({ url, headers });
    t.equal(response.statusCode, 200, `${url}: ${response.body.slice(0, 300)}`);
    return { page: json<Page<Result>>(response), next: nextUrl(response.headers.link) };
  }

  /** Every page by number, then every page along the links from the first: both, as the client saw them. */
  async function bothWays(t: Test, url: string, headers: Record<string, string> = {}) {
    const numbered: Page<Result>[] = [];
    for (let page = 1; ; page += 1) {
      const { page: answer } = await get(t, `${url}&page=${page}`, headers);
      numbered.push(answer);
      if (!answer.has_next) break;
    }
    const linked: Page<Result>[] = [];
    const links: string[] = [];
    let next: string | undefined = url;
    while (next !== undefined) {
      const answer = await get(t, next, headers);
      linked.push(answer.page);
      next = answer.next;
      if (next !== undefined) links.push(next);
      if (linked.length > numbered.length + 2) throw new Error('the links do not end');
    }
    return { numbered, linked, links };
  }

  const orders: [string, string][] = [
    ['the default order (execution, then id)', `/results?${mine}&per_page=9`],
    ['a descending date', `/results?${mine}&per_page=10&sort_by=-upload_datetime`],
    ['joined columns in both directions', `/results:search?${both}&per_page=11&sort_by=%2Bsite_name,-flavor_name,-execution_datetime`],
    ['a JSON path descending: numbers, then other values, then missing', `/results:search?${both}&per_page=8&sort_by=-json.score`],
    ['a JSON path ascending after a column', `/results:search?${both}&per_page=12&sort_by=%2Bbenchmark_name,%2Bjson.score`],
    [
      'JSON filters (counted with the page)',
      `/results?${mine}&per_page=5&filters=${encodeURIComponent('score > 0')}&sort_by=%2Bjson.score`,
    ],
    ['tags', `/results?tags_ids=${tag.id}&per_page=6&sort_by=-execution_datetime`],
    ['summaries (embed=false)', `/results?${mine}&per_page=13&embed=false&sort_by=%2Bsite_id,%2Bid`],
    ['one result per page', `/results?benchmark_id=${b.benchmark.id}&per_page=1&sort_by=-json.score`],
  ];
  for (const [name, url] of orders) {
    t.test(`${name}: the links visit what the numbered pages show, with their envelopes`, async (t) => {
      const { numbered, linked } = await bothWays(t, url);
      t.ok(numbered.length > 2, `several pages (${numbered.length})`);
      t.same(linked.map(ids), numbered.map(ids), 'the same results on the same pages');
      const envelope = ({ items: _, ...rest }: Page<Result>) => rest;
      t.same(linked.map(envelope), numbered.map(envelope), 'the same page numbers, totals and neighbours');
      const all = numbered.flatMap(ids);
      t.equal(new Set(all).size, all.length, 'no result twice');
      t.equal(all.length, numbered[0]?.total, 'every result once');
    });
  }

  t.test('your own results, hidden ones included, along the links', async (t) => {
    const headers = await ctx.auth(owner);
    const { numbered, linked } = await bothWays(t, `/users/self/results?${mine}&per_page=20&sort_by=-json.score`, headers);
    t.same(linked.map(ids), numbered.map(ids));
  });

  t.test('results uploaded or deleted during a walk: none repeats, none is skipped', async (t) => {
    const url = `/results?benchmark_id=${b.benchmark.id}&per_page=7`;
    const before = (await bothWays(t, url)).numbered.flatMap(ids);
    const seen: string[] = [];
    let next: string | undefined = url;
    let last: Page<Result> | undefined;
    while (next !== undefined) {
      const answer = await get(t, next);
      seen.push(...ids(answer.page));
      next = answer.next;
      last = answer.page;
      if (seen.length === 7) {
        // Earlier than every result: the numbered pages would all shift by one.
        await prisma.result.create({
          data: { ...rows[0]!, benchmark_id: b.benchmark.id, site_id: b.site.id, flavor_id: b.flavor.id, execution_datetime: new Date(0) },
        });
        // The first page's results go away, the one the next page starts after among them:
        // the total shrinks by a page, and the walk must still reach the end.
        for (const id of seen) {
          const response = await app.inject({ method: 'DELETE', url: `/results/${id}`, headers: await ctx.auth(admin) });
          t.equal(response.statusCode, 204);
        }
      }
    }
    t.same(seen, before, 'exactly the results there were, in order, once each');
    t.ok(last && last.page > last.pages, `linked past the last page by number (${last?.page} of ${last?.pages}) while results followed`);
  });

  t.test('the link: the request as written, page and after set anew; none on the last page', async (t) => {
    const filters = `filters=${encodeURIComponent('score >= 1')}`;
    const response = await app.inject({
      url: `/results?${mine}&${filters}&sort_by=%2Bjson.score&per_page=3&page=1`,
      headers: { host: 'perf.example.org:8443' },
    });
    const link = String(response.headers.link);
    t.match(link, /^<http:\/\/perf\.example\.org:8443\/results\?/, 'absolute, on the host the client asked');
    t.ok(link.includes(`&${filters}&sort_by=%2Bjson.score&per_page=3&page=2&after=`), link);
    t.match(link, /; rel="next"$/);

    const last = await app.inject({ url: `/results?${mine}&per_page=100` });
    t.equal(last.statusCode, 200);
    t.equal(last.headers.link, undefined, 'one page only: no next');

    for (const [name, written] of [
      ['page[]', 'page%5B%5D=1'],
      ['page with an escaped letter', 'pag%65=1'],
    ] as const) {
      // A search term with a `?` in it, written as is: a tag's name.
      const odder = await app.inject({ url: `/results:search?terms=${questioned.name}&${written}&per_page=1&sort_by=-id` });
      t.equal(odder.statusCode, 200, odder.body.slice(0, 200));
      const kept = nextUrl(odder.headers.link) ?? '';
      t.ok(kept.startsWith(`/results:search?terms=${questioned.name}&per_page=1&sort_by=-id&page=2&after=`), `${name}: ${kept}`);
    }

    const fromPage = await app.inject({ url: `/results?${mine}&per_page=3`, headers: { origin: 'https://eosc.example.org' } });
    t.match(String(fromPage.headers['access-control-expose-headers']), /\bLink\b/, "a web page's script may read it");

    const odd = await app.inject({ url: `/results?${mine}&per_page=3`, headers: { host: 'a>b' } });
    t.match(String(odd.headers.link), /^<\/results\?/, 'a Host no host has: a link relative to the request');

    const remembered = await app.inject({ url: `/results?${mine}&per_page=3` });
    t.ok(nextUrl(remembered.headers.link), 'a remembered page links too');

    const notModified = await app.inject({
      url: `/results?${mine}&per_page=3`,
      headers: { 'if-none-match': String(remembered.headers.etag) },
    });
    t.equal(notModified.statusCode, 304);
  });

  t.test('sort values no cursor can hold: the link names the next page by its number', async (t) => {
    const c = await fx.world({}, { image: `${image}/c` });
    const insert = (json: unknown, execution: string) => prisma.$executeRaw`
      INSERT INTO results (id, json, execution_datetime, benchmark_id, site_id, flavor_id, uploader_sub, uploader_iss)
      VALUES (gen_random_uuid(), ${JSON.stringify(json)}::jsonb, ${execution}::timestamptz, ${c.benchmark.id}::uuid,
              ${c.site.id}::uuid, ${c.flavor.id}::uuid, ${owner.sub}, ${ctx.oidc.issuer})`;
    let deep: unknown = 'bottom';
    for (let i = 0; i < 300; i += 1) deep = [deep];
    await insert({ v: 'x'.repeat(7000) }, '2020-01-01T00:00:00Z');
    await insert({ v: 'y'.repeat(7000) }, '2020-01-02T00:00:00Z');
    await insert({ v: deep }, '0002-06-01T00:00:00Z BC');
    await insert({ v: '\\u0000 is six characters' }, '2020-01-03T00:00:00Z');
    await insert({ v: 'z' }, '2020-01-04T00:00:00Z');
    const scope = `/results?benchmark_id=${c.benchmark.id}&per_page=1`;

    const first = await get(t, scope);
    t.match(first.next ?? '', /&page=2$/, 'after a date before year 1: the next page by its number, no cursor');
    for (const [name, sort] of [
      ['strings of 7 000 characters (a cursor longer than after may be)', '%2Bjson.v'],
      ['nested 300 deep, escaped backslashes: read back', '-json.v'],
    ] as const) {
      const { numbered, linked, links } = await bothWays(t, `${scope}&sort_by=${sort}`);
      t.same(linked.map(ids), numbered.map(ids), name);
      t.equal(numbered.length, 5);
      const long = (page: Page<Result> | undefined) => (page?.items[0]?.json as { v?: unknown } | undefined)?.v?.toString().length === 7000;
      t.same(
        links.map((link) => /&page=\d+$/.test(link)),
        links.map((_, index) => long(numbered[index])),
        `${name}: the pages that end on a long string link to the next by its number alone`,
      );
    }
  });

  t.test('the cursor decides where a page starts, the page number only what the envelope says', async (t) => {
    const first = await get(t, `/results?${mine}&per_page=2`);
    const next = first.next ?? '';
    const far = await get(t, next.replace('&page=2&', '&page=3000000&'));
    t.equal(far.page.page, 3000000, 'the page number is the one asked');
    t.same(ids(far.page), ids((await get(t, next)).page), 'the items are those after the cursor');
    t.match(far.next ?? '', /&page=3000001&after=/, 'results follow: linked on, however the numbers look');
  });

  t.test('422: an after that is not a cursor of this sort', async (t) => {
    const url = `/results?${mine}&per_page=3`;
    const next = (await get(t, url)).next ?? '';
    const good = cursorOf(next);
    const [tagOf] = JSON.parse(Buffer.from(good, 'base64url').toString()) as [string];
    const cases: [string, string][] = [
      ['not base64url JSON', 'bm90IGpzb24'],
      ['not an array', cursor({ a: 1 })],
      ['too few values', cursor([tagOf, '2024-01-01T00:00:00.000000Z'])],
      ['too many values', cursor([tagOf, '2024-01-01T00:00:00.000000Z', 'x', 'y'])],
      ['a number where the order tag goes', cursor([1, '2024-01-01T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000'])],
      ['an impossible date', cursor([tagOf, '2023-02-31T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000'])],
      ['a date to the millisecond only', cursor([tagOf, '2023-02-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000'])],
      ['the hour 24', cursor([tagOf, '2023-02-01T24:00:00.000000Z', '00000000-0000-4000-8000-000000000000'])],
      ['a bad id', cursor([tagOf, '2023-02-01T00:00:00.000000Z', 'not-a-uuid'])],
      ['a null date', cursor([tagOf, null, '00000000-0000-4000-8000-000000000000'])],
    ];
    for (const [name, after] of cases) {
      const body = assertError(t, await app.inject({ url: `${url}&after=${after}` }), 422);
      t.match(body.message, /^after: /, name);
    }
    const other = await app.inject({ url: `/results?${mine}&per_page=3&sort_by=-execution_datetime&after=${good}` });
    t.match(assertError(t, other, 422).message, /another sort_by/, 'made for another order');

    const scoreUrl = `/results?${mine}&per_page=3&sort_by=-json.score`;
    const scoreTag = (JSON.parse(Buffer.from(cursorOf((await get(t, scoreUrl)).next ?? ''), 'base64url').toString()) as [string])[0];
    const id = '00000000-0000-4000-8000-000000000000';
    const jsonCases: [string, unknown[]][] = [
      ['a number written with an exponent', ['1e5', '1e5', id]],
      ['JSON that does not parse', [null, '{"a":', id]],
      ['a NUL in a JSON string', [null, '"a\\u0000b"', id]],
      ['a lone surrogate in a JSON string', [null, '"\\ud800"', id]],
      ['a number beyond numeric', [null, '[1e99999]', id]],
      ['JSON nested past 512', [null, `${'['.repeat(513)}${']'.repeat(513)}`, id]],
    ];
    for (const [name, values] of jsonCases) {
      const body = assertError(t, await app.inject({ url: `${scoreUrl}&after=${cursor([scoreTag, ...values])}` }), 422);
      t.match(body.message, /^after: /, name);
    }
    for (const [name, values] of [
      ['a very long number', [`${'9'.repeat(1000)}.5`, `${'9'.repeat(1000)}.5`, id]],
      ['JSON nested 512 deep', [null, `${'['.repeat(512)}${']'.repeat(512)}`, id]],
      ['a missing value', [null, null, id]],
    ] as [string, unknown[]][]) {
      const response = await app.inject({ url: `${scoreUrl}&after=${cursor([scoreTag, ...values])}` });
      t.equal(response.statusCode, 200, `${name}: read as given, ${response.body.slice(0, 200)}`);
    }
    for (const [name, after] of [
      ['not base64url', 'a+b/c='],
      ['too long', 'a'.repeat(8193)],
    ] as const) {
      t.match(assertError(t, await app.inject({ url: `${url}&after=${encodeURIComponent(after)}` }), 422).message, /after/, name);
    }
  });
});

t.test('behind a proxy: the link starts with PUBLIC_URL, the path under API_PREFIX kept once', async (t) => {
  const ctx = await createTestContext(t, 'pglite', { API_PREFIX: '/api/v1', PUBLIC_URL: 'https://perf.example.org/api/v1/' });
  if (!ctx) throw new Error('PGlite always opens');
  const owner = persona('proxied-owner');
  await ctx.register(owner);
  const empty = await ctx.app.inject({ url: '/api/v1/results?per_page=1' });
  t.equal(empty.statusCode, 200);
  t.equal(empty.headers.link, undefined, 'nothing uploaded: no next page');
  // Written straight into the database: the fixtures speak the unprefixed API.
  const prisma = ctx.db.prisma;
  const uploader = { uploader_sub: owner.sub, uploader_iss: ctx.oidc.issuer };
  const benchmark = await prisma.benchmark.create({ data: { docker_image: 'proxied/b', docker_tag: '1', json_schema: {}, ...uploader } });
  const site = await prisma.site.create({ data: { name: uniqueDashed('proxied'), address: 'here', ...uploader } });
  const flavor = await prisma.flavor.create({ data: { site_id: site.id, name: 'f', ...uploader } });
  const result = {
    json: {},
    execution_datetime: new Date(),
    benchmark_id: benchmark.id,
    site_id: site.id,
    flavor_id: flavor.id,
    ...uploader,
  };
  await prisma.result.createMany({ data: [result, result] });

  const first = await ctx.app.inject({ url: '/api/v1/results?per_page=1', headers: { host: 'internal:5000' } });
  t.match(
    String(first.headers.link),
    /^<https:\/\/perf\.example\.org\/api\/v1\/results\?per_page=1&page=2&after=[A-Za-z0-9_-]+>; rel="next"$/,
  );
  const second = await ctx.app.inject({ url: nextUrl(first.headers.link) ?? '' });
  t.equal(second.statusCode, 200, 'followed through the prefix');
  t.equal(json<Page<Result>>(second).page, 2);
  t.equal(second.headers.link, undefined, 'the last page');
});
