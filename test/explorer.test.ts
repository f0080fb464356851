// The explorer page at GET /explore: served by the service with its own
// assets only, and driven in a real browser (Debian's chromium through
// playwright-core; never a downloaded browser) over seeded results: a
// benchmark found by searching, its suggested metric offered first, one box
// per group, a table whose every number is GET /results:stats's, a baseline
// chosen by click and by keyboard, the choice kept in a shareable URL, and
// download links that export the same results.
//
// EXPLORER_SCREENSHOT=docs/explorer.png also saves the page as shown in the README.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Page } from 'playwright-core';
import t from 'tap';
import { adminPersona, createTestContext, json, persona, type Test as Tap, type TestContext } from './helpers/app.js';
import { assertError } from './helpers/assertions.js';
import type { Statistics } from './helpers/contract.js';
import { fixtures } from './helpers/fixtures.js';

const CHROMIUM = '/usr/bin/chromium';

const SCHEMA = {
  type: 'object',
  required: ['result'],
  properties: {
    result: {
      type: 'object',
      properties: {
        time: { type: 'number', description: 'Seconds to render the scene' },
        score: { type: 'number', suggestToUser: true },
        units: { type: 'string' },
      },
    },
    machine: { type: 'object', properties: { cpu: { $ref: '#/definitions/cpu' } } },
  },
  definitions: { cpu: { type: 'object', properties: { count: { type: 'integer' } } } },
};

/** A deterministic stream of numbers in [0, 1) (mulberry32), so the page looks the same every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Seeded {
  ctx: TestContext;
  benchmarkId: string;
}

/** One c-ray benchmark run on five flavors of three sites over a year, one result without a score (skipped), and another benchmark. */
async function seed(t: Tap): Promise<Seeded> {
  const ctx = await createTestContext(t, 'pglite');
  if (!ctx) throw new Error('PGlite is always available');
  const admin = adminPersona('explorer-admin');
  const owner = persona('explorer-owner');
  await ctx.register(admin);
  await ctx.register(owner);
  const fx = fixtures(ctx, admin, owner);
  const w = await fx.world(SCHEMA, {
    image: 'thechristophe/openbench-c-ray',
    tag: 'latest',
    siteName: 'CESNET',
    flavorName: 'hpc.8core-32ram',
  });
  await fx.world({}, { image: 'thechristophe/openbench-pts', tag: 'v2', siteName: 'IFCA', flavorName: 'cm4.large' });
  const cesnetSmall = await fx.flavor(w.site.id, { name: 'standard.small' });
  const cyfronet = await fx.site({ name: 'CYFRONET' });
  const cyfronetFlavors = [await fx.flavor(cyfronet.id, { name: 'm1.xlarge' }), await fx.flavor(cyfronet.id, { name: 'gpu.a100' })];
  const incd = await fx.site({ name: 'INCD' });
  const incdFlavor = await fx.flavor(incd.id, { name: 'hpc.16core' });
  const gpu = await fx.tag('gpu');
  const next = random(7);
  const flavors = [
    { id: w.flavor.id, centre: 120, spread: 10, cpus: 8 },
    { id: cesnetSmall.id, centre: 60, spread: 6, cpus: 2 },
    { id: cyfronetFlavors[0]?.id as string, centre: 135, spread: 25, cpus: 16 },
    { id: cyfronetFlavors[1]?.id as string, centre: 150, spread: 8, cpus: 32, tags: [gpu.id] },
    { id: incdFlavor.id, centre: 110, spread: 15, cpus: 16 },
  ];
  for (const flavor of flavors) {
    for (let i = 0; i < 12; i += 1) {
      const score = Math.round((flavor.centre + (next() - 0.5) * 2 * flavor.spread) * 100) / 100;
      const execution = new Date(Date.UTC(2025, 0, 1) + Math.floor(next() * 330) * 86_400_000).toISOString();
      await fx.upload(
        w,
        { result: { score, time: Math.round(36_000 / score), units: 'Seconds' }, machine: { cpu: { count: flavor.cpus } } },
        { flavor: flavor.id, execution, tags: flavor.tags ?? [] },
      );
    }
  }
  await fx.upload(w, { result: { units: 'Seconds' } }, { execution: '2025-06-01T00:00:00Z' });
  return { ctx, benchmarkId: w.benchmark.id };
}

async function stats(ctx: TestContext, query: string): Promise<Statistics> {
  const response = await ctx.app.inject({ url: `/results:stats?${query}` });
  if (response.statusCode !== 200) throw new Error(`stats: ${response.statusCode} ${response.body}`);
  return json<Statistics>(response);
}

/** Every row of the page's table: its group id and each cell's exact value (data-value). */
async function tableRows(page: Page): Promise<{ group: string; values: Record<string, unknown> }[]> {
  return page.$$eval('#statistics tbody tr', (rows) =>
    rows.map((row) => ({
      group: row.getAttribute('data-group') ?? '',
      values: Object.fromEntries(
        [...row.querySelectorAll('td[data-field]')].map((cell) => [
          cell.getAttribute('data-field'),
          JSON.parse(cell.getAttribute('data-value') ?? 'null'),
        ]),
      ),
    })),
  );
}

