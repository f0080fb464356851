// GET /metrics (src/http/metrics.ts): off unless METRICS_TOKEN is set, then
// only for callers that send it; a scrape sees the counters move with the
// requests, by operationId, and the pool, cache, queue and process figures.
import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.js';
import { adminPersona, createTestContext, eachDatabase, persona } from './helpers/app.js';
import { fixtures } from './helpers/fixtures.js';

const TOKEN = 'metrics-token-0123456789abcdef';

/** The value of the sample `name{labels}` in a scrape (labels as Prometheus writes them), or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(labels === '' ? `${name} ` : `${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

t.test('404 when METRICS_TOKEN is not set', async (t) => {
  const ctx = await createTestContext(t, 'pglite');
  const response = await ctx!.app.inject({ url: '/metrics' });
  t.equal(response.statusCode, 404);
});

t.test('a METRICS_TOKEN shorter than 16 characters is refused at start', async (t) => {
  t.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), ConfigError);
});

eachDatabase(
  t,
  async (t, ctx) => {
    const { app } = ctx;
    const scrape = async () => {
      const response = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
      t.equal(response.statusCode, 200);
      t.match(response.headers['content-type'], /^text\/plain/);
      return response.body;
    };

    t.test('401 without the token or with another', async (t) => {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }]) {
        const response = await app.inject({ url: '/metrics', headers });
        t.equal(response.statusCode, 401);
        t.equal(response.json().error_code, 'unauthorized');
        t.equal(response.headers['www-authenticate'], 'Bearer');
        t.notMatch(response.body, TOKEN, 'the token is never echoed');
      }
    });

    t.test('200: requests by operation and status, latency, cache, queues, process', async (t) => {
      const admin = adminPersona();
      const owner = persona('metrics');
      await ctx.register(admin);
      await ctx.register(owner);
      const f = fixtures(ctx, admin, owner);
      const w = await f.world();
      const before = await scrape();
      const listed = (text: string) =>
        sample(text, 'eosc_perf_http_requests_total', 'operation="ListResults",method="GET",status="200"') ?? 0;
      const missing = (text: string) =>
        sample(text, 'eosc_perf_http_requests_total', 'operation="GetResult",method="GET",status="404"') ?? 0;
      const invalidations = (text: string) => sample(text, 'eosc_perf_results_cache_invalidations_total') ?? 0;
      const hits = (text: string) => sample(text, 'eosc_perf_results_cache_lookups_total', 'cache="pages",outcome="hit"') ?? 0;

      for (let i = 0; i < 3; i += 1) t.equal((await app.inject({ url: `/results?benchmark_id=${w.benchmark.id}` })).statusCode, 200);
      t.equal((await app.inject({ url: '/results/00000000-0000-4000-8000-000000000000' })).statusCode, 404);
      await f.upload(w, { n: 1 });
      const after = await scrape();

      t.equal(listed(after) - listed(before), 3, 'ListResults 200 counted three times');
      t.equal(missing(after) - missing(before), 1, 'GetResult 404 counted once');
      t.ok((sample(after, 'eosc_perf_http_request_duration_seconds_count', 'operation="ListResults"') ?? 0) >= 3, 'latency histogram');
      t.ok(hits(after) - hits(before) >= 2, 'the page was remembered after its first read');
      t.ok(invalidations(after) > invalidations(before), 'the upload made remembered pages stale');
      t.equal(sample(after, 'eosc_perf_change_feed_listening'), 1);
      t.equal(sample(after, 'eosc_perf_validation_queue'), 0);
      t.equal(sample(after, 'eosc_perf_mail_queue') !== undefined, true, 'mail queue');
      t.ok((sample(after, 'eosc_perf_nodejs_eventloop_lag_seconds') ?? -1) >= 0, 'event-loop delay');
      t.notMatch(after, /\/results\/00000000/, 'no raw URL as a label');
      const pool = sample(after, 'eosc_perf_db_pool_connections', 'state="total"');
      if (ctx.db.kind === 'postgresql') t.ok((pool ?? 0) >= 1, 'PostgreSQL pool connections');
      else t.equal(pool, undefined, 'no pool on the embedded database');
    });
  },
  { METRICS_TOKEN: TOKEN },
);
