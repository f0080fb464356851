// The `benchmarks` tag, operation by operation, one named case per status
// code, on PGlite and on PostgreSQL; then the same create/update operations
// with IMAGE_REGISTRY pointing at a fake registry (test/helpers/registry.ts).
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { adminPersona, eachDatabase, json, persona, type Persona, type Test as Tap, type TestContext } from './helpers/app.js';
import { assertError, assertPageResponse, ids } from './helpers/assertions.js';
import { BENCHMARK_KEYS, type Benchmark, type Benchmarks, type ErrorBody } from './helpers/contract.js';
import { UNKNOWN_ID, uniqueDashed } from './helpers/fixtures.js';
import { MANIFEST_UNKNOWN_MESSAGE, startFakeRegistry } from './helpers/registry.js';
import { seeder } from './helpers/seed.js';

const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';
const DRAFT_2019 = 'https://json-schema.org/draft/2019-09/schema';
const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';

function assertBenchmark(t: Tap, body: unknown): Benchmark {
  const benchmark = body as Benchmark;
  t.same(Object.keys(benchmark).sort(), BENCHMARK_KEYS, 'exactly the keys of Benchmark');
  t.match(benchmark.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.ok(!Number.isNaN(Date.parse(benchmark.upload_datetime)), 'upload_datetime is a date-time');
  t.match(benchmark.upload_datetime, /Z$|[+-]\d{2}:\d{2}$/, 'with a zone');
  t.type(benchmark.json_schema, 'object');
  t.type(benchmark.description, 'string');
  t.ok(benchmark.url === null || typeof benchmark.url === 'string');
  t.ok(['approved', 'on_review'].includes(benchmark.status));
  return benchmark;
}

/** A 200 page of benchmarks, each with exactly the keys of Benchmark. */
function benchmarkPage(t: Tap, response: LightMyRequestResponse): Benchmarks {
  return assertPageResponse<Benchmark>(t, response, BENCHMARK_KEYS);
}

/** The stored row, as the API would render it. */
async function stored(ctx: TestContext, id: string): Promise<Benchmark | null> {
  const row = await ctx.db.prisma.benchmark.findUnique({ where: { id } });
  if (!row) return null;
  return {
    id: row.id,
    upload_datetime: row.upload_datetime.toISOString(),
    docker_image: row.docker_image,
    docker_tag: row.docker_tag,
    url: row.url,
    json_schema: row.json_schema as Record<string, unknown>,
    description: row.description,
    status: row.status,
  };
}

function submitsOf(ctx: TestContext, id: string): Promise<number> {
  return ctx.db.prisma.submit.count({ where: { benchmark_id: id } });
}

function countImage(ctx: TestContext, image: string): Promise<number> {
  return ctx.db.prisma.benchmark.count({ where: { docker_image: image } });
}

function query(params: Record<string, string | number | (string | number)[]>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const one of [value].flat()) search.append(key, String(one));
  }
  return search.toString();
}

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app } = ctx;
  const user = persona('bench-user');
  const other = persona('bench-other');
  const admin = adminPersona('bench-admin');
  const stranger = persona('bench-stranger'); // a valid token, never registered
  await ctx.register(user);
  await ctx.register(other);
  await ctx.register(admin);

  async function post(body: unknown, who: Persona = user): Promise<LightMyRequestResponse> {
    return app.inject({ method: 'POST', url: '/benchmarks', headers: await ctx.auth(who), payload: body as Record<string, unknown> });
  }
  async function create(fields: Partial<Benchmark> & { docker_image: string }, who: Persona = user): Promise<Benchmark> {
    const response = await post({ docker_tag: 'latest', json_schema: {}, ...fields }, who);
    if (response.statusCode !== 201) throw new Error(`create ${fields.docker_image}: ${response.statusCode} ${response.body}`);
    return json<Benchmark>(response);
  }
  async function approve(id: string): Promise<void> {
    const response = await app.inject({ method: 'POST', url: `/benchmarks/${id}:approve`, headers: await ctx.auth(admin) });
    if (response.statusCode !== 204) throw new Error(`approve ${id}: ${response.statusCode} ${response.body}`);
  }
  async function createApproved(fields: Partial<Benchmark> & { docker_image: string }): Promise<Benchmark> {
    const benchmark = await create(fields);
    await approve(benchmark.id);
    return { ...benchmark, status: 'approved' };
  }
  async function put(id: string, body: unknown, who: Persona = admin): Promise<LightMyRequestResponse> {
    return app.inject({ method: 'PUT', url: `/benchmarks/${id}`, headers: await ctx.auth(who), payload: body as Record<string, unknown> });
  }

  t.test('ListBenchmarks GET /benchmarks', async (t) => {
    t.test('200 anonymous: only approved benchmarks by default, exact docker_image/docker_tag filters', async (t) => {
      const image = uniqueDashed('list');
      const approved = await createApproved({ docker_image: image, docker_tag: 'v1', description: 'approved one' });
      const waiting = await create({ docker_image: image, docker_tag: 'v2' });
      await createApproved({ docker_image: `${image}-longer`, docker_tag: 'v1' });

      const page = benchmarkPage(t, await app.inject({ url: `/benchmarks?${query({ docker_image: image })}` }));
      t.same(ids(page), [approved.id], 'the on_review one is not listed');
      t.same(page.items[0], approved, 'the item is the Benchmark as created, now approved');
      t.match(page, { total: 1, page: 1, pages: 1, per_page: 100, has_next: false, has_prev: false, next_num: null, prev_num: null });

      const explicit = benchmarkPage(t, await app.inject({ url: `/benchmarks?${query({ docker_image: image, status: 'approved' })}` }));
      t.same(ids(explicit), [approved.id], 'status=approved is the default');

      const onReview = benchmarkPage(t, await app.inject({ url: `/benchmarks?${query({ docker_image: image, status: 'on_review' })}` }));
      t.same(ids(onReview), [waiting.id], 'status=on_review lists the others');
      t.equal(onReview.items[0]?.status, 'on_review');

      const byTag = benchmarkPage(t, await app.inject({ url: `/benchmarks?${query({ docker_image: image, docker_tag: 'v1' })}` }));
      t.same(ids(byTag), [approved.id]);
      const noTag = benchmarkPage(t, await app.inject({ url: `/benchmarks?${query({ docker_image: image, docker_tag: 'v' })}` }));
      t.same(noTag.items, [], 'docker_tag is exact, not a prefix');
      const prefix = benchmarkPage(t, await app.inject({ url: `/benchmarks?${query({ docker_image: image.slice(0, -1) })}` }));
      t.same(prefix.items, [], 'docker_image is exact, not a prefix');
    });

    t.test('200 pagination: envelope fields, last page, a page past the end', async (t) => {
      const image = uniqueDashed('pages');
      const made: Benchmark[] = [];
      for (const tag of ['t1', 't2', 't3', 't4', 't5']) made.push(await createApproved({ docker_image: image, docker_tag: tag }));
      const url = (page: number) => `/benchmarks?${query({ docker_image: image, per_page: 2, page, sort_by: '+docker_tag' })}`;

      const first = benchmarkPage(t, await app.inject({ url: url(1) }));
      t.same(ids(first), [made[0]!.id, made[1]!.id]);
      t.match(first, { total: 5, page: 1, pages: 3, per_page: 2, has_next: true, has_prev: false, next_num: 2, prev_num: null });
      const second = benchmarkPage(t, await app.inject({ url: url(2) }));
      t.same(ids(second), [made[2]!.id, made[3]!.id]);
      t.match(second, { total: 5, page: 2, pages: 3, has_next: true, has_prev: true, next_num: 3, prev_num: 1 });
      const last = benchmarkPage(t, await app.inject({ url: url(3) }));
      t.same(ids(last), [made[4]!.id]);
      t.match(last, { total: 5, page: 3, pages: 3, has_next: false, has_prev: true, next_num: null, prev_num: 2 });
      const past = benchmarkPage(t, await app.inject({ url: url(4) }));
      t.same(past.items, [], 'a page past the end is empty, not an error');
      t.match(past, { total: 5, page: 4, pages: 3, per_page: 2, has_next: false, next_num: null });

      const far = await app.inject({ url: `/benchmarks?${query({ docker_image: image, page: 1_000_000_000 })}` });
      t.equal(far.statusCode, 200, `the last allowed page: ${far.body}`);
      t.same(json<Benchmarks>(far).items, []);

      const empty = benchmarkPage(t, await app.inject({ url: `/benchmarks?${query({ docker_image: uniqueDashed('nothing') })}` }));
      t.match(empty, { items: [], total: 0, page: 1, pages: 0, has_next: false, has_prev: false, next_num: null, prev_num: null });
    });

    t.test('422 for a page number past the spec maximum (1e9), never 500', async (t) => {
      for (const page of [2 ** 31, 2 ** 53 - 1, `1${'0'.repeat(20)}`]) {
        const response = await app.inject({ url: `/benchmarks?${query({ docker_image: uniqueDashed('huge'), page })}` });
        t.equal(response.statusCode, 422, `page=${page}: ${response.body}`);
      }
    });

    t.test('200 sort_by each field, both directions, and several fields', async (t) => {
      const image = uniqueDashed('sort');
      // Tags chosen so that tag order, creation order and id order all differ.
      const made: Benchmark[] = [];
      for (const tag of ['b', 'd', 'a', 'c']) made.push(await createApproved({ docker_image: image, docker_tag: tag }));
      const list = async (sortBy: string) =>
        ids(benchmarkPage(t, await app.inject({ url: `/benchmarks?${query({ docker_image: image, sort_by: sortBy })}` })));
      const by = (compare: (a: Benchmark, b: Benchmark) => number) => [...made].sort(compare).map((b) => b.id);
      const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

      t.same(
        await list('+docker_tag'),
        by((a, b) => text(a.docker_tag, b.docker_tag)),
        '+docker_tag',
      );
      t.same(
        await list('-docker_tag'),
        by((a, b) => text(b.docker_tag, a.docker_tag)),
        '-docker_tag',
      );
      t.same(
        await list('+id'),
        by((a, b) => text(a.id, b.id)),
        '+id',
      );
      t.same(
        await list('-id'),
        by((a, b) => text(b.id, a.id)),
        '-id',
      );
      t.same(
        await list('+upload_datetime'),
        made.map((b) => b.id),
        '+upload_datetime is creation order',
      );
      t.same(
        await list('-upload_datetime'),
        [...made].reverse().map((b) => b.id),
        '-upload_datetime',
      );
      // A single image: docker_image ties, the id tie-breaker decides.
      t.same(
        await list('+docker_image'),
        by((a, b) => text(a.id, b.id)),
        '+docker_image ties break on id',
      );
    });

    t.test('200 sort_by docker_image both directions and by several fields (through :search)', async (t) => {
      const token = uniqueDashed('multi');
      const spec: [string, string][] = [
        [`${token}-b`, 'x1'],
        [`${token}-a`, 'x1'],
        [`${token}-b`, 'x2'],
        [`${token}-a`, 'x2'],
      ];
      const made = new Map<string, string>();
      for (const [image, tag] of spec) made.set(`${image}:${tag}`, (await createApproved({ docker_image: image, docker_tag: tag })).id);
      const order = async (sortBy: string) => {
        const page = benchmarkPage(t, await app.inject({ url: `/benchmarks:search?${query({ terms: token, sort_by: sortBy })}` }));
        return page.items.map((b) => `${b.docker_image.slice(-1)}:${b.docker_tag}`);
      };
      t.same(await order('+docker_image,+docker_tag'), ['a:x1', 'a:x2', 'b:x1', 'b:x2']);
      t.same(await order('+docker_image,-docker_tag'), ['a:x2', 'a:x1', 'b:x2', 'b:x1']);
      t.same(await order('-docker_image,+docker_tag'), ['b:x1', 'b:x2', 'a:x1', 'a:x2']);
      t.same(await order('-docker_tag,-docker_image'), ['b:x2', 'a:x2', 'b:x1', 'a:x1']);
      t.same(await order('-upload_datetime'), ['a:x2', 'b:x2', 'a:x1', 'b:x1']);
      const defaultOrder = await order('');
      t.same(
        defaultOrder.map((x) => x[0]),
        ['a', 'a', 'b', 'b'],
        'default +docker_image',
      );
      const unsorted = benchmarkPage(t, await app.inject({ url: `/benchmarks:search?${query({ terms: token })}` }));
      t.same(
        unsorted.items.map((b) => b.docker_image.slice(-1)),
        ['a', 'a', 'b', 'b'],
        'without sort_by: +docker_image',
      );
    });

    t.test('200 upload_before / upload_after with dates and date-times', async (t) => {
      const image = uniqueDashed('dates');
      const made = await createApproved({ docker_image: image });
      const at = Date.parse(made.upload_datetime);
      const iso = (ms: number) => new Date(ms).toISOString();
      const day = (ms: number) => iso(ms).slice(0, 10);
      const found = async (params: Record<string, string>) => {
        const response = await app.inject({ url: `/benchmarks?${query({ docker_image: image, ...params })}` });
        return benchmarkPage(t, response).items.length === 1;
      };
      t.ok(await found({ upload_after: iso(at - 60_000) }), 'after a minute before');
      t.notOk(await found({ upload_after: iso(at + 60_000) }), 'not after a minute later');
      t.ok(await found({ upload_before: iso(at + 60_000) }), 'before a minute later');
      t.notOk(await found({ upload_before: iso(at - 60_000) }), 'not before a minute before');
      t.ok(await found({ upload_after: iso(at - 60_000), upload_before: iso(at + 60_000) }), 'within a range');
      t.ok(await found({ upload_after: day(at - 86_400_000) }), 'after yesterday (date form)');
      t.ok(await found({ upload_before: day(at + 2 * 86_400_000) }), 'before the day after tomorrow (date form)');
      t.notOk(await found({ upload_before: '2000-01-01' }), 'not before 2000 (date form)');
      t.ok(await found({ upload_after: '2000-01-01T00:00:00' }), 'date-time without zone is UTC');
      t.ok(await found({ upload_after: '2000-01-01 10:00' }), 'date-time with a space');
      t.ok(await found({ upload_after: '2000-01-01T00:00:00+02:00' }), 'date-time with an offset (+ encoded as %2B)');
      t.ok(await found({ upload_after: '2000-01-01T00:00:00.123456Z' }), 'fractional seconds');
      const tz = iso(at + 60_000).replace('Z', '+00:00');
      t.notOk(await found({ upload_after: tz }), 'offset +00:00 compares as UTC');
    });

    // Shared module: src/lists/dates.ts parseDate hands "+02" to new Date(), which rejects it.
    t.test('200 upload_after with an hour-only offset (+02), which the spec pattern allows', async (t) => {
      const response = await app.inject({ url: `/benchmarks?${query({ upload_after: '2000-01-01T00:00:00+02' })}` });
      t.equal(response.statusCode, 200, `dates.ts parseDate: new Date() rejects "+02": ${response.body}`);
    });

    t.test('422 for a scalar filter given twice; 200 for the bracket form with one value', async (t) => {
      const image = uniqueDashed('brackets');
      const made = await createApproved({ docker_image: image });
      assertError(t, await app.inject({ url: `/benchmarks?docker_image=${image}&docker_image=other` }), 422);
      const one = benchmarkPage(t, await app.inject({ url: `/benchmarks?docker_image[]=${image}` }));
      t.same(ids(one), [made.id], 'a one-item list is the value');
    });

    t.test('422 for invalid query parameters, and an unknown one', async (t) => {
      const cases: [string, string][] = [
        ['sort_by=%2Bnope', 'unknown sort field'],
        ['sort_by=docker_image', 'missing sign'],
        ['sort_by=%2Bdocker_image,docker_tag', 'missing sign on the second field'],
        ['sort_by=%2Bdocker_image,', 'empty sort field'],
        ['sort_by=%2Bjson.a', 'json paths are for results only'],
        ['sort_by=%2Bdescription', 'not a sort field of benchmarks'],
        ['per_page=0', 'per_page below 1'],
        ['per_page=101', 'per_page above 100'],
        ['page=0', 'page below 1'],
        ['page=two', 'page not a number'],
        ['status=rejected', 'unknown status'],
        ['upload_before=2023-02-31', 'no such day'],
        ['upload_after=2023-13-01', 'no such month'],
        ['upload_after=yesterday', 'not a date'],
        ['upload_after=2023-01-01T25:00:00Z', 'no such hour'],
        ['colour=blue', 'unknown query parameter'],
        ['terms=x', 'terms is for :search only'],
      ];
      for (const [search, why] of cases) {
        const body = assertError(t, await app.inject({ url: `/benchmarks?${search}` }), 422);
        t.ok(body.message.length > 0, `${why}: ${body.message}`);
      }
      const sort = assertError(t, await app.inject({ url: '/benchmarks?sort_by=%2Bnope' }), 422);
      t.match(sort.message, /nope/, 'names the field');
      const unknown = assertError(t, await app.inject({ url: '/benchmarks?colour=blue' }), 422);
      t.match(JSON.stringify(unknown), /colour/, 'names the parameter');
      const date = assertError(t, await app.inject({ url: '/benchmarks?upload_before=2023-02-31' }), 422);
      t.match(JSON.stringify(date), /upload_before/, 'names the parameter');
    });
  });

  t.test('SearchBenchmarks GET /benchmarks:search', async (t) => {
    const token = uniqueDashed('srch');
    const gpu = await createApproved({ docker_image: `${token}/gpu-bench`, docker_tag: 'cuda12', description: 'Trains a CNN on a GPU' });
    const cpu = await createApproved({
      docker_image: `${token}/cpu-bench`,
      docker_tag: 'v1',
      description: 'Ray tracing on every CPU core',
    });
    const pct = await createApproved({ docker_image: `${token}/pct`, docker_tag: 'v1', description: 'reaches 100% of peak_flops' });
    const slash = await createApproved({ docker_image: `${token}/slash`, docker_tag: 'v1', description: 'a back\\slash here' });
    const hidden = await create({ docker_image: `${token}/hidden-gpu`, docker_tag: 'v1', description: 'GPU too' });
    const search = async (q: string) => ids(benchmarkPage(t, await app.inject({ url: `/benchmarks:search?${q}` }))).sort();
    const sorted = (...list: Benchmark[]) => list.map((b) => b.id).sort();

    t.test('200 one term, matched in image, tag or description; only approved by default', async (t) => {
      t.same(await search(query({ terms: token })), sorted(gpu, cpu, pct, slash), 'in docker_image');
      t.same(await search(query({ terms: [token, 'cuda12'] })), sorted(gpu), 'in docker_tag');
      t.same(await search(query({ terms: [token, 'CNN'] })), sorted(gpu), 'in description');
      t.same(await search(query({ terms: [token, 'GPU'], status: 'on_review' })), sorted(hidden), 'status=on_review');
    });

    t.test('200 several terms: every one must appear (in any field)', async (t) => {
      t.same(await search(query({ terms: [token, 'bench'] })), sorted(gpu, cpu));
      t.same(await search(query({ terms: [token, 'bench', 'GPU'] })), sorted(gpu), 'GPU in the description, bench in the image');
      t.same(await search(query({ terms: [token, 'bench', 'GPU', 'nowhere'] })), [], 'a missing term excludes');
    });

    t.test('200 terms are case-sensitive', async (t) => {
      t.same(await search(query({ terms: [token, 'gpu'] })), sorted(gpu), 'gpu only in the image name of gpu');
      t.same(await search(query({ terms: [token, 'cnn'] })), [], 'CNN is upper case');
    });

    t.test('200 % and _ and \\ are literal characters', async (t) => {
      t.same(await search(query({ terms: [token, '%'] })), sorted(pct), '% is not a wildcard');
      t.same(await search(query({ terms: [token, '100%'] })), sorted(pct));
      t.same(await search(query({ terms: [token, '_'] })), sorted(pct), '_ is not a wildcard');
      t.same(await search(query({ terms: [token, 'peak_flops'] })), sorted(pct));
      t.same(await search(query({ terms: [token, 'peak%flops'] })), [], '% does not match _');
      t.same(await search(query({ terms: [token, '\\'] })), sorted(slash), 'a backslash is literal');
      t.same(await search(query({ terms: [token, 'back\\slash'] })), sorted(slash));
    });

    t.test('200 both array forms: terms=a&terms=b and terms[]=a&terms[]=b', async (t) => {
      const e = encodeURIComponent;
      t.same(await search(`terms=${e(token)}&terms=CNN`), sorted(gpu), 'repeated');
      t.same(await search(`terms[]=${e(token)}&terms[]=CNN`), sorted(gpu), 'brackets');
      t.same(await search(`terms%5B%5D=${e(token)}&terms%5B%5D=CNN`), sorted(gpu), 'encoded brackets');
      t.same(await search(`terms[]=${e(token)}`), sorted(gpu, cpu, pct, slash), 'a single bracketed term');
      t.same(await search(`terms=${e(token)}+${e('CPU')}`), [], '+ is a space inside one term');
    });

    t.test('200 without terms every approved benchmark matches', async (t) => {
      const page = benchmarkPage(t, await app.inject({ url: '/benchmarks:search?per_page=100' }));
      t.ok(page.total >= 4);
      t.ok(page.items.every((b) => b.status === 'approved'));
    });

    t.test('200 with date filters and pagination', async (t) => {
      const page = benchmarkPage(
        t,
        await app.inject({
          url: `/benchmarks:search?${query({ terms: token, upload_after: '2000-01-01', per_page: 3, page: 2, sort_by: '-docker_image' })}`,
        }),
      );
      t.match(page, { total: 4, page: 2, pages: 2, per_page: 3, has_next: false, has_prev: true, prev_num: 1 });
      t.equal(page.items.length, 1);
      const none = benchmarkPage(
        t,
        await app.inject({ url: `/benchmarks:search?${query({ terms: token, upload_before: '2000-01-01' })}` }),
      );
      t.equal(none.total, 0);
    });

    t.test('422 for an unknown or invalid query parameter', async (t) => {
      assertError(t, await app.inject({ url: `/benchmarks:search?${query({ terms: token, docker_image: 'x' })}` }), 422);
      assertError(t, await app.inject({ url: `/benchmarks:search?${query({ terms: token, foo: 'bar' })}` }), 422);
      assertError(t, await app.inject({ url: `/benchmarks:search?${query({ terms: 'x'.repeat(257) })}` }), 422);
      assertError(t, await app.inject({ url: `/benchmarks:search?sort_by=%2Bname` }), 422);
      assertError(t, await app.inject({ url: `/benchmarks:search?upload_after=2023-02-31` }), 422);
    });

    t.test('404 for a custom method that does not exist', async (t) => {
      assertError(t, await app.inject({ url: '/benchmarks:find' }), 404);
    });
  });

  t.test('GetBenchmark GET /benchmarks/{id}', async (t) => {
    t.test('200 anonymous, for an approved and for an on_review benchmark', async (t) => {
      const approved = await createApproved({ docker_image: uniqueDashed('get'), url: 'https://example.org/b', description: 'd' });
      const waiting = await create({ docker_image: uniqueDashed('get') });
      for (const expected of [approved, waiting]) {
        const response = await app.inject({ url: `/benchmarks/${expected.id}` });
        t.equal(response.statusCode, 200, response.body);
        t.same(assertBenchmark(t, json(response)), expected);
        t.same(await stored(ctx, expected.id), expected, 'what is stored');
      }
    });
    t.test('404 for an unknown id', async (t) => {
      const body = assertError(t, await app.inject({ url: `/benchmarks/${UNKNOWN_ID}` }), 404);
      t.match(body.message, UNKNOWN_ID);
    });
    t.test('422 for an id that is not a uuid', async (t) => {
      assertError(t, await app.inject({ url: '/benchmarks/not-a-uuid' }), 422);
    });
  });

  t.test('CreateBenchmark POST /benchmarks', async (t) => {
    t.test('201 minimal: on_review, url null, empty description, a submit report', async (t) => {
      const image = uniqueDashed('create');
      const before = Date.now();
      const response = await post({ docker_image: image, docker_tag: 'latest', json_schema: {} });
      t.equal(response.statusCode, 201, response.body);
      const benchmark = assertBenchmark(t, json(response));
      t.match(benchmark, { docker_image: image, docker_tag: 'latest', url: null, description: '', status: 'on_review', json_schema: {} });
      t.ok(Date.parse(benchmark.upload_datetime) >= before - 5000, 'uploaded now');
      t.same(await stored(ctx, benchmark.id), benchmark, 'stored as answered');
      const row = await ctx.db.prisma.benchmark.findUnique({ where: { id: benchmark.id } });
      t.equal(row?.uploader_sub, user.sub, 'uploader recorded');
      t.equal(row?.uploader_iss, ctx.oidc.issuer);
      const submit = await ctx.db.prisma.submit.findUnique({ where: { benchmark_id: benchmark.id } });
      t.equal(submit?.resource_type, 'benchmark', 'a submit report is opened');
    });

    t.test('201 with url and description', async (t) => {
      const image = uniqueDashed('create');
      const body = {
        docker_image: image,
        docker_tag: 'v1.2.3',
        json_schema: { type: 'object' },
        url: 'https://example.org/benchmark?x=1',
        description: 'Compare cpu perf with multithreaded raytracing',
      };
      const response = await post(body);
      t.equal(response.statusCode, 201, response.body);
      const benchmark = assertBenchmark(t, json(response));
      t.match(benchmark, body);
      t.same(await stored(ctx, benchmark.id), benchmark);
    });

    t.test('201 for each supported json_schema draft, stored as sent', async (t) => {
      const schemas: [string, Record<string, unknown>][] = [
        ['draft-07', { $schema: DRAFT_07, type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }],
        ['draft-07 without #', { $schema: 'http://json-schema.org/draft-07/schema', type: 'object' }],
        ['draft-07 over https', { $schema: 'https://json-schema.org/draft-07/schema#', type: 'object' }],
        ['2019-09', { $schema: DRAFT_2019, type: 'object', $defs: { n: { type: 'number' } }, properties: { n: { $ref: '#/$defs/n' } } }],
        ['2019-09 with #', { $schema: `${DRAFT_2019}#`, type: 'object' }],
        ['2020-12', { $schema: DRAFT_2020, type: 'array', prefixItems: [{ type: 'string' }] }],
        ['2020-12 over http', { $schema: 'http://json-schema.org/draft/2020-12/schema', type: 'object' }],
        ['no $schema (2020-12)', { type: 'object', properties: { start: { type: 'string', format: 'date-time' } } }],
        ['{}', {}],
        [
          'suggestToUser annotations',
          {
            $schema: DRAFT_2019,
            type: 'object',
            properties: {
              machine: { type: 'object', suggestToUser: true, properties: { cpus: { type: 'integer', suggestToUser: 'CPUs' } } },
            },
          },
        ],
        ['an $id', { $id: 'https://example.org/schemas/bench.json', type: 'object' }],
        [
          'the EOSC example',
          {
            $schema: DRAFT_2019,
            type: 'object',
            properties: {
              start_datetime: { description: 'The benchmark start datetime.', type: 'string', format: 'date-time' },
              machine: { type: 'object', properties: { cpus: { type: 'integer' }, ram: { type: 'integer' } }, required: ['cpus', 'ram'] },
            },
            required: ['start_datetime', 'machine'],
          },
        ],
      ];
      for (const [name, schema] of schemas) {
        const response = await post({ docker_image: uniqueDashed('schema'), docker_tag: 'v1', json_schema: schema });
        t.equal(response.statusCode, 201, `${name}: ${response.body}`);
        if (response.statusCode !== 201) continue;
        const benchmark = json<Benchmark>(response);
        t.same(benchmark.json_schema, schema, `${name}: answered as sent`);
        t.same((await stored(ctx, benchmark.id))?.json_schema, schema, `${name}: stored as sent`);
      }
    });

    t.test('201 for another tag of an existing image', async (t) => {
      const image = uniqueDashed('tags');
      await create({ docker_image: image, docker_tag: 'v1' });
      const response = await post({ docker_image: image, docker_tag: 'v2', json_schema: {} });
      t.equal(response.statusCode, 201, response.body);
      t.equal(await countImage(ctx, image), 2);
    });

    t.test('400 for a body that is not JSON, nothing stored', async (t) => {
      const response = await app.inject({
        method: 'POST',
        url: '/benchmarks',
        headers: { ...(await ctx.auth(user)), 'content-type': 'application/json' },
        payload: '{"docker_image": "x", ',
      });
      assertError(t, response, 400);
    });

    t.test('401 without a token, even with an invalid body; nothing stored', async (t) => {
      const image = uniqueDashed('anon');
      assertError(
        t,
        await app.inject({ method: 'POST', url: '/benchmarks', payload: { docker_image: image, docker_tag: 'v1', json_schema: {} } }),
        401,
      );
      assertError(t, await app.inject({ method: 'POST', url: '/benchmarks', payload: { nonsense: true } }), 401);
      assertError(
        t,
        await app.inject({
          method: 'POST',
          url: '/benchmarks',
          headers: { authorization: 'Bearer not.a.jwt' },
          payload: { docker_image: image, docker_tag: 'v1', json_schema: {} },
        }),
        401,
      );
      t.equal(await countImage(ctx, image), 0);
    });

    t.test('403 for a token holder who is not registered; nothing stored', async (t) => {
      const image = uniqueDashed('stranger');
      assertError(t, await post({ docker_image: image, docker_tag: 'v1', json_schema: {} }, stranger), 403);
      t.equal(await countImage(ctx, image), 0);
    });

    t.test('409 when the image and tag exist (on review or approved); nothing more stored', async (t) => {
      const waiting = await create({ docker_image: uniqueDashed('dup'), docker_tag: 'v1' });
      const body = assertError(
        t,
        await post({ docker_image: waiting.docker_image, docker_tag: 'v1', json_schema: { type: 'object' } }, other),
        409,
      );
      t.match(body.message, waiting.docker_image);
      const approved = await createApproved({ docker_image: uniqueDashed('dup'), docker_tag: 'v1' });
      assertError(t, await post({ docker_image: approved.docker_image, docker_tag: 'v1', json_schema: {} }), 409);
      t.equal(await countImage(ctx, waiting.docker_image), 1);
      t.equal(await countImage(ctx, approved.docker_image), 1);
      t.same(await stored(ctx, waiting.id), waiting, 'the first one is untouched');
    });

    t.test('409 for all but one of 20 concurrent identical uploads, never 500, one row', async (t) => {
      const image = uniqueDashed('race');
      const headers = await ctx.auth(user);
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          app.inject({ method: 'POST', url: '/benchmarks', headers, payload: { docker_image: image, docker_tag: 'v1', json_schema: {} } }),
        ),
      );
      const codes = responses.map((r) => r.statusCode).sort();
      t.same(codes, [201, ...Array<number>(19).fill(409)], codes.join(','));
      for (const response of responses.filter((r) => r.statusCode === 409)) t.equal(json<ErrorBody>(response).code, 409);
      t.equal(await countImage(ctx, image), 1, 'one row');
      const row = await ctx.db.prisma.benchmark.findFirst({ where: { docker_image: image } });
      t.equal(await submitsOf(ctx, row?.id ?? UNKNOWN_ID), 1, 'one submit');
      const created = responses.find((r) => r.statusCode === 201);
      t.equal(created && json<Benchmark>(created).id, row?.id, 'the 201 names the stored row');
    });

    t.test('422 for an invalid body; nothing stored', async (t) => {
      const image = uniqueDashed('invalid');
      const cases: [string, Record<string, unknown>][] = [
        ['missing docker_tag', { docker_image: image, json_schema: {} }],
        ['missing docker_image', { docker_tag: 'v1', json_schema: {} }],
        ['missing json_schema', { docker_image: image, docker_tag: 'v1' }],
        ['empty docker_image', { docker_image: '', docker_tag: 'v1', json_schema: {} }],
        ['empty docker_tag', { docker_image: image, docker_tag: '', json_schema: {} }],
        ['docker_image too long', { docker_image: 'x'.repeat(257), docker_tag: 'v1', json_schema: {} }],
        ['a number for docker_tag (no coercion)', { docker_image: image, docker_tag: 1, json_schema: {} }],
        ['json_schema a string', { docker_image: image, docker_tag: 'v1', json_schema: '{}' }],
        ['json_schema an array', { docker_image: image, docker_tag: 'v1', json_schema: [] }],
        ['json_schema null', { docker_image: image, docker_tag: 'v1', json_schema: null }],
        ['json_schema true', { docker_image: image, docker_tag: 'v1', json_schema: true }],
        ['url not a URI', { docker_image: image, docker_tag: 'v1', json_schema: {}, url: 'not a url' }],
        ['an unknown field', { docker_image: image, docker_tag: 'v1', json_schema: {}, colour: 'blue' }],
        ['a read-only field', { docker_image: image, docker_tag: 'v1', json_schema: {}, status: 'approved' }],
      ];
      for (const [why, payload] of cases) {
        const body = assertError(t, await post(payload), 422);
        t.ok(body.message.length > 0, `${why}: ${body.message}`);
      }
      t.equal(await countImage(ctx, image), 0, 'nothing stored');
    });

    t.test('422 for a json_schema that is not a valid JSON Schema, saying what is wrong; nothing stored', async (t) => {
      const image = uniqueDashed('badschema');
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['unknown type', { type: 'strin' }, /type/],
        ['draft-07 unknown type', { $schema: DRAFT_07, type: 'strin' }, /type/],
        ['2019-09 required not a list', { $schema: DRAFT_2019, required: 'a' }, /required/],
        ['minimum not a number', { type: 'number', minimum: 'zero' }, /minimum/],
        ['properties not an object', { properties: [] }, /properties/],
        ['an invalid pattern', { type: 'string', pattern: '(' }, /pattern|regular expression|Invalid/i],
        ['a $ref to nowhere', { $ref: '#/$defs/missing' }, /missing|ref/i],
        ['a $ref to another host', { $ref: 'https://example.org/schema.json' }, /example\.org|ref/i],
        ['draft-04', { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' }, /\$schema|draft/],
        ['an unknown $schema', { $schema: 'https://example.org/my-meta-schema', type: 'object' }, /\$schema|draft/],
        ['a $schema that is not a string', { $schema: 7 }, /\$schema|draft/],
        ['an $async schema (would accept every result)', { $async: true, type: 'object' }, /\$async/],
        ['an $async subschema', { properties: { a: { $async: true, type: 'string' } } }, /async/],
      ];
      for (const [why, schema, says] of cases) {
        const body = assertError(t, await post({ docker_image: image, docker_tag: 'v1', json_schema: schema }), 422);
        t.match(body.message, /json_schema/, `${why}: names json_schema: ${body.message}`);
        t.match(body.message, says, `${why}: says what is wrong`);
      }
      t.equal(await countImage(ctx, image), 0, 'nothing stored');
    });

    t.test('422, not a database error, for text the database cannot hold (NUL) or a schema nested too deep', async (t) => {
      const image = uniqueDashed('nul');
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['NUL in docker_image', { docker_image: `${image}\u0000x`, docker_tag: 'v1', json_schema: {} }, /docker_image/],
        ['NUL in docker_tag', { docker_image: image, docker_tag: 'v\u00001', json_schema: {} }, /docker_tag/],
        ['NUL in description', { docker_image: image, docker_tag: 'v1', json_schema: {}, description: 'a\u0000' }, /description/],
        ['NUL in a json_schema string', { docker_image: image, docker_tag: 'v1', json_schema: { description: 'a\u0000b' } }, /json_schema/],
        [
          'NUL in a json_schema key',
          { docker_image: image, docker_tag: 'v1', json_schema: { properties: { 'a\u0000': {} } } },
          /json_schema/,
        ],
      ];
      for (const [why, payload, names] of cases) {
        const body = assertError(t, await post(payload), 422);
        t.match(body.message, names, `${why}: ${body.message}`);
      }
      const depth = 5000;
      const deep = `${'{"properties":{"a":'.repeat(depth)}{}${'}}'.repeat(depth)}`;
      const response = await app.inject({
        method: 'POST',
        url: '/benchmarks',
        headers: { ...(await ctx.auth(user)), 'content-type': 'application/json' },
        payload: `{"docker_image":"${image}","docker_tag":"deep","json_schema":${deep}}`,
      });
      assertError(t, response, 422);
      t.equal(await countImage(ctx, image), 0, 'nothing stored');
      const put = await app.inject({
        method: 'PUT',
        url: `/benchmarks/${(await create({ docker_image: image })).id}`,
        headers: await ctx.auth(admin),
        payload: { docker_image: image, docker_tag: 'latest', json_schema: {}, description: '\u0000' },
      });
      assertError(t, put, 422);
    });
  });

  t.test('NUL in list and search parameters is a 422, not a database error', async (t) => {
    assertError(t, await app.inject({ url: '/benchmarks?docker_image=%00' }), 422);
    assertError(t, await app.inject({ url: '/benchmarks?docker_tag=a%00' }), 422);
    assertError(t, await app.inject({ url: '/benchmarks:search?terms=ok&terms=%00' }), 422);
  });

  t.test('UpdateBenchmark PUT /benchmarks/{id}', async (t) => {
    t.test('204 replaces the editable fields; status and submit unchanged', async (t) => {
      const original = await create({
        docker_image: uniqueDashed('upd'),
        docker_tag: 'v1',
        url: 'https://example.org/a',
        description: 'old',
      });
      const next = {
        docker_image: uniqueDashed('upd'),
        docker_tag: 'v2',
        json_schema: { $schema: DRAFT_07, type: 'object', properties: { x: { type: 'number', suggestToUser: true } } },
        url: 'https://example.org/b',
        description: 'new',
      };
      const response = await put(original.id, next);
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.same(await stored(ctx, original.id), { ...original, ...next }, 'stored; id, upload_datetime, status kept');
      t.equal(await submitsOf(ctx, original.id), 1, 'still on review with its submit');
      const read = await app.inject({ url: `/benchmarks/${original.id}` });
      t.same(json(read), { ...original, ...next }, 'GET shows it');
    });

    t.test('204 round-trip of a GET body (read-only fields sent back unchanged are ignored)', async (t) => {
      const original = await createApproved({
        docker_image: uniqueDashed('trip'),
        url: 'https://example.org/x',
        description: 'trip',
        json_schema: { type: 'object' },
      });
      const read = json<Benchmark>(await app.inject({ url: `/benchmarks/${original.id}` }));
      const response = await put(original.id, { ...read, description: 'round trip' });
      t.equal(response.statusCode, 204, response.body);
      t.same(await stored(ctx, original.id), { ...original, description: 'round trip' });
    });

    // Shared module: openapi.yaml UpdateBenchmark.url is not nullable, but GET answers url: null.
    t.test('204 round-trip of a GET body whose url is null', async (t) => {
      const original = await create({ docker_image: uniqueDashed('trip-null') });
      t.equal(original.url, null);
      const read = json<Benchmark>(await app.inject({ url: `/benchmarks/${original.id}` }));
      const response = await put(original.id, read);
      t.equal(
        response.statusCode,
        204,
        `openapi.yaml: UpdateBenchmark.url must be nullable (GET returns url: null), got ${response.statusCode} ${response.body}`,
      );
      t.same(await stored(ctx, original.id), original, 'unchanged');
    });

    t.test('204 with its own image and tag (no conflict with itself); omitted url and description are cleared', async (t) => {
      const original = await create({ docker_image: uniqueDashed('self'), url: 'https://example.org/x', description: 'x' });
      const response = await put(original.id, { docker_image: original.docker_image, docker_tag: original.docker_tag, json_schema: {} });
      t.equal(response.statusCode, 204, response.body);
      t.same(await stored(ctx, original.id), { ...original, url: null, description: '' });
    });

    t.test('204 ignores a changed status: PUT does not approve', async (t) => {
      const original = await create({ docker_image: uniqueDashed('sneaky') });
      const response = await put(original.id, { ...original, status: 'approved' });
      t.ok([204, 422].includes(response.statusCode), `${response.statusCode} ${response.body}`);
      t.equal((await stored(ctx, original.id))?.status, 'on_review', 'still on review');
      t.equal(await submitsOf(ctx, original.id), 1, 'submit kept');
    });

    t.test('401 without a token; nothing changed', async (t) => {
      const original = await create({ docker_image: uniqueDashed('upd401') });
      assertError(
        t,
        await app.inject({ method: 'PUT', url: `/benchmarks/${original.id}`, payload: { ...original, description: 'hacked' } }),
        401,
      );
      t.same(await stored(ctx, original.id), original);
    });

    t.test('403 for a user who is not an administrator (even the uploader); nothing changed', async (t) => {
      const original = await create({ docker_image: uniqueDashed('upd403') });
      assertError(t, await put(original.id, { ...original, description: 'mine' }, user), 403);
      assertError(t, await put(original.id, { ...original, description: 'mine' }, adminPersona('unregistered')), 403);
      t.same(await stored(ctx, original.id), original);
    });

    t.test('404 for an unknown id; nothing created', async (t) => {
      const image = uniqueDashed('upd404');
      assertError(t, await put(UNKNOWN_ID, { docker_image: image, docker_tag: 'v1', json_schema: {} }), 404);
      t.equal(await countImage(ctx, image), 0);
    });

    t.test('409 when the new image and tag belong to another benchmark; nothing changed', async (t) => {
      const a = await create({ docker_image: uniqueDashed('upd409'), docker_tag: 'v1' });
      const b = await createApproved({ docker_image: uniqueDashed('upd409'), docker_tag: 'v1' });
      const body = assertError(t, await put(a.id, { docker_image: b.docker_image, docker_tag: 'v1', json_schema: {} }), 409);
      t.match(body.message, b.docker_image);
      t.same(await stored(ctx, a.id), a, 'a unchanged');
      t.same(await stored(ctx, b.id), b, 'b unchanged');
    });

    t.test('422 for an invalid body or json_schema; nothing changed', async (t) => {
      const original = await create({ docker_image: uniqueDashed('upd422'), json_schema: { type: 'object' } });
      const base = { docker_image: original.docker_image, docker_tag: original.docker_tag };
      const cases: [string, Record<string, unknown>][] = [
        ['missing json_schema', base],
        ['json_schema not an object', { ...base, json_schema: 'x' }],
        ['an invalid JSON Schema', { ...base, json_schema: { type: 'strin' } }],
        ['an unsupported $schema', { ...base, json_schema: { $schema: 'http://json-schema.org/draft-04/schema#' } }],
        ['an unknown field', { ...base, json_schema: {}, colour: 'blue' }],
        ['an invalid read-only status', { ...base, json_schema: {}, status: 'rejected' }],
        ['an invalid read-only id', { ...base, json_schema: {}, id: 'nope' }],
        ['empty docker_tag', { ...base, docker_tag: '', json_schema: {} }],
      ];
      for (const [why, payload] of cases) {
        const body = assertError(t, await put(original.id, payload), 422);
        t.ok(body.message.length > 0, `${why}: ${body.message}`);
      }
      const schema = assertError(t, await put(original.id, { ...base, json_schema: { type: 'strin' } }), 422);
      t.match(schema.message, /json_schema/);
      assertError(t, await put('not-a-uuid', { ...base, json_schema: {} }), 422);
      t.same(await stored(ctx, original.id), original, 'unchanged');
    });
  });

  t.test('DeleteBenchmark DELETE /benchmarks/{id}', async (t) => {
    const del = async (id: string, who?: Persona) =>
      app.inject({ method: 'DELETE', url: `/benchmarks/${id}`, headers: who ? await ctx.auth(who) : {} });

    t.test('204 deletes an approved benchmark and its results', async (t) => {
      const benchmark = await createApproved({ docker_image: uniqueDashed('del') });
      const seed = seeder(ctx, user);
      const site = await seed.site({ name: uniqueDashed('site'), address: 'Karlsruhe' });
      const flavor = await seed.flavor(site.id, { name: 'small' });
      const result = await seed.result(benchmark.id, flavor, { json: { score: 1 }, execution_datetime: new Date() });
      const claim = await ctx.db.prisma.claim.create({
        data: { message: 'wrong', result_id: result.id, ...seed.uploader(), submit: { create: { resource_type: 'claim' } } },
      });
      const response = await del(benchmark.id, admin);
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.equal(await stored(ctx, benchmark.id), null, 'benchmark gone');
      t.equal(await ctx.db.prisma.result.count({ where: { id: result.id } }), 0, 'its result gone');
      t.equal(await ctx.db.prisma.claim.count({ where: { id: claim.id } }), 0, "the result's claim gone");
      t.equal(await ctx.db.prisma.submit.count({ where: { claim_id: claim.id } }), 0, "the claim's submit gone");
      t.equal(await ctx.db.prisma.site.count({ where: { id: site.id } }), 1, 'the site stays');
      t.equal(await ctx.db.prisma.flavor.count({ where: { id: flavor.id } }), 1, 'the flavor stays');
      assertError(t, await app.inject({ url: `/benchmarks/${benchmark.id}` }), 404);
    });

    t.test('204 deletes an on_review benchmark and its submit', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('del') });
      t.equal((await del(benchmark.id, admin)).statusCode, 204);
      t.equal(await stored(ctx, benchmark.id), null);
      t.equal(await submitsOf(ctx, benchmark.id), 0, 'submit gone');
    });

    t.test('401 without a token; still there', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('del401') });
      assertError(t, await del(benchmark.id), 401);
      t.same(await stored(ctx, benchmark.id), benchmark);
    });

    t.test('403 for a user, even the uploader; still there', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('del403') });
      assertError(t, await del(benchmark.id, user), 403);
      t.same(await stored(ctx, benchmark.id), benchmark);
    });

    t.test('404 for an unknown id, and for one already deleted', async (t) => {
      assertError(t, await del(UNKNOWN_ID, admin), 404);
      const benchmark = await create({ docker_image: uniqueDashed('del404') });
      t.equal((await del(benchmark.id, admin)).statusCode, 204);
      assertError(t, await del(benchmark.id, admin), 404);
    });

    t.test('422 for an id that is not a uuid', async (t) => {
      assertError(t, await del('not-a-uuid', admin), 422);
    });
  });

  t.test('ApproveBenchmark POST /benchmarks/{id}:approve', async (t) => {
    const call = async (id: string, who?: Persona, extra: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url: `/benchmarks/${id}:approve`, headers: { ...(who ? await ctx.auth(who) : {}), ...extra } });

    t.test('204 makes it approved, removes its submit, lists it by default', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('appr') });
      t.equal(await submitsOf(ctx, benchmark.id), 1, 'submit while on review');
      const response = await call(benchmark.id, admin);
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.same(await stored(ctx, benchmark.id), { ...benchmark, status: 'approved' });
      t.equal(await submitsOf(ctx, benchmark.id), 0, 'submit removed');
      const listed = benchmarkPage(t, await app.inject({ url: `/benchmarks?${query({ docker_image: benchmark.docker_image })}` }));
      t.same(ids(listed), [benchmark.id], 'listed by default');
      const review = benchmarkPage(
        t,
        await app.inject({ url: `/benchmarks?${query({ docker_image: benchmark.docker_image, status: 'on_review' })}` }),
      );
      t.same(review.items, [], 'no longer on review');
    });

    t.test('204 with a form Content-Type and no body (generated clients)', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('appr-form') });
      const response = await call(benchmark.id, admin, { 'content-type': 'application/x-www-form-urlencoded' });
      t.equal(response.statusCode, 204, response.body);
    });

    t.test('401 without a token; still on review', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('appr401') });
      assertError(t, await call(benchmark.id), 401);
      t.equal((await stored(ctx, benchmark.id))?.status, 'on_review');
    });

    t.test('403 for a user; still on review with its submit', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('appr403') });
      assertError(t, await call(benchmark.id, user), 403);
      t.equal((await stored(ctx, benchmark.id))?.status, 'on_review');
      t.equal(await submitsOf(ctx, benchmark.id), 1);
    });

    t.test('404 for an unknown id', async (t) => {
      assertError(t, await call(UNKNOWN_ID, admin), 404);
    });

    t.test('422 for an already approved benchmark; it stays approved', async (t) => {
      const benchmark = await createApproved({ docker_image: uniqueDashed('appr422') });
      const body = assertError(t, await call(benchmark.id, admin), 422);
      t.match(body.message, /approved/);
      t.equal((await stored(ctx, benchmark.id))?.status, 'approved');
      assertError(t, await call('not-a-uuid', admin), 422);
    });

    t.test('concurrent approvals: one 204, the others 422', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('appr-race') });
      const headers = await ctx.auth(admin);
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => app.inject({ method: 'POST', url: `/benchmarks/${benchmark.id}:approve`, headers })),
      );
      t.same(responses.map((r) => r.statusCode).sort(), [204, 422, 422, 422, 422, 422, 422, 422]);
      t.equal((await stored(ctx, benchmark.id))?.status, 'approved');
      t.equal(await submitsOf(ctx, benchmark.id), 0);
    });
  });

  t.test('RejectBenchmark POST /benchmarks/{id}:reject', async (t) => {
    const call = async (id: string, who?: Persona) =>
      app.inject({ method: 'POST', url: `/benchmarks/${id}:reject`, headers: who ? await ctx.auth(who) : {} });

    t.test('204 deletes the benchmark and its submit', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('rej') });
      const response = await call(benchmark.id, admin);
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.equal(await stored(ctx, benchmark.id), null, 'deleted');
      t.equal(await submitsOf(ctx, benchmark.id), 0, 'submit deleted');
      assertError(t, await app.inject({ url: `/benchmarks/${benchmark.id}` }), 404);
      // The name is free again.
      t.equal((await post({ docker_image: benchmark.docker_image, docker_tag: benchmark.docker_tag, json_schema: {} })).statusCode, 201);
    });

    t.test('401 without a token; still there', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('rej401') });
      assertError(t, await call(benchmark.id), 401);
      t.same(await stored(ctx, benchmark.id), benchmark);
    });

    t.test('403 for a user, even the uploader; still there', async (t) => {
      const benchmark = await create({ docker_image: uniqueDashed('rej403') });
      assertError(t, await call(benchmark.id, user), 403);
      t.same(await stored(ctx, benchmark.id), benchmark);
      t.equal(await submitsOf(ctx, benchmark.id), 1);
    });

    t.test('404 for an unknown id, and for one already rejected', async (t) => {
      assertError(t, await call(UNKNOWN_ID, admin), 404);
      const benchmark = await create({ docker_image: uniqueDashed('rej404') });
      t.equal((await call(benchmark.id, admin)).statusCode, 204);
      assertError(t, await call(benchmark.id, admin), 404);
    });

    t.test('422 for an approved benchmark; it stays', async (t) => {
      const benchmark = await createApproved({ docker_image: uniqueDashed('rej422') });
      const body = assertError(t, await call(benchmark.id, admin), 422);
      t.match(body.message, /approved/);
      t.same(await stored(ctx, benchmark.id), benchmark);
      assertError(t, await call('not-a-uuid', admin), 422);
    });
  });

  t.test('review integrity: concurrent approve and reject leave no orphan', async (t) => {
    const made: Benchmark[] = [];
    for (let i = 0; i < 6; i += 1) made.push(await create({ docker_image: uniqueDashed('mixed') }));
    const headers = await ctx.auth(admin);
    const responses = await Promise.all(
      made.flatMap((b) => [
        app.inject({ method: 'POST', url: `/benchmarks/${b.id}:approve`, headers }),
        app.inject({ method: 'POST', url: `/benchmarks/${b.id}:reject`, headers }),
      ]),
    );
    for (const [i, b] of made.entries()) {
      const [approved, rejected] = [responses[2 * i]!, responses[2 * i + 1]!];
      const codes = [approved.statusCode, rejected.statusCode];
      t.ok(codes.filter((c) => c === 204).length === 1, `exactly one of approve/reject wins: ${codes.join(',')}`);
      t.ok(
        codes.every((c) => [204, 404, 422].includes(c)),
        'no 500',
      );
      const row = await stored(ctx, b.id);
      t.equal(await submitsOf(ctx, b.id), 0, 'no submit left either way');
      if (approved.statusCode === 204) t.equal(row?.status, 'approved');
      else t.equal(row, null, 'rejected: gone');
    }
    const orphans = await ctx.db.prisma.benchmark.count({ where: { status: 'on_review', submit: null } });
    t.equal(orphans, 0, 'no benchmark on review without its submit');
    const dangling = await ctx.db.prisma.submit.count({ where: { resource_type: 'benchmark', benchmark_id: null } });
    t.equal(dangling, 0, 'no benchmark submit without its benchmark');
    const approvedWithSubmit = await ctx.db.prisma.submit.count({ where: { benchmark: { status: 'approved' } } });
    t.equal(approvedWithSubmit, 0, 'no submit for an approved benchmark');
  });
});

