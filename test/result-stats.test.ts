// GET /results:stats on PGlite and on PostgreSQL: statistics of a metric per
// flavor, site, benchmark and tag, best first; what is skipped and what is
// left out (claimed results); the baseline comparison, checked against R's
// published Welch test of the `sleep` data; every status code. Expected
// figures are computed here from the uploaded values, not by the service's
// code.
import t from 'tap';
import { adminPersona, eachDatabase, json, persona, type Test as Tap, type TestContext } from './helpers/app.js';
import { assertError } from './helpers/assertions.js';
import type { MetricSummary as Summary, Statistics } from './helpers/contract.js';
import { fixtures, UNKNOWN_ID, uniqueDashed } from './helpers/fixtures.js';

/** Student's sleep data (Cushny & Peebles 1905), as in R's `sleep`: extra hours of sleep under two drugs. */
const SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
/** R: `t.test(extra ~ group, data = sleep)` → t = -1.8608, df = 17.776, p-value = 0.07939. */
const SLEEP_WELCH_P = 0.07939;
/** R: `t.test(sleep$extra[1:10])` → 95 percent confidence interval: -0.5297804 2.0297804. */
const SLEEP_1_MEAN_CI = { low: -0.5297804, high: 2.0297804 };

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const stddev = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
/** Linear interpolation between order statistics (R's type 7, PostgreSQL's percentile_cont). */
function quantile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  return (sorted[lo] as number) + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] as number) - (sorted[lo] as number));
}
/** x(j) of the sorted values, 1-based. */
const order = (xs: number[], j: number) => [...xs].sort((a, b) => a - b)[j - 1] as number;

function assertSummary(t: Tap, actual: Summary | null | undefined, values: number[], label: string): void {
  if (!actual) {
    t.fail(`${label}: no summary`);
    return;
  }
  t.equal(actual.n, values.length, `${label}: n`);
  t.ok(Math.abs(actual.mean - mean(values)) < 1e-9, `${label}: mean ${actual.mean}`);
  if (values.length > 1) t.ok(Math.abs((actual.stddev ?? Number.NaN) - stddev(values)) < 1e-9, `${label}: stddev`);
  else t.equal(actual.stddev, null, `${label}: no stddev of one value`);
  t.equal(actual.min, Math.min(...values), `${label}: min`);
  t.equal(actual.max, Math.max(...values), `${label}: max`);
  for (const [key, p] of [
    ['p25', 0.25],
    ['median', 0.5],
    ['p75', 0.75],
    ['p95', 0.95],
  ] as const) {
    t.ok(Math.abs(actual[key] - quantile(values, p)) < 1e-9, `${label}: ${key} ${actual[key]} = ${quantile(values, p)}`);
  }
}

