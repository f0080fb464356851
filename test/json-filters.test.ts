// JSON filters and JSON sorting of results (docs/CONTRACT.md §4), on PGlite and on
// PostgreSQL: every operator on numbers, booleans and text; missing paths and
// mixed types at one path (no 500, only the right type matches); several
// filters, with benchmark_id and tags; both separators; malformed filters
// (422 with an example); injection-shaped paths and values (the data stays
// intact); sorting by a JSON path, alone and with columns.
import t from 'tap';
import { adminPersona, eachDatabase, json, persona, type Test as Tap, type TestContext } from './helpers/app.js';
import { assertError } from './helpers/assertions.js';
import type { Results } from './helpers/contract.js';
import { fixtures, uniqueDashed, type World } from './helpers/fixtures.js';

/** `filters=<encoded>` for each filter, spaces as %20. */
function filters(...conditions: string[]): string {
  return conditions.map((condition) => `filters=${encodeURIComponent(condition)}`).join('&');
}

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app } = ctx;
  const prisma = ctx.db.prisma;
  const admin = adminPersona('filters-admin');
  const owner = persona('filters-owner');
  await ctx.register(admin);
  await ctx.register(owner);

  const fx = fixtures(ctx, admin, owner);
  /** An approved benchmark, site and flavor of their own. */
  const world = () => fx.world({}, { image: `${uniqueDashed('jf')}/bench`, address: 'somewhere', flavorName: 'f' });

  let executionCount = 0;
  /** Uploads `body`: its id. Each upload is executed a minute after the previous one unless told. */
  async function upload(w: World, body: Record<string, unknown>, options: { execution?: string; tags?: string[] } = {}): Promise<string> {
    executionCount += 1;
    const execution = options.execution ?? new Date(Date.UTC(2020, 0, 1) + executionCount * 60_000).toISOString();
    return (await fx.upload(w, body, { execution, tags: options.tags ?? [] })).id;
  }

  async function list(t: Tap, query: string): Promise<string[]> {
    const response = await app.inject({ url: `/results?${query}` });
    t.equal(response.statusCode, 200, `${query.slice(0, 200)}: ${response.body.slice(0, 300)}`);
    if (response.statusCode !== 200) return [];
    const page = json<Results>(response);
    if (!query.includes('per_page=')) t.equal(page.total, page.items.length, 'total agrees with the items');
    return page.items.map((item) => item.id);
  }

  const sorted = (values: string[]) => [...values].sort();

  // One set of results with every type at the same paths.
  const w = await world();
  const scoped = `benchmark_id=${w.benchmark.id}`;
  const r = {
    four: await upload(w, { machine: { cpu: { count: 4 } }, flag: true, units: 'seconds', score: 10.5, name: 'alpha' }),
    sixteen: await upload(w, { machine: { cpu: { count: 16 } }, flag: false, units: 'minutes', score: -2, name: 'beta' }),
    text: await upload(w, { machine: { cpu: { count: '8' } }, flag: 'true', units: 5, score: '10.5', name: 'gamma' }),
    object: await upload(w, { machine: { cpu: { count: { value: 4 } } }, flag: { value: true }, units: ['seconds'], name: 'delta' }),
    nulls: await upload(w, { machine: { cpu: { count: null } }, flag: null, units: null, score: null, name: null }),
    array: await upload(w, { machine: { cpu: [4, 16] }, units: 'hours', name: 'epsilon' }),
    missing: await upload(w, { other: 1 }),
    fraction: await upload(w, { machine: { cpu: { count: 4.0 } }, flag: true, units: 'hours', score: 1e2, name: 'alpha beta' }),
  };
  const all = Object.values(r);

  t.test('numbers: every operator, only numbers match', async (t) => {
    t.same(sorted(await list(t, `${scoped}&${filters('machine.cpu.count == 4')}`)), sorted([r.four, r.fraction]), '== (4.0 equals 4)');
    t.same(await list(t, `${scoped}&${filters('machine.cpu.count > 4')}`), [r.sixteen], '> (the string "8" does not match)');
    t.same(sorted(await list(t, `${scoped}&${filters('machine.cpu.count >= 4')}`)), sorted([r.four, r.sixteen, r.fraction]), '>=');
    t.same(
      await list(t, `${scoped}&${filters('machine.cpu.count < 16')}`),
      [r.four, r.fraction].sort((a, b) => all.indexOf(a) - all.indexOf(b)),
      '<',
    );
    t.same(sorted(await list(t, `${scoped}&${filters('machine.cpu.count <= 16')}`)), sorted([r.four, r.sixteen, r.fraction]), '<=');
    t.same(await list(t, `${scoped}&${filters('machine.cpu.count == 8')}`), [], '8 is compared as a number: the string "8" does not match');
    t.same(await list(t, `${scoped}&${filters('score > 10.4')}`), [r.four, r.fraction], 'decimals');
    t.same(await list(t, `${scoped}&${filters('score < 0')}`), [r.sixteen], 'negatives');
    t.same(await list(t, `${scoped}&${filters('score >= -2.0')}`), [r.four, r.sixteen, r.fraction], 'negative decimal');
    t.same(await list(t, `${scoped}&${filters('score == 1E2')}`), [r.fraction], 'exponent notation');
    t.same(await list(t, `${scoped}&${filters('score < .5')}`), [r.sixteen], 'leading dot');
    t.same(await list(t, `${scoped}&${filters('score == 0010.50')}`), [r.four], 'leading and trailing zeros');
    t.same(await list(t, `${scoped}&${filters('machine.cpu.0 == 4')}`), [r.array], 'an array index in the path');
    t.same(await list(t, `${scoped}&${filters('machine.cpu.1 > 10')}`), [r.array]);
  });

  t.test('booleans: every operator, any case, only booleans match', async (t) => {
    t.same(await list(t, `${scoped}&${filters('flag == true')}`), [r.four, r.fraction], '== true (not the string "true")');
    t.same(await list(t, `${scoped}&${filters('flag == TRUE')}`), [r.four, r.fraction], 'upper case');
    t.same(await list(t, `${scoped}&${filters('flag == False')}`), [r.sixteen], 'mixed case');
    t.same(await list(t, `${scoped}&${filters('flag > false')}`), [r.four, r.fraction], '>');
    t.same(await list(t, `${scoped}&${filters('flag < true')}`), [r.sixteen], '<');
    t.same(await list(t, `${scoped}&${filters('flag >= false')}`), [r.four, r.sixteen, r.fraction], '>=');
    t.same(await list(t, `${scoped}&${filters('flag <= true')}`), [r.four, r.sixteen, r.fraction], '<=');
    t.same(await list(t, `${scoped}&${filters('flag.value == true')}`), [r.object], 'a path into an object');
  });

  t.test('text: every operator, only strings match', async (t) => {
    t.same(await list(t, `${scoped}&${filters('units == seconds')}`), [r.four], '== (not the array ["seconds"])');
    t.same(await list(t, `${scoped}&${filters('units == Seconds')}`), [], 'case-sensitive');
    t.same(await list(t, `${scoped}&${filters('units > minutes')}`), [r.four], '>');
    t.same(sorted(await list(t, `${scoped}&${filters('units < minutes')}`)), sorted([r.array, r.fraction]), '<');
    t.same(sorted(await list(t, `${scoped}&${filters('units >= minutes')}`)), sorted([r.four, r.sixteen]), '>=');
    t.same(sorted(await list(t, `${scoped}&${filters('units <= minutes')}`)), sorted([r.sixteen, r.array, r.fraction]), '<=');
    t.same(await list(t, `${scoped}&${filters('units == 5')}`), [r.text], '5 is a number: only the number 5 matches');
    t.same(await list(t, `${scoped}&${filters('name == alpha')}`), [r.four], 'exact, not a prefix');
    t.same(await list(t, `${scoped}&${filters('name == null')}`), [], 'the word null is text; JSON null is not text');
    t.same(await list(t, `${scoped}&${filters('score == 10.5')}`), [r.four], 'the string "10.5" is not the number');
  });

  t.test('a path missing, or of another type, on some results: no 500, no match', async (t) => {
    t.same(await list(t, `${scoped}&${filters('nowhere.at.all == 1')}`), []);
    t.same(await list(t, `${scoped}&${filters('nowhere == x')}`), []);
    t.same(await list(t, `${scoped}&${filters('nowhere == true')}`), []);
    t.same(await list(t, `${scoped}&${filters('machine.cpu.count.value == 4')}`), [r.object], 'deeper than a number elsewhere');
    t.same(await list(t, `${scoped}&${filters('other.deeper > 0')}`), [], 'through a number');
    t.same(await list(t, `${scoped}&${filters('name.first == a')}`), [], 'through a string');
    t.same(await list(t, `${scoped}&${filters('machine.cpu.x == 4')}`), [], 'a key into an array');
    t.same(await list(t, `${scoped}&${filters('machine.cpu.count > -1000000')}`), [r.four, r.sixteen, r.fraction]);
    for (const [op, value] of [
      ['>', '1'],
      ['<', 'z'],
      ['==', 'false'],
    ]) {
      const response = await app.inject({ url: `/results?${filters(`machine.cpu.count ${op} ${value}`)}` });
      t.equal(response.statusCode, 200, `across every result in the database: ${op} ${value}`);
    }
  });

  t.test('several filters all hold, with benchmark_id, tags and dates', async (t) => {
    t.same(await list(t, `${scoped}&${filters('machine.cpu.count >= 4', 'flag == true', 'units == hours')}`), [r.fraction]);
    t.same(await list(t, `${scoped}&${filters('machine.cpu.count > 4', 'machine.cpu.count < 16')}`), [], 'a range with no match');
    t.same(await list(t, `${scoped}&${filters('machine.cpu.count > 3', 'machine.cpu.count < 16')}`), [r.four, r.fraction]);
    t.same(await list(t, `${scoped}&${filters('name == alpha', 'name == beta')}`), [], 'contradictory');
    t.same(await list(t, `${scoped}&${filters('score > 0', 'score > 0')}`), [r.four, r.fraction], 'a repeated filter');
    const otherWorld = await world();
    const elsewhere = await upload(otherWorld, { machine: { cpu: { count: 4 } }, flag: true });
    const unscoped = await list(t, `${filters('machine.cpu.count == 4', 'flag == true')}&per_page=100&sort_by=-upload_datetime`);
    t.ok(unscoped.includes(elsewhere) && unscoped.includes(r.four), 'without benchmark_id every benchmark is searched');
    t.same(
      await list(t, `benchmark_id=${otherWorld.benchmark.id}&${filters('machine.cpu.count == 4')}`),
      [elsewhere],
      'benchmark_id narrows it',
    );
    const tag = await fx.tag(uniqueDashed('jf-tag'));
    const tagged = await upload(w, { machine: { cpu: { count: 4 } }, tagged: true }, { tags: [tag.id], execution: '2019-06-01T00:00:00Z' });
    t.same(await list(t, `tags_ids=${tag.id}&${filters('machine.cpu.count == 4')}`), [tagged], 'with tags_ids');
    t.same(await list(t, `${scoped}&execution_before=2019-12-31&${filters('machine.cpu.count == 4')}`), [tagged], 'with a date range');
    t.same(
      await list(t, `${scoped}&${filters('machine.cpu.count == 4', 'tagged == true')}&per_page=1&page=1`),
      [tagged],
      'with pagination',
    );
    await prisma.result.delete({ where: { id: tagged } });
  });

  t.test('%20 and + as the separator, both array forms', async (t) => {
    const expected = [r.sixteen];
    t.same(await list(t, `${scoped}&filters=machine.cpu.count%20%3E%204`), expected, '%20');
    t.same(await list(t, `${scoped}&filters=machine.cpu.count+%3E+4`), expected, '+');
    t.same(await list(t, `${scoped}&filters=machine.cpu.count+>+4`), expected, '+ with a bare >');
    t.same(await list(t, `${scoped}&filters[]=machine.cpu.count%20%3E%204`), expected, 'filters[]');
    t.same(await list(t, `${scoped}&filters[]=machine.cpu.count+%3E%3D+4&filters[]=flag+%3D%3D+false`), expected, 'two filters[]');
    t.same(await list(t, `${scoped}&filters=units+%3D%3D+seconds&filters=flag%20%3D%3D%20true`), [r.four], 'mixed separators');
  });

  t.test('422 for a malformed filter, saying why and showing an example', async (t) => {
    const cases: [string, RegExp][] = [
      ['machine.cpu.count >', /three parts/],
      ['machine.cpu.count', /three parts/],
      ['machine.cpu.count > 4 5', /three parts/],
      ['units == Total Time', /three parts/],
      ['machine.cpu.count  > 4', /three parts/],
      [' machine.cpu.count > 4', /three parts/],
      ['machine.cpu.count > 4 ', /three parts/],
      ['', /three parts/],
      ['machine.cpu.count =~ 4', /operator/],
      ['machine.cpu.count != 4', /operator/],
      ['machine.cpu.count = 4', /operator/],
      ['machine.cpu.count => 4', /operator/],
      ['a..b == 1', /path/],
      ['.a == 1', /path/],
      ['a. == 1', /path/],
      ['. == 1', /path/],
      [`${Array.from({ length: 40 }, (_, i) => `k${i}`).join('.')} == 1`, /path/],
    ];
    for (const [filter, reason] of cases) {
      const body = assertError(t, await app.inject({ url: `/results?${scoped}&${filters(filter)}` }), 422);
      t.match(body.message, reason, `${JSON.stringify(filter)}: says why`);
      t.match(body.message, /e\.g\. filters=/, 'shows an example');
      t.ok(body.errors && 'query.filters' in body.errors, 'names the parameter');
    }
    const second = assertError(t, await app.inject({ url: `/results?${scoped}&${filters('a == 1', 'b ~ 2')}` }), 422);
    t.match(second.message, /b ~ 2/, 'a bad filter after a good one');
    assertError(t, await app.inject({ url: `/results?${scoped}&filters=${'a'.repeat(1025)}` }), 422);
    assertError(t, await app.inject({ url: `/users/self/results?${filters('a =~ 1')}`, headers: await ctx.auth(owner) }), 422);
  });

  t.test('injection-shaped paths and values: 200 or 422, and the data is intact', async (t) => {
    const count = async () => ({
      results: await prisma.result.count(),
      tags: await prisma.resultTag.count(),
      benchmarks: await prisma.benchmark.count(),
      users: await prisma.user.count(),
    });
    const before = await count();
    const nasty = [
      "'; DROP TABLE results; --",
      "';DROP_TABLE_results;--",
      "x'||pg_sleep(5)||'",
      "1'OR'1'='1",
      '1);DELETE/**/FROM/**/results;--',
      '"',
      "'",
      '\\',
      '\\\\',
      '\\"',
      '%',
      '_',
      '%_%',
      '$1',
      '::text',
      '{a,b}',
      '{"a"}',
      'ü✓🚀日本',
      '\u202e',
      'x'.repeat(1000),
      '1e999999',
      '-1e999999',
      '1e-999999',
      '9'.repeat(1000),
      `0.${'0'.repeat(990)}1`,
    ];
    for (const text of nasty) {
      // [query, whether a match is impossible]
      const queries: [string, boolean][] = [
        [filters(`units == ${text}`), true],
        [filters(`units > ${text}`), false],
        [filters(`${text} == 1`), true],
        [filters(`${text}.x <= true`), true],
        [filters(`a.${text}.b >= ${text}`), true],
      ];
      for (const [query, none] of queries) {
        const response = await app.inject({ url: `/results?${scoped}&${query}` });
        t.ok([200, 422].includes(response.statusCode), `${query.slice(0, 80)}: ${response.statusCode} ${response.body.slice(0, 200)}`);
        if (response.statusCode === 200 && none) t.same(json<Results>(response).items, [], 'nothing matches');
      }
      const sort = await app.inject({ url: `/results?${scoped}&sort_by=${encodeURIComponent(`-json.${text}`)}` });
      t.ok([200, 422].includes(sort.statusCode), `sort by ${text.slice(0, 40)}: ${sort.statusCode} ${sort.body.slice(0, 200)}`);
    }
    t.same(await count(), before, 'every table intact');
    t.same(sorted(await list(t, `${scoped}&per_page=100`)), sorted(all), 'the results still listed');
  });

  t.test('422 for a NUL character in a filter or a JSON sort path', async (t) => {
    for (const query of [filters('units == a\u0000b'), filters('a\u0000b == 1'), `sort_by=${encodeURIComponent('+json.a\u0000')}`]) {
      assertError(t, await app.inject({ url: `/results?${scoped}&${query}` }), 422);
    }
    const body = assertError(t, await app.inject({ url: `/results?${scoped}&${filters('units == a\u0000b')}` }), 422);
    t.match(body.message, /NUL/);
  });

  t.test('422 for a number beyond what PostgreSQL can compare, 200 up to it', async (t) => {
    for (const value of ['1e1001', '-1e999999', '1E-1001', `1e${'9'.repeat(400)}`]) {
      const body = assertError(t, await app.inject({ url: `/results?${scoped}&${filters(`score > ${value}`)}` }), 422);
      t.match(body.message, /out of range/);
      t.match(body.message, /e\.g\. filters=/);
    }
    t.same(await list(t, `${scoped}&${filters('score < 1e1000')}`), [r.four, r.sixteen, r.fraction]);
    t.same(await list(t, `${scoped}&${filters('score > -1E+1000')}`), [r.four, r.sixteen, r.fraction]);
    t.same(await list(t, `${scoped}&${filters('score > 1e-1000')}`), [r.four, r.fraction]);
  });

  t.test('keys holding quotes, commas, braces and backslashes are matched exactly', async (t) => {
    const weird = { 'we"ird': { 'k,ey': { '{x}': 1, 'b\\s': 'q\'u"o\\te', 'sp%ce_': true, 'ü✓': 2, NULL: 3, '': 4 } }, 'q"{}\\': 5 };
    const id = await upload(w, weird);
    t.same(await list(t, `${scoped}&${filters('we"ird.k,ey.{x} == 1')}`), [id], 'a " , { } in keys');
    t.same(await list(t, `${scoped}&${filters('we"ird.k,ey.b\\s == q\'u"o\\te')}`), [id], 'backslash and quotes');
    t.same(await list(t, `${scoped}&${filters('we"ird.k,ey.sp%ce_ == true')}`), [id], '% and _ in a key are literal');
    t.same(await list(t, `${scoped}&${filters('we"ird.k,ey.sp_ce_ == true')}`), [], '_ is no wildcard');
    t.same(await list(t, `${scoped}&${filters('we"ird.k,ey.ü✓ == 2')}`), [id], 'unicode key');
    t.same(await list(t, `${scoped}&${filters('we"ird.k,ey.NULL == 3')}`), [id], 'the key NULL is a key');
    t.same(
      await list(t, `${scoped}&${filters('q"{}\\ >= 5')}&sort_by=${encodeURIComponent('-json.q"{}\\')}`),
      [id],
      'filter and sort by the same odd key',
    );
    t.same(
      (await list(t, `${scoped}&sort_by=${encodeURIComponent('-json.q"{}\\')}&per_page=1`))[0],
      id,
      'the only number there sorts first',
    );
    await prisma.result.delete({ where: { id } });
  });

  t.test('sort by a JSON path: numbers numerically, then other values, missing last', async (t) => {
    const s = await world();
    const ids = {
      two: await upload(s, { metric: 2, group: 'b' }),
      ten: await upload(s, { metric: 10, group: 'a' }),
      fraction: await upload(s, { metric: 1.5, group: 'b' }),
      negative: await upload(s, { metric: -3, group: 'a' }),
      big: await upload(s, { metric: 1e20, group: 'a' }),
      text: await upload(s, { metric: '7', group: 'b' }),
      bool: await upload(s, { metric: true, group: 'a' }),
      object: await upload(s, { metric: { v: 1 }, group: 'b' }),
      missing: await upload(s, { group: 'a' }),
    };
    const numbersUp = [ids.negative, ids.fraction, ids.two, ids.ten, ids.big];
    const others = [ids.text, ids.bool, ids.object];
    const base = `benchmark_id=${s.benchmark.id}`;
    const up = await list(t, `${base}&sort_by=%2Bjson.metric`);
    t.same(up.slice(0, 5), numbersUp, 'ascending numerically: 2 before 10');
    t.same(sorted(up.slice(5, 8)), sorted(others), 'other types after the numbers');
    t.equal(up[8], ids.missing, 'missing last');
    const down = await list(t, `${base}&sort_by=-json.metric`);
    t.same(down.slice(0, 5), [...numbersUp].reverse(), 'descending numerically');
    t.same(sorted(down.slice(5, 8)), sorted(others));
    t.equal(down[8], ids.missing, 'missing last when descending too');
    const grouped = await list(t, `${base}&sort_by=%2Bjson.group,-json.metric`);
    // Within a group: numbers descending, then the other values in jsonb's descending order (object > string), missing last.
    t.same(grouped, [ids.big, ids.ten, ids.negative, ids.bool, ids.missing, ids.two, ids.fraction, ids.object, ids.text], 'two JSON keys');
    const withColumn = await list(t, `${base}&sort_by=%2Bjson.group,-execution_datetime`);
    t.same(
      withColumn,
      [ids.missing, ids.bool, ids.big, ids.negative, ids.ten, ids.object, ids.text, ids.fraction, ids.two],
      'a JSON key then a column',
    );
    const columnFirst = await list(t, `${base}&sort_by=%2Bsite_name,%2Bjson.metric`);
    t.same(columnFirst.slice(0, 5), numbersUp, 'a column then a JSON key');
    const filtered = await list(t, `${base}&${filters('metric > 1')}&sort_by=-json.metric`);
    t.same(filtered, [ids.big, ids.ten, ids.two, ids.fraction], 'with a filter');
    const paged = [];
    for (let p = 1; p <= 3; p += 1) paged.push(...(await list(t, `${base}&sort_by=%2Bjson.metric&per_page=4&page=${p}`)));
    t.same(paged, up, 'pages follow the same order');
    t.same(await list(t, `${base}&sort_by=%2Bjson.nowhere`), await list(t, `${base}&sort_by=%2Bid`), 'a path no result has: by id');
  });

  t.test('sort by a JSON path: 422 for a malformed one', async (t) => {
    for (const sort of ['json.', 'json..a', 'json.a..b', 'json', `json.${Array.from({ length: 40 }, () => 'k').join('.')}`]) {
      assertError(t, await app.inject({ url: `/results?${scoped}&sort_by=%2B${sort}` }), 422);
    }
    assertError(t, await app.inject({ url: `/results?${scoped}&sort_by=json.a` }), 422);
  });
});