/** What a chart draws, by series: the number of data items of each (ECharts' own account of its option). */
async function chartSeriesSizes(page: Page, id: string): Promise<number[]> {
  return (await page.evaluate(
    `echarts.getInstanceByDom(document.getElementById(${JSON.stringify(id)})).getOption().series.map((s) => s.data.length)`,
  )) as number[];
}

/** The table must show exactly `expected`: the same groups in the same order, every number equal. */
async function assertTableShows(t: Tap, page: Page, expected: Statistics): Promise<void> {
  // The page is busy from a change of choice until its answers are drawn.
  await page.locator('body:not([aria-busy])').waitFor();
  const rows = await tableRows(page);
  t.same(
    rows.map((row) => row.group),
    expected.groups.map((group) => group.id),
    'one row per group, best first',
  );
  for (const [i, group] of expected.groups.entries()) {
    const shown = rows[i]?.values ?? {};
    const c = group.comparison;
    t.same(
      shown,
      {
        n: group.n,
        median: group.median,
        median_ci: group.median_ci,
        mean: group.mean,
        mean_ci: group.mean_ci,
        stddev: group.stddev,
        min: group.min,
        p25: group.p25,
        p75: group.p75,
        p95: group.p95,
        max: group.max,
        median_ratio: c ? { ratio: c.median_ratio, ci: c.median_ratio_ci } : null,
        p_value: c?.p_value ?? null,
        executed: [group.first_execution, group.last_execution],
      },
      `${group.name}: every number as GET /results:stats answers it`,
    );
  }
}