eachDatabase(t, async (t, ctx: TestContext) => {
  const { app } = ctx;
  const admin = adminPersona('stats-admin');
  const owner = persona('stats-owner');
  const claimer = persona('stats-claimer');
  await ctx.register(admin);
  await ctx.register(owner);
  await ctx.register(claimer);
  const fx = fixtures(ctx, admin, owner);

  // One benchmark; site A with flavors a1 (sleep group 1) and a2 (sleep group 2); site B with b1 (one value).
  const w = await fx.world({}, { siteName: `A-${uniqueDashed('s')}`, flavorName: 'a1' });
  const a2 = await fx.flavor(w.site.id, { name: 'a2' });
  const siteB = await fx.site({ name: `B-${uniqueDashed('s')}` });
  const b1 = await fx.flavor(siteB.id, { name: 'b1' });
  const [tagX, tagY] = [await fx.tag(), await fx.tag()];
  const other = await fx.world({}, { flavorName: 'elsewhere' });

  let minute = 0;
  const upload = async (flavor: string, body: Record<string, unknown>, tags: string[] = []) => {
    minute += 1;
    const execution = new Date(Date.UTC(2024, 0, 1) + minute * 60_000).toISOString();
    return fx.upload(w, body, { flavor, execution, tags });
  };
  for (const [i, x] of SLEEP_1.entries()) await upload(w.flavor.id, { extra: x, hours: { total: 8 + x } }, i < 3 ? [tagX.id, tagY.id] : []);
  for (const x of SLEEP_2) await upload(a2.id, { extra: x, hours: { total: 8 + x } }, [tagY.id]);
  await upload(b1.id, { extra: 10 });
  // Not numbers at `extra`: skipped, in their groups and overall.
  await upload(b1.id, { extra: '10' });
  await upload(b1.id, { extra: null });
  await upload(b1.id, { other: 1 });
  // A claimed result is left out, like in lists.
  const claimed = await upload(b1.id, { extra: 1000 });
  const claim = await app.inject({
    method: 'POST',
    url: `/results/${claimed.id}:claim`,
    headers: await ctx.auth(claimer),
    payload: { message: 'wrong' },
  });
  t.equal(claim.statusCode, 201, 'the claim hides a result');
  await fx.upload(other, { extra: 5000 });

  const scoped = `benchmark_id=${w.benchmark.id}`;
  async function stats(t: Tap, query: string): Promise<Statistics> {
    const response = await app.inject({ url: `/results:stats?${query}` });
    t.equal(response.statusCode, 200, `${query}: ${response.body.slice(0, 300)}`);
    return json<Statistics>(response);
  }

  t.test('200: per flavor, best first, each group summarised as computed from its values', async (t) => {
    const answer = await stats(t, `${scoped}&metric=extra`);
    t.equal(answer.metric, 'extra');
    t.equal(answer.group_by, 'flavor', 'flavor by default');
    t.equal(answer.better, 'higher', 'higher by default');
    t.equal(answer.baseline, null);
    t.same(answer.query, { benchmark_id: w.benchmark.id }, 'the filters are echoed');
    t.same(
      answer.groups.map((group) => group.name),
      [`${siteB.name} / b1`, `${w.site.name} / a2`, `${w.site.name} / a1`],
      'groups by median, highest first; a flavor names its site',
    );
    const [gb1, ga2, ga1] = answer.groups;
    t.same([gb1?.id, ga2?.id, ga1?.id], [b1.id, a2.id, w.flavor.id], 'ids are the flavors');
    assertSummary(t, ga1, SLEEP_1, 'a1');
    assertSummary(t, ga2, SLEEP_2, 'a2');
    assertSummary(t, gb1, [10], 'b1');
    assertSummary(t, answer.overall, [...SLEEP_1, ...SLEEP_2, 10], 'overall');
    t.equal(gb1?.skipped, 3, 'a string, a null and a missing value are skipped in their group');
    t.equal(answer.skipped, 3, 'and overall; the claimed result is not counted at all');
    t.equal(answer.overall?.n, 21, 'the claimed result and the other benchmark are left out');
    t.same(
      ga1?.median_ci,
      { low: order(SLEEP_1, 2), high: order(SLEEP_1, 9) },
      'n = 10: the median interval is [x(2), x(9)] (binomial tables)',
    );
    t.ok(
      ga1?.mean_ci && Math.abs(ga1.mean_ci.low - SLEEP_1_MEAN_CI.low) < 1e-6 && Math.abs(ga1.mean_ci.high - SLEEP_1_MEAN_CI.high) < 1e-6,
      `the mean's t interval equals R's: ${JSON.stringify(ga1?.mean_ci)}`,
    );
    t.equal(gb1?.median_ci, null, 'one value: no median interval');
    t.equal(gb1?.mean_ci, null, 'one value: no mean interval');
    t.equal(ga1?.first_execution, '2024-01-01T00:01:00.000Z', 'first execution');
    t.equal(ga1?.last_execution, '2024-01-01T00:10:00.000Z', 'last execution');
    t.equal(gb1?.last_execution, '2024-01-01T00:21:00.000Z', 'the dates of skipped results do not count');
    t.ok(
      answer.groups.every((group) => group.comparison === null),
      'no comparison without a baseline',
    );
  });

  t.test('200: better=lower puts the smallest median first', async (t) => {
    const answer = await stats(t, `${scoped}&metric=extra&better=lower`);
    t.same(
      answer.groups.map((group) => group.id),
      [w.flavor.id, a2.id, b1.id],
    );
  });

  t.test('200: group_by site, benchmark and tag', async (t) => {
    const bySite = await stats(t, `${scoped}&metric=extra&group_by=site`);
    t.same(
      bySite.groups.map((group) => [group.id, group.name]),
      [
        [siteB.id, siteB.name],
        [w.site.id, w.site.name],
      ],
    );
    assertSummary(t, bySite.groups[1], [...SLEEP_1, ...SLEEP_2], 'site A');

    const byBenchmark = await stats(t, `metric=extra&group_by=benchmark&better=lower`);
    t.same(
      byBenchmark.groups.map((group) => [group.id, group.name, group.n]),
      [
        [w.benchmark.id, `${w.benchmark.docker_image}:${w.benchmark.docker_tag}`, 21],
        [other.benchmark.id, `${other.benchmark.docker_image}:${other.benchmark.docker_tag}`, 1],
      ],
      'every benchmark when none is chosen',
    );

    const byTag = await stats(t, `${scoped}&metric=extra&group_by=tag`);
    const x = byTag.groups.find((group) => group.id === tagX.id);
    const y = byTag.groups.find((group) => group.id === tagY.id);
    t.equal(x?.name, tagX.name);
    assertSummary(t, x, SLEEP_1.slice(0, 3), 'tag X');
    assertSummary(t, y, [...SLEEP_1.slice(0, 3), ...SLEEP_2], 'tag Y: a result counts in each of its tags');
    t.equal(byTag.groups.length, 2, 'results without tags are in no tag group');
    t.equal(byTag.overall?.n, 21, 'overall counts each result once');
  });

  t.test('200: with a baseline, Welch p-values equal R on the sleep data', async (t) => {
    const answer = await stats(t, `${scoped}&metric=extra&baseline=${w.flavor.id}`);
    t.equal(answer.baseline, w.flavor.id);
    const base = answer.groups.find((group) => group.id === w.flavor.id);
    const drug2 = answer.groups.find((group) => group.id === a2.id);
    const single = answer.groups.find((group) => group.id === b1.id);
    t.equal(base?.comparison, null, 'the baseline is not compared with itself');
    const comparison = drug2?.comparison;
    t.ok(comparison && Math.abs((comparison.p_value ?? 0) - SLEEP_WELCH_P) < 5e-6, `p = ${comparison?.p_value} (R: 0.07939)`);
    t.ok(comparison && Math.abs(comparison.mean_difference - (mean(SLEEP_2) - mean(SLEEP_1))) < 1e-9, 'mean difference');
    t.ok(comparison && Math.abs((comparison.median_ratio ?? 0) - quantile(SLEEP_2, 0.5) / quantile(SLEEP_1, 0.5)) < 1e-9, 'median ratio');
    t.equal(comparison?.median_ratio_ci, null, 'no ratio interval when a median bound is not positive');
    t.equal(single?.comparison?.p_value, null, 'one value: no p-value');
    t.same(Object.keys(single?.comparison ?? {}).sort(), ['mean_difference', 'median_ratio', 'median_ratio_ci', 'p_value']);
  });

  t.test('200: the ratio interval of positive medians combines both intervals (MOVER on logs)', async (t) => {
    const answer = await stats(t, `${scoped}&metric=hours.total&baseline=${w.flavor.id}`);
    const h1 = SLEEP_1.map((x) => 8 + x);
    const h2 = SLEEP_2.map((x) => 8 + x);
    const [m1, m2] = [quantile(h1, 0.5), quantile(h2, 0.5)];
    const [l1, u1, l2, u2] = [order(h1, 2), order(h1, 9), order(h2, 2), order(h2, 9)];
    const d = Math.log(m2) - Math.log(m1);
    const low = Math.exp(d - Math.sqrt((Math.log(m2) - Math.log(l2)) ** 2 + (Math.log(u1) - Math.log(m1)) ** 2));
    const high = Math.exp(d + Math.sqrt((Math.log(u2) - Math.log(m2)) ** 2 + (Math.log(m1) - Math.log(l1)) ** 2));
    const ci = answer.groups.find((group) => group.id === a2.id)?.comparison?.median_ratio_ci;
    t.ok(ci && Math.abs(ci.low - low) < 1e-9 && Math.abs(ci.high - high) < 1e-9, `${JSON.stringify(ci)} = ${low}, ${high}`);
    t.ok(ci && ci.low < m2 / m1 && m2 / m1 < ci.high, 'the interval holds the ratio');
  });

  t.test('200: filters and dates narrow the results, and are echoed', async (t) => {
    const filter = encodeURIComponent('extra > 0');
    const answer = await stats(t, `${scoped}&metric=extra&filters=${filter}&execution_before=2024-01-01T00:15:00Z`);
    assertSummary(
      t,
      answer.overall,
      [...SLEEP_1, ...SLEEP_2.slice(0, 4)].filter((x) => x > 0),
      'overall, filtered',
    );
    t.same(answer.query, { benchmark_id: w.benchmark.id, filters: ['extra > 0'], execution_before: '2024-01-01T00:15:00Z' });
  });

  t.test('200: nothing matches: no overall, no groups', async (t) => {
    const answer = await stats(t, `${scoped}&metric=no.such.path`);
    t.equal(answer.overall, null);
    t.same(answer.groups, []);
    t.equal(answer.skipped, 24, 'every matching result is skipped (the claimed one does not match)');
    const none = await stats(t, `benchmark_id=${UNKNOWN_ID}&metric=extra`);
    t.same([none.overall, none.groups, none.skipped], [null, [], 0]);
  });

  t.test('200: an injection-shaped metric is only a key; the data stays intact', async (t) => {
    const metric = encodeURIComponent(`extra'); DROP TABLE results; --`);
    const answer = await stats(t, `${scoped}&metric=${metric}`);
    t.equal(answer.overall, null);
    t.equal((await stats(t, `${scoped}&metric=extra`)).overall?.n, 21, 'results intact');
  });

  t.test('200: groups of 1 000 and 1 500 values: exact ranks, then the normal approximation', async (t) => {
    // Values 1 … n in a flavor of their own, inserted directly: the interval is then [j, n + 1 − j].
    const big = await fx.world({}, { flavorName: 'big' });
    const bigger = await fx.flavor(big.site.id, { name: 'bigger' });
    for (const [flavor, n] of [
      [big.flavor.id, 1000],
      [bigger.id, 1500],
    ] as const) {
      await ctx.db.prisma.$executeRaw`
        INSERT INTO results (id, json, execution_datetime, benchmark_id, site_id, flavor_id, uploader_sub, uploader_iss)
        SELECT gen_random_uuid(), jsonb_build_object('x', i), now(), ${big.benchmark.id}::uuid, ${big.site.id}::uuid,
               ${flavor}::uuid, ${owner.sub}, ${ctx.oidc.issuer}
        FROM generate_series(1, ${n}::int) AS i`;
    }
    const answer = await stats(t, `benchmark_id=${big.benchmark.id}&metric=x`);
    const ci = (id: string) => answer.groups.find((group) => group.id === id)?.median_ci;
    // n = 1000: ranks 469 and 532 (n/2 − 1.96·√n/2 = 469.0); n = 1500: floor(n/2 + ½ − 0.98·√n).
    t.same(ci(big.flavor.id), { low: 469, high: 532 }, 'n = 1000, exact: x(469), x(532)');
    const j = Math.floor(1500 / 2 + 0.5 - 0.979982 * Math.sqrt(1500));
    t.same(ci(bigger.id), { low: j, high: 1501 - j }, `n = 1500, approximated: x(${j}), x(${1501 - j})`);
  });

  t.test('200: a remembered answer is forgotten when a result is uploaded', async (t) => {
    const fresh = await fx.world({}, { flavorName: 'fresh' });
    const query = `benchmark_id=${fresh.benchmark.id}&metric=x`;
    await fx.upload(fresh, { x: 1 });
    t.equal((await stats(t, query)).overall?.n, 1);
    t.equal((await stats(t, query)).overall?.n, 1, 'asked again');
    await fx.upload(fresh, { x: 2 });
    t.equal((await stats(t, query)).overall?.n, 2, 'the upload is counted at once');
  });

  t.test('404: a baseline that is not one of the groups', async (t) => {
    for (const baseline of [UNKNOWN_ID, siteB.id, other.flavor.id]) {
      const body = assertError(t, await app.inject({ url: `/results:stats?${scoped}&metric=extra&baseline=${baseline}` }), 404);
      t.equal(body.message, `Baseline group ${baseline} not found`);
    }
  });

  t.test('422: a malformed metric, filter, group or date, or no metric', async (t) => {
    const cases: [string, string][] = [
      ['metric=a..b', 'query.metric'],
      ['metric=', 'query.metric'],
      [`${scoped}`, 'query.metric'],
      ['metric=extra&group_by=region', 'query.group_by'],
      ['metric=extra&better=faster', 'query.better'],
      ['metric=extra&baseline=not-a-uuid', 'query.baseline'],
      [`metric=extra&filters=${encodeURIComponent('extra >> 4')}`, 'query.filters'],
      ['metric=extra&execution_before=yesterday', 'query.execution_before'],
      ['metric=extra&page=2', 'query.page'],
    ];
    for (const [query, key] of cases) {
      const body = assertError(t, await app.inject({ url: `/results:stats?${query}` }), 422);
      t.ok(body.errors && key in body.errors, `${query}: ${JSON.stringify(body.errors)}`);
    }
    const body = assertError(t, await app.inject({ url: '/results:stats?metric=a..b' }), 422);
    t.match(body.message, /e\.g\. metric=result\.score/, 'the message shows an example');
  });
});
