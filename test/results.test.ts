// The `results` tag, operation by operation, one named case per status code,
// on PGlite and on PostgreSQL: upload (schema validation, dates, tags), list
// (every filter, every sort column, pagination), search, read, delete, tags,
// uploader; the caller's own results (GET /users/self/results); and 200
// parallel uploads. JSON filters live in json-filters.test.ts, claims in
// claims.test.ts.
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { adminPersona, eachDatabase, json, persona, type Persona, type Test as Tap, type TestContext } from './helpers/app.js';
import { assertError, assertPageResponse, ids } from './helpers/assertions.js';
import { RESULT_KEYS, type Result, type ResultSummaries, type Results, type Tag, USER_KEYS, type User } from './helpers/contract.js';
import { pauseInserts } from './helpers/postgres.js';
import { fixtures, UNKNOWN_ID, uniqueDashed } from './helpers/fixtures.js';

const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';
const DRAFT_2019 = 'https://json-schema.org/draft/2019-09/schema';

function assertResult(t: Tap, body: unknown): Result {
  const result = body as Result;
  t.same(Object.keys(result).sort(), RESULT_KEYS, 'exactly the keys of Result (never the uploader)');
  t.match(result.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.match(result.upload_datetime, /Z$/, 'upload_datetime in UTC');
  t.match(result.execution_datetime, /Z$/, 'execution_datetime in UTC');
  t.type(result.json, 'object');
  t.type(result.benchmark.id, 'string');
  t.type(result.site.id, 'string');
  t.type(result.flavor.id, 'string');
  t.ok(Array.isArray(result.tags));
  return result;
}

/** A 200 page of results, each with exactly the keys of Result. */
function page(t: Tap, response: LightMyRequestResponse): Results {
  return assertPageResponse<Result>(t, response, RESULT_KEYS);
}

/** `2022-…Z`, `minutes` from now. */
function isoIn(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000).toISOString();
}

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app, oidc } = ctx;
  const admin = adminPersona('results-admin');
  const owner = persona('results-owner');
  const other = persona('results-other');
  const stranger = persona('results-unregistered');
  await ctx.register(admin);
  await ctx.register(owner);
  await ctx.register(other);
  const fx = fixtures(ctx, admin, owner);
  const { world, upload, uploadRaw, uploadUrl } = fx;
  const prisma = ctx.db.prisma;

  const countResults = (benchmarkId: string) => prisma.result.count({ where: { benchmark_id: benchmarkId } });

  t.test('CreateResult POST /results', async (t) => {
    t.test('201 returns the full result and stores it, the site taken from the flavor', async (t) => {
      const w = await world({}, { tags: 2 });
      const body = { machine: { cpu: { count: 4 } }, result: { score: 156.605 }, units: 'Seconds' };
      const response = await uploadRaw(w, body, { tags: w.tags.map((tag) => tag.id), execution: '2022-01-01T12:00:00+02:00' });
      t.equal(response.statusCode, 201, response.body);
      const result = assertResult(t, json(response));
      t.same(result.json, body, 'the JSON as uploaded');
      t.equal(result.execution_datetime, '2022-01-01T10:00:00.000Z', 'the execution date-time, in UTC');
      t.ok(Math.abs(Date.parse(result.upload_datetime) - Date.now()) < 60_000, 'uploaded now');
      t.equal(result.benchmark.id, w.benchmark.id);
      t.equal(result.benchmark.docker_image, w.benchmark.docker_image);
      t.equal(result.site.id, w.site.id, 'the site of the flavor');
      t.equal(result.site.name, w.site.name);
      t.equal(result.flavor.id, w.flavor.id);
      t.same(result.tags.map((tag) => tag.id).sort(), w.tags.map((tag) => tag.id).sort());
      t.notOk('uploader' in result, 'the uploader is not shown');
      const row = await prisma.result.findUnique({ where: { id: result.id }, include: { tags: true } });
      t.ok(row, 'stored');
      t.same(row?.json, body);
      t.equal(row?.site_id, w.site.id);
      t.equal(row?.flavor_id, w.flavor.id);
      t.equal(row?.benchmark_id, w.benchmark.id);
      t.equal(row?.uploader_sub, owner.sub);
      t.equal(row?.uploader_iss, oidc.issuer);
      t.equal(row?.deleted, false);
      t.equal(row?.execution_datetime.toISOString(), '2022-01-01T10:00:00.000Z');
      t.same(row?.tags.map((link) => link.tag_id).sort(), w.tags.map((tag) => tag.id).sort());
      const read = await app.inject({ url: `/results/${result.id}` });
      t.same(json(read), result, 'GET answers the same');
    });

    t.test('201 with tags_ids in both array forms, duplicates once', async (t) => {
      const w = await world({}, { tags: 2 });
      const [a, b] = w.tags as [Tag, Tag];
      const repeated = await uploadRaw(w, { n: 1 }, { query: `&tags_ids=${b.id}&tags_ids=${b.id}` });
      t.equal(repeated.statusCode, 201, repeated.body);
      t.same(
        json<Result>(repeated).tags.map((tag) => tag.id),
        [b.id],
        'a duplicate tag is attached once',
      );
      const base = uploadUrl(w).replace('/results?', '');
      const bracket = await app.inject({
        method: 'POST',
        url: `/results?${base}&tags_ids[]=${a.id}&tags_ids[]=${b.id}`,
        headers: await ctx.auth(owner),
        payload: { n: 2 },
      });
      t.equal(bracket.statusCode, 201, bracket.body);
      t.same(
        json<Result>(bracket)
          .tags.map((tag) => tag.id)
          .sort(),
        [a.id, b.id].sort(),
      );
      const single = await app.inject({
        method: 'POST',
        url: `/results?${base}&tags_ids%5B%5D=${a.id}`,
        headers: await ctx.auth(owner),
        payload: { n: 3 },
      });
      t.equal(single.statusCode, 201, single.body);
      t.same(
        json<Result>(single).tags.map((tag) => tag.id),
        [a.id],
        'one bracketed value is a list too',
      );
      t.equal(await prisma.resultTag.count({ where: { result_id: json<Result>(repeated).id } }), 1);
    });

    t.test('201 with no tags and an empty object body against an empty schema', async (t) => {
      const w = await world();
      const result = await upload(w, {});
      t.same(result.tags, []);
      t.same(result.json, {});
    });

    t.test('201 for an execution a little in the future (clock skew) and for every zone notation', async (t) => {
      const w = await world();
      const skewed = await uploadRaw(w, { a: 1 }, { execution: isoIn(2) });
      t.equal(skewed.statusCode, 201, `two minutes ahead is tolerated: ${skewed.body}`);
      const cases: [string, string][] = [
        ['2022-03-04T05:06:07Z', '2022-03-04T05:06:07.000Z'],
        ['2022-03-04T05:06:07z', '2022-03-04T05:06:07.000Z'],
        ['2022-03-04T07:06:07+02:00', '2022-03-04T05:06:07.000Z'],
        ['2022-03-04T07:06:07+0200', '2022-03-04T05:06:07.000Z'],
        ['2022-03-04T07:06:07+02', '2022-03-04T05:06:07.000Z'],
        ['2022-03-04T00:06:07-05:00', '2022-03-04T05:06:07.000Z'],
        ['2022-03-04T05:06:07.123456Z', '2022-03-04T05:06:07.123Z'],
      ];
      for (const [sent, stored] of cases) {
        const response = await uploadRaw(w, { sent }, { execution: sent });
        t.equal(response.statusCode, 201, `${sent}: ${response.body}`);
        if (response.statusCode === 201) t.equal(json<Result>(response).execution_datetime, stored, sent);
      }
    });

    t.test('201 for a leap second, counted as the next second (as PostgreSQL does)', async (t) => {
      const w = await world();
      const response = await uploadRaw(w, { leap: true }, { execution: '2016-12-31T23:59:60Z' });
      t.equal(response.statusCode, 201, response.body);
      t.equal(json<Result>(response).execution_datetime, '2017-01-01T00:00:00.000Z');
      const offset = await uploadRaw(w, { leap: true }, { execution: '2017-01-01T00:59:60.5+01:00' });
      t.equal(offset.statusCode, 201, offset.body);
      t.equal(json<Result>(offset).execution_datetime, '2017-01-01T00:00:00.500Z');
    });

    t.test('201 validates against a draft-07 schema and a 2019-09 schema, formats on', async (t) => {
      const w07 = await world({
        $schema: DRAFT_07,
        type: 'object',
        properties: { when: { type: 'string', format: 'date-time' } },
        required: ['when'],
      });
      t.equal((await uploadRaw(w07, { when: '2022-01-01T00:00:00Z' })).statusCode, 201);
      const bad = assertError(t, await uploadRaw(w07, { when: 'yesterday' }), 422);
      t.match(bad.message, /\/when/, 'names the failing path');
      t.match(bad.message, /format/, 'names the rule');
      const w19 = await world({
        $schema: DRAFT_2019,
        type: 'object',
        properties: { machine: { type: 'object', properties: { cpus: { type: 'integer' } }, required: ['cpus'] } },
        required: ['machine'],
        unevaluatedProperties: false,
      });
      t.equal((await uploadRaw(w19, { machine: { cpus: 2 } })).statusCode, 201);
      const extra = assertError(t, await uploadRaw(w19, { machine: { cpus: 2 }, surprise: 1 }), 422);
      t.match(extra.message, /unevaluated/i, '2019-09 keywords are enforced');
    });

    t.test('201 stores the body as sent: no defaults added, no coercion', async (t) => {
      const w = await world({ type: 'object', properties: { n: { type: 'integer', default: 7 }, s: { type: 'string' } } });
      const result = await upload(w, { s: 'x' });
      t.same(result.json, { s: 'x' }, 'the default is not inserted');
      assertError(t, await uploadRaw(w, { n: '5' }), 422);
    });

    t.test('201 applies an updated benchmark schema to the next upload', async (t) => {
      const w = await world({ type: 'object', required: ['a'] });
      t.equal((await uploadRaw(w, { a: 1 })).statusCode, 201);
      const update = await app.inject({
        method: 'PUT',
        url: `/benchmarks/${w.benchmark.id}`,
        headers: await ctx.auth(admin),
        payload: {
          docker_image: w.benchmark.docker_image,
          docker_tag: w.benchmark.docker_tag,
          json_schema: { type: 'object', required: ['b'] },
        },
      });
      t.equal(update.statusCode, 204, update.body);
      const old = assertError(t, await uploadRaw(w, { a: 1 }), 422);
      t.match(old.message, /b/, 'the new rule applies');
      t.equal((await uploadRaw(w, { b: 1 })).statusCode, 201);
      t.equal(await countResults(w.benchmark.id), 2);
    });

    t.test('401 without a token, whatever the request', async (t) => {
      const w = await world();
      assertError(t, await app.inject({ method: 'POST', url: uploadUrl(w), payload: { a: 1 } }), 401);
      assertError(
        t,
        await app.inject({ method: 'POST', url: '/results', payload: 'not json', headers: { 'content-type': 'application/json' } }),
        401,
      );
      assertError(
        t,
        await app.inject({
          method: 'POST',
          url: `${uploadUrl(w)}&x=%00`,
          payload: '{"a":"\\u0000"}',
          headers: { 'content-type': 'application/json' },
        }),
        401,
      );
      assertError(
        t,
        await app.inject({ method: 'POST', url: uploadUrl(w), payload: { a: 1 }, headers: { authorization: 'Bearer garbage' } }),
        401,
      );
      t.equal(await countResults(w.benchmark.id), 0);
    });

    t.test('403 for a token holder who is not registered', async (t) => {
      const w = await world();
      assertError(t, await uploadRaw(w, { a: 1 }, {}, stranger), 403);
      t.equal(await countResults(w.benchmark.id), 0);
    });

    t.test('404 for an unknown benchmark, flavor or tag; nothing stored', async (t) => {
      const w = await world({}, { tags: 1 });
      const b = assertError(t, await uploadRaw(w, { a: 1 }, { benchmark: UNKNOWN_ID }), 404);
      t.match(b.message, /Benchmark/);
      const f = assertError(t, await uploadRaw(w, { a: 1 }, { flavor: UNKNOWN_ID }), 404);
      t.match(f.message, /Flavor/);
      const tg = assertError(t, await uploadRaw(w, { a: 1 }, { tags: [w.tags[0]?.id ?? '', UNKNOWN_ID] }), 404);
      t.match(tg.message, new RegExp(`Tag ${UNKNOWN_ID}`));
      t.equal(await countResults(w.benchmark.id), 0);
      t.equal(await prisma.resultTag.count({ where: { tag_id: w.tags[0]?.id ?? '' } }), 0);
    });

    t.test('404 for a tag deleted by someone else while the result is being stored; nothing stored', async (t) => {
      // Two transactions at once need a server: the embedded database runs one statement at a time.
      if (ctx.db.kind !== 'postgresql') {
        t.skip('PGlite runs one transaction at a time: this race cannot happen there', () => {});
        return;
      }
      const w = await world({}, { tags: 2 });
      const [kept, doomed] = [w.tags[0]?.id ?? '', w.tags[1]?.id ?? ''];
      // The upload's statement pauses between storing the result and its tags, after every check the service made.
      const pause = await pauseInserts((text) => prisma.$queryRawUnsafe(text), `pause_${process.pid}`, 'result_tags', 1);
      t.teardown(pause.remove);
      const uploading = uploadRaw(w, { a: 1 }, { tags: [kept, doomed] });
      await pause.paused();
      await prisma.tag.delete({ where: { id: doomed } });
      const error = assertError(t, await uploading, 404);
      t.match(error.message, new RegExp(`Tag ${doomed}`));
      t.equal(await countResults(w.benchmark.id), 0);
      t.equal(await prisma.resultTag.count({ where: { tag_id: kept } }), 0);
    });

    t.test('422 for a benchmark or a flavor not approved yet', async (t) => {
      const w = await world();
      const pendingBenchmark = await fx.benchmark({}, { approved: false });
      const b = assertError(t, await uploadRaw(w, { a: 1 }, { benchmark: pendingBenchmark.id }), 422);
      t.match(b.message, /not approved/);
      const pendingFlavor = await fx.flavor(w.site.id, { approved: false });
      const f = assertError(t, await uploadRaw(w, { a: 1 }, { flavor: pendingFlavor.id }), 422);
      t.match(f.message, /not approved/);
      t.equal(await prisma.result.count({ where: { OR: [{ benchmark_id: pendingBenchmark.id }, { flavor_id: pendingFlavor.id }] } }), 0);
    });

    t.test('422 for an execution date-time without a zone, in the future, or malformed', async (t) => {
      const w = await world();
      for (const execution of ['2022-01-01T10:00:00', '2022-01-01', 'yesterday', '2022-13-01T00:00:00Z', '2022-02-30T00:00:00Z', '']) {
        assertError(t, await uploadRaw(w, { a: 1 }, { execution }), 422);
      }
      const future = assertError(t, await uploadRaw(w, { a: 1 }, { execution: isoIn(60) }), 422);
      t.match(future.message, /future/);
      assertError(t, await uploadRaw(w, { a: 1 }, { execution: '2999-01-01T00:00:00Z' }), 422);
      t.equal(await countResults(w.benchmark.id), 0);
    });

    t.test('422 for missing or malformed query parameters', async (t) => {
      const w = await world();
      const headers = await ctx.auth(owner);
      const cases = [
        `/results?benchmark_id=${w.benchmark.id}&flavor_id=${w.flavor.id}`,
        `/results?execution_datetime=2022-01-01T00:00:00Z&flavor_id=${w.flavor.id}`,
        `/results?execution_datetime=2022-01-01T00:00:00Z&benchmark_id=${w.benchmark.id}`,
        `/results?execution_datetime=2022-01-01T00:00:00Z&benchmark_id=abc&flavor_id=${w.flavor.id}`,
        `${uploadUrl(w)}&tags_ids=not-a-uuid`,
        `${uploadUrl(w)}&site_id=${w.site.id}`,
        `${uploadUrl(w)}&surprise=1`,
      ];
      for (const url of cases) assertError(t, await app.inject({ method: 'POST', url, headers, payload: { a: 1 } }), 422);
      t.equal(await countResults(w.benchmark.id), 0);
    });

    t.test('422 when the body fails the schema, naming the JSON path and the rule', async (t) => {
      const w = await world({
        type: 'object',
        properties: {
          machine: { type: 'object', properties: { cpu: { type: 'object', properties: { count: { type: 'integer', minimum: 1 } } } } },
        },
        required: ['machine'],
      });
      const missing = assertError(t, await uploadRaw(w, { other: 1 }), 422);
      t.match(missing.message, /machine/, 'names the missing property');
      t.match(missing.message, /required/, 'names the rule');
      const wrong = assertError(t, await uploadRaw(w, { machine: { cpu: { count: 0 } } }), 422);
      t.match(wrong.message, /\/machine\/cpu\/count/, 'names the path');
      t.match(wrong.message, />= 1|minimum/, 'names the rule');
      t.type(wrong.errors, 'object');
      const typed = assertError(t, await uploadRaw(w, { machine: { cpu: { count: 'four' } } }), 422);
      t.match(typed.message, /\/machine\/cpu\/count/);
      t.match(typed.message, /integer|type/);
      t.equal(await countResults(w.benchmark.id), 0);
    });

    t.test('422 for a body that is not a JSON object', async (t) => {
      const w = await world();
      for (const body of [[1, 2], 'text', 5, null]) assertError(t, await uploadRaw(w, body), 422);
      t.equal(await countResults(w.benchmark.id), 0);
    });

    t.test('201 or 422, never a 500, for text PostgreSQL cannot store (NUL)', async (t) => {
      const w = await world();
      const value = await uploadRaw(w, { text: 'a\u0000b' });
      t.ok([201, 422].includes(value.statusCode), `NUL in a value: ${value.statusCode} ${value.body}`);
      const key = await uploadRaw(w, { 'a\u0000b': 1 });
      t.ok([201, 422].includes(key.statusCode), `NUL in a key: ${key.statusCode} ${key.body}`);
      const nested = await uploadRaw(w, { deep: [{ x: ['\u0000'] }] });
      t.ok([201, 422].includes(nested.statusCode), `NUL deep inside: ${nested.statusCode} ${nested.body}`);
      const unicode = await upload(w, { text: 'ünïcødé ✓ 🚀 \\ " \' %_' });
      t.equal(unicode.json.text, 'ünïcødé ✓ 🚀 \\ " \' %_', 'other unicode is stored as sent');
    });

    t.test('422 for a number JSON cannot carry back (1e400), never stored as null', async (t) => {
      const w = await world();
      for (const payload of ['{"x": 1e400}', '{"a": [1, {"b": -1e999}]}']) {
        const response = await app.inject({
          method: 'POST',
          url: uploadUrl(w),
          headers: { ...(await ctx.auth(owner)), 'content-type': 'application/json' },
          payload,
        });
        const body = assertError(t, response, 422);
        t.match(body.message, /out of range|finite|too large/);
      }
      t.equal(await countResults(w.benchmark.id), 0);
      const fine = await upload(w, { big: 1.7976931348623157e308, small: 5e-324 });
      t.same(fine.json, { big: 1.7976931348623157e308, small: 5e-324 }, 'the extremes of a double are kept');
    });

    t.test('422 names the path of a NUL character', async (t) => {
      const w = await world();
      const body = assertError(t, await uploadRaw(w, { deep: [{ x: ['ok', 'a\u0000'] }] }), 422);
      t.match(body.message, /deep[./]0[./]x[./]1/, 'names where');
      t.equal(await countResults(w.benchmark.id), 0);
    });

    t.test('422, never a 500, for a body nested deeper than 512 levels, whatever the schema', async (t) => {
      const plain = await world();
      // A recursive schema: its validator recurses as deep as the body.
      const recursive = await world({
        $defs: { node: { type: ['array', 'object'], items: { $ref: '#/$defs/node' } } },
        $ref: '#/$defs/node',
      });
      for (const w of [plain, recursive]) {
        const send = (depth: number) =>
          ctx.auth(owner).then((headers) =>
            app.inject({
              method: 'POST',
              url: uploadUrl(w),
              headers: { ...headers, 'content-type': 'application/json' },
              payload: `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`,
            }),
          );
        t.equal((await send(500)).statusCode, 201, 'deep but storable');
        // The outer object and 511 arrays: 512 levels, the most a body may hold.
        t.equal((await send(511)).statusCode, 201, '512 levels are accepted');
        for (const depth of [512, 10_000, 300_000]) {
          const body = assertError(t, await send(depth), 422);
          t.match(body.message, /nested deeper than 512/);
        }
        t.equal(await countResults(w.benchmark.id), 2);
      }
    });

    t.test('413 for a body over the size limit, nothing stored', async (t) => {
      const w = await world();
      const response = await uploadRaw(w, { big: 'x'.repeat(ctx.config.bodyLimit + 1) });
      assertError(t, response, 413);
      t.equal(await countResults(w.benchmark.id), 0);
    });

    t.test('400 for unparseable JSON', async (t) => {
      const w = await world();
      const response = await app.inject({
        method: 'POST',
        url: uploadUrl(w),
        headers: { ...(await ctx.auth(owner)), 'content-type': 'application/json' },
        payload: '{"a":',
      });
      assertError(t, response, 400);
      t.equal(await countResults(w.benchmark.id), 0);
    });
  });

  t.test('ListResults GET /results', async (t) => {
    t.test('200 filters by benchmark, site and flavor, sorted by execution by default', async (t) => {
      const w = await world();
      const s2 = await fx.flavor(w.site.id);
      const otherSite = await fx.site();
      const f3 = await fx.flavor(otherSite.id);
      const r1 = await upload(w, { i: 1 }, { execution: '2021-05-03T00:00:00Z' });
      const r2 = await upload(w, { i: 2 }, { execution: '2021-05-01T00:00:00Z', flavor: s2.id });
      const r3 = await upload(w, { i: 3 }, { execution: '2021-05-02T00:00:00Z', flavor: f3.id });
      const all = page(t, await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}` }));
      t.same(ids(all), [r2.id, r3.id, r1.id], 'ascending execution_datetime');
      t.match(all, { total: 3, page: 1, pages: 1, per_page: 100, has_next: false, has_prev: false, next_num: null, prev_num: null });
      t.same(ids(page(t, await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}&site_id=${w.site.id}` }))), [r2.id, r1.id]);
      t.same(ids(page(t, await app.inject({ url: `/results?site_id=${otherSite.id}` }))), [r3.id]);
      t.same(ids(page(t, await app.inject({ url: `/results?flavor_id=${s2.id}` }))), [r2.id]);
      t.same(ids(page(t, await app.inject({ url: `/results?flavor_id=${s2.id}&site_id=${otherSite.id}` }))), [], 'all filters hold');
      t.same(page(t, await app.inject({ url: `/results?benchmark_id=${UNKNOWN_ID}` })).items, [], 'an unknown id matches nothing');
      const first = await app.inject({ url: '/results' });
      t.equal(first.statusCode, 200, 'without parameters');
    });

    t.test('200 with embed=false: the ids of what each result embeds, not the documents', async (t) => {
      const w = await world({ type: 'object' }, { tags: 2 });
      const tags = w.tags.map((tag) => tag.id);
      await upload(w, { i: 1 }, { tags });
      await upload(w, { i: 2 });
      const full = json<Results>(await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}` }));
      for (const [url, headers] of [
        [`/results?benchmark_id=${w.benchmark.id}&embed=false`, {}],
        [`/results:search?terms=${encodeURIComponent(w.benchmark.docker_image)}&embed=false`, {}],
        [`/users/self/results?benchmark_id=${w.benchmark.id}&embed=false`, await ctx.auth(owner)],
      ] as const) {
        const response = await app.inject({ url, headers });
        t.equal(response.statusCode, 200, url);
        const summaries = json<ResultSummaries>(response);
        t.same(
          summaries.items,
          full.items.map((r) => ({
            id: r.id,
            upload_datetime: r.upload_datetime,
            execution_datetime: r.execution_datetime,
            json: r.json,
            benchmark_id: r.benchmark.id,
            site_id: r.site.id,
            flavor_id: r.flavor.id,
            tags_ids: r.tags.map((tag) => tag.id),
          })),
          `${url}: each a ResultSummary, in the same order, tags in their listed order`,
        );
        t.match(summaries, { total: 2, page: 1 });
        t.ok(
          response.body.length < JSON.stringify(full).length / 2,
          `${url}: far fewer bytes (${response.body.length} vs ${JSON.stringify(full).length})`,
        );
      }
      const again = json<Results>(await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}&embed=true` }));
      t.same(again, full, 'embed=true, and a page remembered under the other form, answer the full results');
      assertError(t, await app.inject({ url: '/results?embed=sometimes' }), 422);
    });

    t.test('200 pages through the results without overlap', async (t) => {
      const w = await world();
      const uploaded: string[] = [];
      for (let i = 0; i < 5; i += 1) uploaded.push((await upload(w, { i }, { execution: '2021-01-01T00:00:00Z' })).id);
      const seen: string[] = [];
      for (let p = 1; p <= 3; p += 1) {
        const body = page(t, await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}&per_page=2&page=${p}` }));
        t.equal(body.total, 5);
        t.equal(body.pages, 3);
        t.equal(body.page, p);
        t.equal(body.per_page, 2);
        t.equal(body.has_prev, p > 1);
        t.equal(body.has_next, p < 3);
        t.equal(body.next_num, p < 3 ? p + 1 : null);
        t.equal(body.prev_num, p > 1 ? p - 1 : null);
        seen.push(...ids(body));
      }
      t.same(seen.sort(), [...uploaded].sort(), 'every result once, ties broken by id');
      const past = page(t, await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}&per_page=2&page=9` }));
      t.same(past.items, []);
      t.equal(past.total, 5);
      const whole = page(t, await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}&per_page=10` }));
      t.equal(whole.items.length, 5);
      t.equal(whole.total, 5, 'a first page that is not full');
      t.equal(whole.pages, 1);
      t.equal(whole.has_next, false);
    });

    t.test('200 with tags_ids: the result carries all of them, in both array forms', async (t) => {
      const w = await world({}, { tags: 3 });
      const [a, b, c] = w.tags as [Tag, Tag, Tag];
      const ab = await upload(w, { i: 1 }, { tags: [a.id, b.id], execution: '2021-01-01T00:00:00Z' });
      const abc = await upload(w, { i: 2 }, { tags: [a.id, b.id, c.id], execution: '2021-01-02T00:00:00Z' });
      const onlyA = await upload(w, { i: 3 }, { tags: [a.id], execution: '2021-01-03T00:00:00Z' });
      await upload(w, { i: 4 }, { execution: '2021-01-04T00:00:00Z' });
      const url = `/results?benchmark_id=${w.benchmark.id}`;
      t.same(ids(page(t, await app.inject({ url: `${url}&tags_ids=${a.id}` }))), [ab.id, abc.id, onlyA.id]);
      t.same(ids(page(t, await app.inject({ url: `${url}&tags_ids=${a.id}&tags_ids=${b.id}` }))), [ab.id, abc.id], 'all of, not any of');
      t.same(ids(page(t, await app.inject({ url: `${url}&tags_ids[]=${a.id}&tags_ids[]=${b.id}` }))), [ab.id, abc.id], 'bracket form');
      t.same(ids(page(t, await app.inject({ url: `${url}&tags_ids[]=${c.id}` }))), [abc.id], 'one bracketed value');
      t.same(ids(page(t, await app.inject({ url: `${url}&tags_ids=${c.id}&tags_ids=${c.id}` }))), [abc.id], 'a repeated tag');
      t.same(
        ids(page(t, await app.inject({ url: `${url}&tags_ids=${a.id}&tags_ids=${UNKNOWN_ID}` }))),
        [],
        'an unknown tag matches nothing',
      );
      t.equal(page(t, await app.inject({ url: `${url}&tags_ids=${a.id}&tags_ids=${b.id}` })).total, 2, 'total counts the same');
    });

    t.test('200 with execution and upload date ranges', async (t) => {
      const w = await world();
      const jan = await upload(w, { m: 1 }, { execution: '2020-01-15T12:00:00Z' });
      const feb = await upload(w, { m: 2 }, { execution: '2020-02-15T12:00:00Z' });
      const mar = await upload(w, { m: 3 }, { execution: '2020-03-15T12:00:00+01:00' });
      const url = `/results?benchmark_id=${w.benchmark.id}`;
      const list = async (query: string) => ids(page(t, await app.inject({ url: `${url}&${query}` })));
      t.same(await list('execution_after=2020-02-01'), [feb.id, mar.id]);
      t.same(await list('execution_before=2020-02-01'), [jan.id]);
      t.same(await list('execution_after=2020-01-31&execution_before=2020-03-01'), [feb.id]);
      t.same(await list('execution_after=2020-02-15T12:00:00Z'), [mar.id], 'after is strict');
      t.same(await list('execution_before=2020-03-15T11:00:01Z'), [jan.id, feb.id, mar.id], 'zones are honoured');
      t.same(await list('execution_before=2020-03-15T11:00:00Z'), [jan.id, feb.id]);
      t.same(await list(`execution_before=${encodeURIComponent('2020-03-15T12:00:01+01:00')}`), [jan.id, feb.id, mar.id]);
      t.same(await list('execution_before=2020-03-15 11:00:01Z'.replace(' ', '%20')), [jan.id, feb.id, mar.id], 'a space separator');
      const before = new Date(Date.now() - 60_000).toISOString();
      const after = new Date(Date.now() + 60_000).toISOString();
      t.same(await list(`upload_after=${before}&upload_before=${after}`), [jan.id, feb.id, mar.id]);
      t.same(await list(`upload_before=${before}`), []);
      t.same(await list(`upload_after=${after}`), []);
      const rows = await prisma.result.findMany({ where: { id: { in: [jan.id, feb.id, mar.id] } }, orderBy: { upload_datetime: 'asc' } });
      const middle = rows[1]?.upload_datetime.toISOString() ?? '';
      const later = await list(`upload_after=${middle}`);
      t.same(
        later,
        rows.slice(2).map((row) => row.id),
        'upload_after is strict',
      );
    });

    t.test('200 sorted by every allowed column, both directions', async (t) => {
      const prefix = uniqueDashed('sort');
      const wA = await world(
        {},
        { image: `${prefix}-a/bench`, siteName: `${prefix}-site-b`, address: `${prefix}-addr-a`, flavorName: `${prefix}-f-b` },
      );
      const wB = await world(
        {},
        { image: `${prefix}-b/bench`, siteName: `${prefix}-site-a`, address: `${prefix}-addr-b`, flavorName: `${prefix}-f-a` },
      );
      const r1 = await upload(wA, { i: 1 }, { execution: '2019-01-02T00:00:00Z' });
      const r2 = await upload(wB, { i: 2 }, { execution: '2019-01-01T00:00:00Z' });
      const tagged = await fx.tag();
      const filter = `tags_ids=${tagged.id}`;
      for (const r of [r1, r2]) {
        const response = await app.inject({
          method: 'PUT',
          url: `/results/${r.id}/tags`,
          headers: await ctx.auth(owner),
          payload: { tags_ids: [tagged.id] },
        });
        t.equal(response.statusCode, 204);
      }
      const byKey: Record<string, (r: Result) => string> = {
        id: (r) => r.id,
        upload_datetime: (r) => r.upload_datetime,
        execution_datetime: (r) => r.execution_datetime,
        benchmark_id: (r) => r.benchmark.id,
        benchmark_name: (r) => `${r.benchmark.docker_image}:${r.benchmark.docker_tag}`,
        site_id: (r) => r.site.id,
        site_name: (r) => r.site.name,
        site_address: (r) => r.site.address,
        flavor_id: (r) => r.flavor.id,
        flavor_name: (r) => r.flavor.name,
      };
      for (const [field, key] of Object.entries(byKey)) {
        const expected = [r1, r2].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0)).map((r) => r.id);
        t.not(key(r1), key(r2), `${field} differs between the two`);
        const up = ids(page(t, await app.inject({ url: `/results?${filter}&sort_by=%2B${field}` })));
        t.same(up, expected, `+${field}`);
        const down = ids(page(t, await app.inject({ url: `/results?${filter}&sort_by=-${field}` })));
        t.same(down, [...expected].reverse(), `-${field}`);
      }
      const combined = ids(page(t, await app.inject({ url: `/results?${filter}&sort_by=-benchmark_id,%2Bid` })));
      t.equal(combined.length, 2, 'several keys');
    });

    t.test('422 for bad parameters', async (t) => {
      const bad = [
        'sort_by=%2Bname',
        'sort_by=execution_datetime',
        'sort_by=%2Bjson.',
        'sort_by=%2Bjson.a..b',
        'sort_by=%2Bid,',
        'benchmark_id=abc',
        'site_id=1',
        'flavor_id=x',
        'tags_ids=x',
        'execution_before=2021-13-01',
        'execution_after=soon',
        'upload_before=2021-02-30',
        'upload_after=2021-01-01T25:00:00Z',
        'page=0',
        'per_page=0',
        'per_page=101',
        'page=a',
        'terms=x',
        'surprise=1',
      ];
      for (const query of bad) {
        const response = await app.inject({ url: `/results?${query}` });
        assertError(t, response, 422);
      }
      const sort = assertError(t, await app.inject({ url: '/results?sort_by=%2Bname' }), 422);
      t.match(sort.message, /name/);
    });

    t.test('200 or 422, never a 500, for a page far past the end', async (t) => {
      for (const p of ['1000000', '99999999999', '9007199254740993', '1e30']) {
        const response = await app.inject({ url: `/results?page=${p}` });
        t.ok([200, 422].includes(response.statusCode), `page=${p}: ${response.statusCode} ${response.body.slice(0, 300)}`);
      }
    });
  });

  t.test('SearchResults GET /results:search', async (t) => {
    const prefix = uniqueDashed('srch');
    const w = await world(
      {},
      {
        image: `${prefix}/c-ray`,
        tag: 'v1.2',
        siteName: `${prefix} Karlsruhe KIT`,
        address: `${prefix} 76131 Germany`,
        flavorName: `${prefix}-hpc.8core`,
      },
    );
    const w2 = await world(
      {},
      { image: `${prefix}/c-ray`, tag: 'v2', siteName: `${prefix} CESNET`, address: `${prefix} Brno`, flavorName: `${prefix}-m1.large` },
    );
    const gpu = await fx.tag(`${prefix}-gpu`);
    const pct = await fx.tag(`${prefix}-100%_x`);
    const r1 = await upload(w, { i: 1 }, { tags: [gpu.id], execution: '2021-01-01T00:00:00Z' });
    const r2 = await upload(w2, { i: 2 }, { tags: [pct.id], execution: '2021-01-02T00:00:00Z' });
    const search = async (terms: string[], extra = '') =>
      ids(
        page(t, await app.inject({ url: `/results:search?${terms.map((term) => `terms=${encodeURIComponent(term)}`).join('&')}${extra}` })),
      );

    t.test('200 when every term appears in some field', async (t) => {
      t.same(await search([prefix]), [r1.id, r2.id]);
      t.same(await search([prefix, 'Karlsruhe']), [r1.id], 'site name');
      t.same(await search([prefix, '76131']), [r1.id], 'site address');
      t.same(await search([prefix, 'hpc.8core']), [r1.id], 'flavor name');
      t.same(await search([prefix, 'Karlsruhe', 'Brno']), [], 'every term must appear');
      t.same(await search([`${prefix}/c-ray:v1`]), [r1.id], 'across the colon of image:tag');
      t.same(await search(['c-ray:v2', prefix]), [r2.id]);
      t.same(await search([`${prefix}-gpu`]), [r1.id], 'a tag name');
      t.same(await search([prefix, 'gpu']), [], 'a tag matches by its whole name');
      t.same(await search([prefix, 'karlsruhe']), [], 'case-sensitive');
      t.same(ids(page(t, await app.inject({ url: `/results:search?terms[]=${prefix}&terms[]=CESNET` }))), [r2.id], 'bracket form');
    });

    t.test('200 when one term names a tag of one result and the flavor of another', async (t) => {
      const other = uniqueDashed('either');
      const w3 = await world({}, { flavorName: other });
      const named = await fx.tag(other);
      const byTag = await upload(w, { i: 3 }, { tags: [named.id], execution: '2021-01-03T00:00:00Z' });
      const byFlavor = await upload(w3, { i: 4 }, { execution: '2021-01-04T00:00:00Z' });
      const found = page(t, await app.inject({ url: `/results:search?terms=${other}` }));
      t.same(ids(found), [byTag.id, byFlavor.id]);
      t.equal(found.total, 2);
      t.same(await search([other, prefix]), [byTag.id], 'and the other term must hold too');
      for (const r of [byTag, byFlavor]) {
        t.equal((await app.inject({ method: 'DELETE', url: `/results/${r.id}`, headers: await ctx.auth(admin) })).statusCode, 204);
      }
    });

    t.test('200 with % and _ as ordinary characters', async (t) => {
      t.same(await search([`${prefix}-100%_x`]), [r2.id]);
      t.same(await search([prefix, '%']), [], '% is not a wildcard');
      t.same(await search([prefix, '_']), [], '_ is not a wildcard');
      t.same(await search([`${prefix}-hpc_8core`]), [], '_ does not match .');
    });

    t.test('200 with an upload range, pagination and sorting', async (t) => {
      const later = new Date(Date.now() + 60_000).toISOString();
      t.same(await search([prefix], `&upload_before=${later}`), [r1.id, r2.id]);
      t.same(await search([prefix], `&upload_after=${later}`), []);
      t.same(await search([prefix], '&sort_by=-execution_datetime'), [r2.id, r1.id]);
      t.same(await search([prefix], '&sort_by=%2Bsite_name'), [r2.id, r1.id], 'CESNET before Karlsruhe');
      const second = page(t, await app.inject({ url: `/results:search?terms=${prefix}&per_page=1&page=2` }));
      t.same(ids(second), [r2.id]);
      t.equal(second.total, 2);
    });

    t.test('200 with text that is not in any result, quotes and unicode', async (t) => {
      for (const term of ["'; DROP TABLE results; --", '\\', '"', 'ü✓🚀', 'x'.repeat(256)]) {
        t.same(await search([prefix, term]), [], JSON.stringify(term.slice(0, 20)));
      }
      t.equal(await prisma.result.count({ where: { id: { in: [r1.id, r2.id] } } }), 2);
    });

    t.test('200 or 422, never a 500, for a NUL in a term', async (t) => {
      const response = await app.inject({ url: `/results:search?terms=${prefix}&terms=a%00b` });
      t.ok([200, 422].includes(response.statusCode), `${response.statusCode} ${response.body.slice(0, 300)}`);
      if (response.statusCode === 200) t.same(json<Results>(response).items, []);
    });

    t.test('422 for bad parameters', async (t) => {
      for (const query of [
        'sort_by=name',
        `benchmark_id=${w.benchmark.id}`,
        'filters=a%20%3D%3D%201',
        `terms=${'x'.repeat(257)}`,
        'upload_after=x',
      ]) {
        assertError(t, await app.inject({ url: `/results:search?${query}` }), 422);
      }
    });
  });

  t.test('GetResult GET /results/{result_id}', async (t) => {
    t.test('200 with its benchmark, site, flavor and tags', async (t) => {
      const w = await world({}, { tags: 1 });
      const r = await upload(w, { x: 1 }, { tags: [w.tags[0]?.id ?? ''] });
      const response = await app.inject({ url: `/results/${r.id}` });
      t.equal(response.statusCode, 200);
      const body = assertResult(t, json(response));
      t.same(body, r);
      t.same(body.tags, w.tags);
    });
    t.test("200: the JSON the upload answered, as every list, search and the uploader's list show it", async (t) => {
      // Lists and reads are written by PostgreSQL, the upload's answer by the
      // service: they must not differ in any value, order or format.
      const w = await world(
        {},
        { siteName: uniqueDashed('Ünïcode "site"'), address: 'Straße 1\\2', flavorName: uniqueDashed('flavor\ttab') },
      );
      const names = [
        uniqueDashed('b-Zeta'),
        uniqueDashed('a-alpha'),
        uniqueDashed('Émile'),
        uniqueDashed('B-upper'),
        uniqueDashed('😀-astral'),
        uniqueDashed('！-fullwidth'),
      ];
      const tags = [];
      for (const name of names) tags.push(await fx.tag(name));
      const body = {
        text: 'quote " backslash \\ newline \n tab \t bell \u0007 line-separator \u2028 emoji 😀 ✓',
        numbers: [0, -0, 0.1, 0.30000000000000004, 1e21, 1.5e-7, -273.15, 9007199254740991, 123456789.123],
        nested: { array: [[], {}, [null, true, false]], empty: '' },
        'key with spaces.and.dots': 1,
      };
      const uploaded = await upload(w, body, { tags: tags.map((tag) => tag.id), execution: '2021-06-30T23:59:59.999-01:30' });
      const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
      t.same(
        uploaded.tags.map((tag) => tag.name),
        [...names].sort(byCodePoint),
        'tags by code point (astral after U+FF01)',
      );
      t.equal(uploaded.execution_datetime, '2021-07-01T01:29:59.999Z');
      const views = {
        read: json<Result>(await app.inject({ url: `/results/${uploaded.id}` })),
        listed: json<Results>(await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}` })).items[0],
        searched: json<Results>(await app.inject({ url: `/results:search?terms=${encodeURIComponent(w.site.name)}` })).items[0],
        own: json<Results>(await app.inject({ url: `/users/self/results?benchmark_id=${w.benchmark.id}`, headers: await ctx.auth(owner) }))
          .items[0],
      };
      for (const [name, view] of Object.entries(views)) {
        t.strictSame(view, uploaded, `${name}: the same result`);
        t.same(Object.keys(view ?? {}), Object.keys(uploaded), `${name}: the same key order`);
      }
      t.strictSame(
        views.read.benchmark,
        json(await app.inject({ url: `/benchmarks/${w.benchmark.id}` })),
        'the benchmark as GET /benchmarks/{id}',
      );
      t.strictSame(views.read.site, json(await app.inject({ url: `/sites/${w.site.id}` })), 'the site as GET /sites/{id}');
      t.strictSame(views.read.flavor, json(await app.inject({ url: `/flavors/${w.flavor.id}` })), 'the flavor as GET /flavors/{id}');
    });
    t.test('404 for an unknown id', async (t) => {
      assertError(t, await app.inject({ url: `/results/${UNKNOWN_ID}` }), 404);
    });
    t.test('404 for a result deleted a moment ago', async (t) => {
      const w = await world();
      const r = await upload(w, { x: 1 });
      t.equal((await app.inject({ url: `/results/${r.id}` })).statusCode, 200);
      t.equal((await app.inject({ method: 'DELETE', url: `/results/${r.id}`, headers: await ctx.auth(admin) })).statusCode, 204);
      assertError(t, await app.inject({ url: `/results/${r.id}` }), 404);
    });
    t.test('422 for an id that is not a uuid', async (t) => {
      assertError(t, await app.inject({ url: '/results/abc' }), 422);
    });
  });

  t.test('DeleteResult DELETE /results/{result_id}', async (t) => {
    t.test('204 deletes the result, its tag links and its claims', async (t) => {
      const w = await world({}, { tags: 1 });
      const r = await upload(w, { x: 1 }, { tags: [w.tags[0]?.id ?? ''] });
      const claim = await fx.post<{ id: string }>(`/results/${r.id}:claim`, other, { message: 'wrong' });
      const response = await app.inject({ method: 'DELETE', url: `/results/${r.id}`, headers: await ctx.auth(admin) });
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.equal(await prisma.result.count({ where: { id: r.id } }), 0);
      t.equal(await prisma.resultTag.count({ where: { result_id: r.id } }), 0);
      t.equal(await prisma.claim.count({ where: { id: claim.id } }), 0);
      t.equal(await prisma.submit.count({ where: { claim_id: claim.id } }), 0);
      t.equal(await prisma.tag.count({ where: { id: w.tags[0]?.id ?? '' } }), 1, 'the tag itself stays');
      assertError(t, await app.inject({ url: `/results/${r.id}` }), 404);
    });
    t.test('401 without a token', async (t) => {
      const r = await upload(await world(), {});
      assertError(t, await app.inject({ method: 'DELETE', url: `/results/${r.id}` }), 401);
      t.equal(await prisma.result.count({ where: { id: r.id } }), 1);
    });
    t.test('403 for a user, even the uploader', async (t) => {
      const r = await upload(await world(), {});
      assertError(t, await app.inject({ method: 'DELETE', url: `/results/${r.id}`, headers: await ctx.auth(owner) }), 403);
      assertError(t, await app.inject({ method: 'DELETE', url: `/results/${r.id}`, headers: await ctx.auth(stranger) }), 403);
      t.equal(await prisma.result.count({ where: { id: r.id } }), 1);
    });
    t.test('404 for an unknown id', async (t) => {
      assertError(t, await app.inject({ method: 'DELETE', url: `/results/${UNKNOWN_ID}`, headers: await ctx.auth(admin) }), 404);
    });
    t.test('422 for an id that is not a uuid', async (t) => {
      assertError(t, await app.inject({ method: 'DELETE', url: '/results/abc', headers: await ctx.auth(admin) }), 422);
    });
  });

  t.test('UpdateResult PUT /results/{result_id}/tags', async (t) => {
    const put = async (id: string, payload: unknown, who?: Persona) =>
      app.inject({
        method: 'PUT',
        url: `/results/${id}/tags`,
        headers: { ...(who ? await ctx.auth(who) : {}), 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
    const linked = async (id: string) => (await prisma.resultTag.findMany({ where: { result_id: id } })).map((link) => link.tag_id).sort();

    t.test('204 replaces the tags for the uploader', async (t) => {
      const w = await world({}, { tags: 3 });
      const [a, b, c] = w.tags as [Tag, Tag, Tag];
      const r = await upload(w, {}, { tags: [a.id] });
      const response = await put(r.id, { tags_ids: [b.id, c.id, c.id] }, owner);
      t.equal(response.statusCode, 204, response.body);
      t.equal(response.body, '');
      t.same(await linked(r.id), [b.id, c.id].sort());
      const read = json<Result>(await app.inject({ url: `/results/${r.id}` }));
      t.same(read.tags.map((tag) => tag.id).sort(), [b.id, c.id].sort());
    });
    t.test('204 for an administrator, and an empty list removes them all', async (t) => {
      const w = await world({}, { tags: 1 });
      const r = await upload(w, {}, { tags: [w.tags[0]?.id ?? ''] });
      t.equal((await put(r.id, { tags_ids: [] }, admin)).statusCode, 204);
      t.same(await linked(r.id), []);
    });
    t.test('204 for the uploader of a claimed (hidden) result', async (t) => {
      const w = await world({}, { tags: 1 });
      const r = await upload(w, {});
      await fx.post(`/results/${r.id}:claim`, other, { message: 'hidden' });
      t.equal((await put(r.id, { tags_ids: [w.tags[0]?.id] }, owner)).statusCode, 204);
      t.same(await linked(r.id), [w.tags[0]?.id]);
    });
    t.test('401 without a token', async (t) => {
      const w = await world({}, { tags: 1 });
      const r = await upload(w, {});
      assertError(t, await put(r.id, { tags_ids: [w.tags[0]?.id] }), 401);
      assertError(t, await put(r.id, { nonsense: true }), 401);
      t.same(await linked(r.id), []);
    });
    t.test('403 for another user or an unregistered token holder', async (t) => {
      const w = await world({}, { tags: 1 });
      const r = await upload(w, {});
      const body = assertError(t, await put(r.id, { tags_ids: [w.tags[0]?.id] }, other), 403);
      t.match(body.message, /uploader|administrator/);
      assertError(t, await put(r.id, { tags_ids: [w.tags[0]?.id] }, stranger), 403);
      t.same(await linked(r.id), []);
    });
    t.test('403 before the body is looked at: who may act is decided first', async (t) => {
      const w = await world({}, { tags: 1 });
      const r = await upload(w, {});
      for (const payload of [{}, { tags_ids: 'x' }, { tags_ids: [], extra: 1 }, [1, 2]]) {
        const body = assertError(t, await put(r.id, payload, other), 403);
        t.match(body.message, /uploader|administrator/, JSON.stringify(payload));
      }
      const bad = await app.inject({
        method: 'PUT',
        url: `/results/${r.id}/tags`,
        headers: { ...(await ctx.auth(other)), 'content-type': 'application/json' },
        payload: '{not json',
      });
      assertError(t, bad, 403);
      t.same(await linked(r.id), []);
    });
    t.test('404 for an unknown result', async (t) => {
      assertError(t, await put(UNKNOWN_ID, { tags_ids: [] }, admin), 404);
      assertError(t, await put(UNKNOWN_ID, { tags_ids: [] }, owner), 404);
      // Before the body: an unknown result is a 404 whatever is sent.
      assertError(t, await put(UNKNOWN_ID, { nonsense: true }, owner), 404);
    });
    t.test('404 for an unknown tag, and nothing changes', async (t) => {
      const w = await world({}, { tags: 2 });
      const [a, b] = w.tags as [Tag, Tag];
      const r = await upload(w, {}, { tags: [a.id] });
      const body = assertError(t, await put(r.id, { tags_ids: [b.id, UNKNOWN_ID] }, owner), 404);
      t.match(body.message, new RegExp(UNKNOWN_ID));
      t.same(await linked(r.id), [a.id], 'the old tags stay');
    });
    t.test('422 for a malformed body or id', async (t) => {
      const w = await world({}, { tags: 1 });
      const r = await upload(w, {}, { tags: [w.tags[0]?.id ?? ''] });
      for (const payload of [
        {},
        { tags_ids: 'x' },
        { tags_ids: ['not-a-uuid'] },
        { tags_ids: [], extra: 1 },
        [w.tags[0]?.id],
        { tags_ids: [5] },
      ]) {
        assertError(t, await put(r.id, payload, owner), 422);
      }
      assertError(t, await put('abc', { tags_ids: [] }, owner), 422);
      t.same(await linked(r.id), [w.tags[0]?.id]);
    });
    t.test('204 for every one of 10 parallel replacements; the tags are then exactly one of the lists', async (t) => {
      const w = await world({}, { tags: 4 });
      const [a, b, c, d] = (w.tags as [Tag, Tag, Tag, Tag]).map((tag) => tag.id) as [string, string, string, string];
      const lists = [[a, b], [a, c], [b, c, d], [d], [a, b, c, d], [c, a], [b], [a, d], [d, c, b, a], [c]];
      for (let round = 0; round < 3; round += 1) {
        const r = await upload(w, { round }, { tags: [a] });
        const responses = await Promise.all(lists.map((tags_ids) => put(r.id, { tags_ids }, owner)));
        t.same([...new Set(responses.map((response) => response.statusCode))], [204], responses.map((response) => response.body).join(' '));
        const final = await linked(r.id);
        t.ok(
          lists.some((list) => JSON.stringify([...list].sort()) === JSON.stringify(final)),
          `round ${round}: ${final.join(',')} is one list`,
        );
      }
    });

    t.test('400 for unparseable JSON', async (t) => {
      const r = await upload(await world(), {});
      const response = await app.inject({
        method: 'PUT',
        url: `/results/${r.id}/tags`,
        headers: { ...(await ctx.auth(owner)), 'content-type': 'application/json' },
        payload: '{"tags_ids": [',
      });
      assertError(t, response, 400);
    });
  });

  t.test('ResultUploader GET /results/{result_id}/uploader', async (t) => {
    t.test('200 the uploader, for an administrator', async (t) => {
      const r = await upload(await world(), {});
      const response = await app.inject({ url: `/results/${r.id}/uploader`, headers: await ctx.auth(admin) });
      t.equal(response.statusCode, 200, response.body);
      const user = json<User>(response);
      t.same(Object.keys(user).sort(), USER_KEYS);
      t.equal(user.sub, owner.sub);
      t.equal(user.iss, oidc.issuer);
      t.equal(user.email, owner.email);
    });
    t.test('401 without a token', async (t) => {
      const r = await upload(await world(), {});
      assertError(t, await app.inject({ url: `/results/${r.id}/uploader` }), 401);
    });
    t.test('403 for a user, even the uploader', async (t) => {
      const r = await upload(await world(), {});
      assertError(t, await app.inject({ url: `/results/${r.id}/uploader`, headers: await ctx.auth(owner) }), 403);
      assertError(t, await app.inject({ url: `/results/${r.id}/uploader`, headers: await ctx.auth(stranger) }), 403);
    });
    t.test('404 for an unknown result', async (t) => {
      assertError(t, await app.inject({ url: `/results/${UNKNOWN_ID}/uploader`, headers: await ctx.auth(admin) }), 404);
    });
    t.test('422 for an id that is not a uuid', async (t) => {
      assertError(t, await app.inject({ url: '/results/1/uploader', headers: await ctx.auth(admin) }), 422);
    });
  });

  t.test('ListUserResults GET /users/self/results', async (t) => {
    t.test("200 the caller's results only, hidden ones included, with the filters of /results", async (t) => {
      const uploader = persona('self-results');
      await ctx.register(uploader);
      const w = await world({ type: 'object' }, { tags: 1 });
      const mine1 = await upload(w, { n: 1 }, { execution: '2020-01-01T00:00:00Z', tags: [w.tags[0]?.id ?? ''] }, uploader);
      const mine2 = await upload(w, { n: 5 }, { execution: '2020-01-02T00:00:00Z' }, uploader);
      const theirs = await upload(w, { n: 9 }, { execution: '2020-01-03T00:00:00Z' }, owner);
      await fx.post(`/results/${mine2.id}:claim`, other, { message: 'hide it' });
      const headers = await ctx.auth(uploader);
      const list = async (query = '') => ids(page(t, await app.inject({ url: `/users/self/results${query}`, headers })));
      t.same(await list(), [mine1.id, mine2.id], 'own results, the claimed one too');
      t.same(
        ids(page(t, await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}` }))),
        [mine1.id, theirs.id],
        'hidden in /results',
      );
      t.same(await list(`?benchmark_id=${w.benchmark.id}&tags_ids=${w.tags[0]?.id}`), [mine1.id]);
      t.same(await list('?filters=n%20%3E%202'), [mine2.id], 'JSON filters');
      t.same(await list('?filters=n+%3C+2'), [mine1.id], '+ as the separator');
      t.same(await list('?sort_by=-json.n'), [mine2.id, mine1.id]);
      t.same(await list('?execution_after=2020-01-01T12:00:00Z'), [mine2.id]);
      t.same(await list(`?site_id=${w.site.id}&flavor_id=${w.flavor.id}&per_page=1&page=2`), [mine2.id]);
      const other2 = await app.inject({ url: '/users/self/results', headers: await ctx.auth(other) });
      t.notOk(ids(page(t, other2)).includes(mine1.id), "not in another user's list");
    });
    t.test('401 without a token', async (t) => {
      assertError(t, await app.inject({ url: '/users/self/results' }), 401);
    });
    t.test('403 for a token holder who is not registered', async (t) => {
      assertError(t, await app.inject({ url: '/users/self/results', headers: await ctx.auth(stranger) }), 403);
    });
    t.test('422 for bad parameters', async (t) => {
      const headers = await ctx.auth(owner);
      for (const query of ['filters=a%20%3D~%201', 'sort_by=%2Bname', 'benchmark_id=x', 'per_page=500', 'terms=a']) {
        assertError(t, await app.inject({ url: `/users/self/results?${query}`, headers }), 422);
      }
    });
  });

  t.test('200 parallel uploads are all stored exactly once', async (t) => {
    const w = await world({ type: 'object', required: ['i'] }, { tags: 2 });
    const tagIds = w.tags.map((tag) => tag.id);
    const headers = { ...(await ctx.auth(owner)), 'content-type': 'application/json' };
    const url = uploadUrl(w, { tags: tagIds });
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => app.inject({ method: 'POST', url, headers, payload: JSON.stringify({ i }) })),
    );
    const codes = responses.map((response) => response.statusCode);
    t.same([...new Set(codes)], [201], `all 201: ${responses.find((r) => r.statusCode !== 201)?.body ?? ''}`);
    t.equal(new Set(responses.map((response) => json<Result>(response).id)).size, 200, '200 distinct ids');
    t.equal(await countResults(w.benchmark.id), 200, '200 rows');
    const stored = await prisma.result.findMany({ where: { benchmark_id: w.benchmark.id }, select: { json: true } });
    const values = stored.map((row) => (row.json as { i: number }).i).sort((a, b) => a - b);
    t.same(
      values,
      Array.from({ length: 200 }, (_, i) => i),
      'each body exactly once',
    );
    t.equal(await prisma.resultTag.count({ where: { result: { benchmark_id: w.benchmark.id } } }), 400, 'two tag links each');
    const listed = page(t, await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}&per_page=100&page=2` }));
    t.equal(listed.total, 200);
    t.equal(listed.items.length, 100);
  });
});