t.test('GET /explore and its assets', async (t) => {
  const ctx = await createTestContext(t, 'pglite');
  if (!ctx) throw new Error('PGlite is always available');
  const { app } = ctx;

  t.test('200: the page, under the Content-Security-Policy, loading only its own assets', async (t) => {
    const response = await app.inject({ url: '/explore' });
    t.equal(response.statusCode, 200);
    t.match(response.headers['content-type'], /^text\/html/);
    t.match(response.headers['content-security-policy'], /script-src 'self'/);
    t.notMatch(response.body, /<script>|https?:\/\//, 'no inline script, no other host');
    for (const asset of ['/explore/explore.js', '/explore/explore.css', '/explore/echarts.min.js', '/explore/papaparse.min.js']) {
      t.match(response.body, asset);
      const file = await app.inject({ url: asset });
      t.equal(file.statusCode, 200, asset);
      t.match(file.headers['content-type'], asset.endsWith('.css') ? /^text\/css/ : /javascript/, `${asset}: type`);
    }
  });

  t.test('404: nothing else of the directories the assets come from', async (t) => {
    for (const url of ['/explore/package.json', '/explore/echarts.js', '/explore/../package.json', '/explore/%2e%2e/package.json']) {
      const response = await app.inject({ url });
      t.equal(response.statusCode, 404, url);
      t.match(response.headers['content-type'], /^application\/json/, `${url}: the JSON error shape`);
    }
  });

  t.test('the spec and Swagger UI link to it', async (t) => {
    const response = await app.inject({ url: '/api-spec.json' });
    t.match(json<{ info: { description: string } }>(response).info.description, '(explore)');
  });
});

t.test('the explorer in a real browser', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`no ${CHROMIUM} on this machine (apt-get install chromium; .ci/run installs it)`, () => {});
    return;
  }
  const { ctx, benchmarkId } = await seed(t);
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.url()}: ${response.status()}`);
  });
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));

  await page.goto(`${base}/explore`);
  t.equal(await page.title(), 'Explorer — EOSC Performance API');
  const benchmark = page.getByLabel('Benchmark', { exact: true });
  await benchmark.locator('option').nth(2).waitFor({ state: 'attached' });
  t.equal(await page.getByRole('status').textContent(), 'Choose a benchmark and a metric.');

  await page.getByLabel('Find a benchmark').fill('c-ray');
  t.same(
    await benchmark.locator('option').allTextContents(),
    ['Choose a benchmark', 'thechristophe/openbench-c-ray:latest'],
    'searching narrows the list',
  );
  await benchmark.selectOption(benchmarkId);

  const metric = page.getByLabel('Metric (a path in the results)');
  t.equal(await metric.inputValue(), 'result.score', 'the suggested metric is taken');
  t.same(
    await page.$$eval('#metric-paths option', (options) => options.map((option) => option.getAttribute('value'))),
    ['result.score', 'machine.cpu.count', 'result.time'],
    'the numeric paths of the schema ($ref followed), suggested first',
  );

  const byFlavor = await stats(ctx, `benchmark_id=${benchmarkId}&metric=result.score`);
  t.equal(byFlavor.groups.length, 5);
  await assertTableShows(t, page, byFlavor);
  await page.getByRole('status').filter({ hasText: '60 results have a number at result.score; 1 has none' }).waitFor();
  t.same(await chartSeriesSizes(page, 'boxplot'), [5], 'one box per group');
  await page.getByText('All 61 results.').waitFor();
  const scatterPoints = await chartSeriesSizes(page, 'scatter');
  t.same(
    scatterPoints,
    byFlavor.groups.map((group) => group.n),
    'the scatter has each group’s points',
  );

  // A baseline by click: every other group is compared with it.
  const chosen = byFlavor.groups[2];
  if (!chosen) throw new Error('five groups');
  await page.locator(`#statistics tbody tr[data-group="${chosen.id}"] th`).click();
  await page.waitForURL((url) => url.searchParams.get('baseline') === chosen.id);
  const compared = await stats(ctx, `benchmark_id=${benchmarkId}&metric=result.score&baseline=${chosen.id}`);
  await page.locator(`#statistics tbody tr.baseline[data-group="${chosen.id}"]`).waitFor();
  await assertTableShows(t, page, compared);
  t.ok(
    compared.groups.filter((group) => group.id !== chosen.id).every((group) => group.comparison),
    'the others are compared',
  );

  // And by keyboard: the baseline radios are one group, moved through with the arrow keys.
  const next = byFlavor.groups[3];
  if (!next) throw new Error('five groups');
  await page.getByRole('radio', { name: `Compare with ${chosen.name}` }).focus();
  await page.keyboard.press('ArrowDown');
  await page.waitForURL((url) => url.searchParams.get('baseline') === next.id);
  await page.locator(`#statistics tbody tr.baseline[data-group="${next.id}"]`).waitFor();
  await assertTableShows(t, page, await stats(ctx, `benchmark_id=${benchmarkId}&metric=result.score&baseline=${next.id}`));

  // The download links export the same results.
  for (const format of ['csv', 'ndjson'] as const) {
    const href = await page.locator(`#download-${format}`).getAttribute('href');
    t.match(href, `/results:export?benchmark_id=${benchmarkId}&format=${format}`);
    const response = await ctx.app.inject({ url: href ?? '' });
    t.equal(response.statusCode, 200, `${format}: 200`);
    const lines = response.body.split('\n').filter((line) => line.trim()).length;
    t.equal(lines - (format === 'csv' ? 1 : 0), 61, `${format}: every result, with or without a score`);
  }

  // The URL is the choice: opened elsewhere it shows the same comparison.
  const shared = page.url();
  await page.getByLabel('Better is').selectOption('lower');
  await page.waitForURL((url) => url.searchParams.get('better') === 'lower');
  const lowerFirst = await stats(ctx, `benchmark_id=${benchmarkId}&metric=result.score&better=lower&baseline=${next.id}`);
  await assertTableShows(t, page, lowerFirst);
  const other = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await other.goto(shared);
  await other.locator(`#statistics tbody tr.baseline[data-group="${next.id}"]`).waitFor();
  t.equal(await other.getByLabel('Better is').inputValue(), 'higher');
  t.equal(await other.getByLabel('Benchmark', { exact: true }).inputValue(), benchmarkId);
  await assertTableShows(t, other, await stats(ctx, `benchmark_id=${benchmarkId}&metric=result.score&baseline=${next.id}`));
  await other.close();

  // Another grouping has other groups: the baseline is dropped, the table follows.
  await page.getByLabel('Group by').selectOption('site');
  await page.waitForURL((url) => url.searchParams.get('group_by') === 'site' && !url.searchParams.has('baseline'));
  await assertTableShows(t, page, await stats(ctx, `benchmark_id=${benchmarkId}&metric=result.score&better=lower&group_by=site`));

  // A filter, written as in the API.
  await page.getByLabel('Conditions on the results, one per line').fill('machine.cpu.count >= 16');
  await page.getByRole('button', { name: 'Compare' }).click();
  await page.waitForURL((url) => url.searchParams.get('filters') === 'machine.cpu.count >= 16');
  await assertTableShows(
    t,
    page,
    await stats(
      ctx,
      `benchmark_id=${benchmarkId}&metric=result.score&better=lower&group_by=site&filters=${encodeURIComponent('machine.cpu.count >= 16')}`,
    ),
  );

  t.same(problems, [], 'no failed request, no CSP violation, no script error');
  t.same(
    requests.filter((url) => !url.startsWith(base)),
    [],
    'nothing requested from anywhere else',
  );

  // A mistake is explained in the page, as the API words it.
  await page.getByLabel('Conditions on the results, one per line').fill('');
  await metric.fill('result..score');
  await page.getByRole('button', { name: 'Compare' }).click();
  const status = page.getByRole('status');
  await status.filter({ hasText: 'is not a path' }).waitFor();
  t.match(await status.getAttribute('class'), /error/);
  const error = await ctx.app.inject({ url: `/results:stats?benchmark_id=${benchmarkId}&metric=result..score` });
  t.match(assertError(t, error, 422).message, 'is not a path');

  if (process.env.EXPLORER_SCREENSHOT) {
    await page.goto(`${base}/explore?benchmark_id=${benchmarkId}&metric=result.score&group_by=flavor&better=higher&baseline=${chosen.id}`);
    await page.getByText('All 61 results.').waitFor();
    await page.screenshot({ path: process.env.EXPLORER_SCREENSHOT, fullPage: true });
  }
});
