// Swagger UI in a real browser (Debian's chromium, driven by playwright-core;
// never a downloaded browser): the page the service serves at / renders
// every operation under the service's Content-Security-Policy, with no
// violation and no script error, and "Try it out" → "Execute" on
// GET /results answers from this service with real results.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import t from 'tap';
import { indexOperations, loadSpec } from '../src/http/spec.js';
import { createTestContext } from './helpers/app.js';

const CHROMIUM = '/usr/bin/chromium';

t.test('Swagger UI loads, renders every operation and executes a call, under the CSP', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`no ${CHROMIUM} on this machine (apt-get install chromium; .ci/run installs it)`, () => {});
    return;
  }
  const ctx = await createTestContext(t, 'pglite');
  if (!ctx) throw new Error('PGlite is always available');
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));

  await page.goto(`${base}/`);
  await page.waitForSelector('.opblock', { timeout: 60_000 });
  t.equal(await page.title(), 'EOSC Performance API');
  t.equal(await page.locator('.opblock').count(), indexOperations(loadSpec()).size, 'every operation of the spec');

  const listResults = page.locator('.opblock-get', { has: page.locator('[data-path="/results"]') }).first();
  await listResults.locator('.opblock-summary').click();
  await listResults.getByRole('button', { name: 'Try it out' }).click();
  await listResults.getByRole('button', { name: 'Execute' }).click();
  const status = listResults.locator('.live-responses-table tbody .response-col_status').first();
  await status.waitFor({ timeout: 30_000 });
  t.equal((await status.textContent())?.trim(), '200', '"Execute" answers 200 from this service');

  t.same(problems, [], 'no CSP violation, no script error');
  t.same(
    requests.filter((url) => !url.startsWith(base)),
    [],
    'nothing requested from anywhere else',
  );
});