// With IMAGE_REGISTRY: POST and PUT ask the registry for docker_image:docker_tag.
t.test('with IMAGE_REGISTRY', async (t) => {
  const registry = await startFakeRegistry();
  t.teardown(() => registry.close());

  eachDatabase(
    t,
    async (t, ctx) => {
      const { app } = ctx;
      const user = persona('reg-user');
      const admin = adminPersona('reg-admin');
      await ctx.register(user);
      await ctx.register(admin);
      const post = async (body: Record<string, unknown>, who: Persona = user) =>
        app.inject({ method: 'POST', url: '/benchmarks', headers: await ctx.auth(who), payload: body });
      const put = async (id: string, body: Record<string, unknown>) =>
        app.inject({ method: 'PUT', url: `/benchmarks/${id}`, headers: await ctx.auth(admin), payload: body });
      const seen = () => {
        const start = registry.requests.length;
        return () => registry.requests.slice(start);
      };

      t.test('CreateBenchmark POST /benchmarks', async (t) => {
        t.test('201 for an owner/name image the registry knows (after the token handshake)', async (t) => {
          const image = `owner/${uniqueDashed('known')}`;
          registry.addImage(image, 'v1');
          const requests = seen();
          const response = await post({ docker_image: image, docker_tag: 'v1', json_schema: {} });
          t.equal(response.statusCode, 201, response.body);
          t.equal(await countImage(ctx, image), 1);
          const manifests = requests().filter((r) => r.path === `/v2/${image}/manifests/v1`);
          t.ok(
            manifests.some((r) => r.authorization?.startsWith('Bearer ')),
            'asked with a token',
          );
          t.ok(
            requests().some((r) => r.path.startsWith('/token?')),
            'got the token from the realm',
          );
        });

        t.test('201 for a single-name image, looked up under library/', async (t) => {
          const image = uniqueDashed('official');
          registry.addImage(`library/${image}`, '1.0');
          const requests = seen();
          const response = await post({ docker_image: image, docker_tag: '1.0', json_schema: {} });
          t.equal(response.statusCode, 201, response.body);
          t.ok(requests().some((r) => r.path === `/v2/library/${image}/manifests/1.0`));
        });

        t.test('422 for an unknown tag, with the registry reason; nothing stored', async (t) => {
          const image = `owner/${uniqueDashed('notag')}`;
          registry.addImage(image, 'v1');
          const body = assertError(t, await post({ docker_image: image, docker_tag: 'v2', json_schema: {} }), 422);
          t.match(body.message, `${image}:v2`);
          t.match(body.message, /MANIFEST_UNKNOWN/);
          t.match(body.message, MANIFEST_UNKNOWN_MESSAGE, "the registry's reason");
          t.equal(await countImage(ctx, image), 0);
        });

        t.test('422 for an image the registry does not know; nothing stored', async (t) => {
          const image = `nobody/${uniqueDashed('missing')}`;
          const body = assertError(t, await post({ docker_image: image, docker_tag: 'latest', json_schema: {} }), 422);
          t.match(body.message, image);
          t.ok(body.errors?.['body.docker_image'], 'names docker_image');
          t.equal(await countImage(ctx, image), 0);
        });

        t.test('422 for a name outside Docker grammar, without asking the registry', async (t) => {
          const requests = seen();
          assertError(t, await post({ docker_image: 'Upper/Case', docker_tag: 'v1', json_schema: {} }), 422);
          t.same(requests(), []);
          t.equal(await countImage(ctx, 'Upper/Case'), 0);
        });

        t.test('422 for an invalid json_schema, without asking the registry', async (t) => {
          const image = `owner/${uniqueDashed('schema')}`;
          registry.addImage(image, 'v1');
          const requests = seen();
          assertError(t, await post({ docker_image: image, docker_tag: 'v1', json_schema: { type: 'strin' } }), 422);
          t.same(requests(), []);
        });

        t.test('401 and 403 without asking the registry', async (t) => {
          const requests = seen();
          assertError(
            t,
            await app.inject({ method: 'POST', url: '/benchmarks', payload: { docker_image: 'alpine', docker_tag: 'x', json_schema: {} } }),
            401,
          );
          assertError(t, await post({ docker_image: 'alpine', docker_tag: 'x', json_schema: {} }, persona('reg-stranger')), 403);
          t.same(requests(), []);
        });

        t.test('409 for a known image uploaded twice', async (t) => {
          const image = `owner/${uniqueDashed('twice')}`;
          registry.addImage(image, 'v1');
          t.equal((await post({ docker_image: image, docker_tag: 'v1', json_schema: {} })).statusCode, 201);
          assertError(t, await post({ docker_image: image, docker_tag: 'v1', json_schema: {} }), 409);
          t.equal(await countImage(ctx, image), 1);
        });

        t.test('503 when the registry answers 500; nothing stored', async (t) => {
          const image = `owner/${uniqueDashed('r500')}`;
          registry.addImage(image, 'v1');
          registry.failWith(500);
          t.teardown(() => registry.failWith(undefined));
          const body = assertError(t, await post({ docker_image: image, docker_tag: 'v1', json_schema: {} }), 503);
          t.match(body.message, /registry/i);
          t.equal(await countImage(ctx, image), 0);
        });
      });

      t.test('UpdateBenchmark PUT /benchmarks/{id}', async (t) => {
        const image = `owner/${uniqueDashed('upd')}`;
        registry.addImage(image, 'v1');
        registry.addImage(image, 'v2');
        const created = await post({ docker_image: image, docker_tag: 'v1', json_schema: {} });
        const original = json<Benchmark>(created);

        t.test('204 for a known image', async (t) => {
          const response = await put(original.id, { docker_image: image, docker_tag: 'v2', json_schema: {} });
          t.equal(response.statusCode, 204, response.body);
          t.equal((await stored(ctx, original.id))?.docker_tag, 'v2');
        });

        t.test('422 for an unknown tag; nothing changed', async (t) => {
          const before = await stored(ctx, original.id);
          const body = assertError(t, await put(original.id, { docker_image: image, docker_tag: 'v3', json_schema: {} }), 422);
          t.match(body.message, /MANIFEST_UNKNOWN/);
          t.same(await stored(ctx, original.id), before);
        });

        t.test('503 when the registry answers 500; nothing changed', async (t) => {
          const before = await stored(ctx, original.id);
          registry.failWith(500);
          t.teardown(() => registry.failWith(undefined));
          assertError(t, await put(original.id, { docker_image: image, docker_tag: 'v1', json_schema: {} }), 503);
          t.same(await stored(ctx, original.id), before);
        });
      });
    },
    { IMAGE_REGISTRY: registry.url },
  );
});
