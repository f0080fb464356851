// The explorer at GET /explore: a page that compares sites and flavors on a
// benchmark's metric with GET /results:stats (box plot, statistics table,
// baseline comparison) and GET /results:export (scatter over time, download
// links). Everything it loads is served by this service (no CDN, works
// offline, under the same Content-Security-Policy as Swagger UI): its script
// and style from web/explorer/, Apache ECharts and Papa Parse from their npm
// packages.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { fromRoot } from '../package-root.js';
import { escapeHtml } from './html.js';

function packageDir(name: string): string {
  return path.dirname(fileURLToPath(import.meta.resolve(`${name}/package.json`)));
}

/** Where each served file lives; nothing else of these directories is served. */
const ASSET_DIRS = [fromRoot('web/explorer'), path.join(packageDir('echarts'), 'dist'), packageDir('papaparse')];
const ASSETS = new Set(['/explore.js', '/explore.css', '/echarts.min.js', '/papaparse.min.js']);

function pageHtml(title: string, base: string): string {
  const assets = `${base}/explore`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Explorer — ${escapeHtml(title)}</title>
<link rel="stylesheet" href="${assets}/explore.css">
<link rel="icon" type="image/png" href="${base}/static/favicon-32x32.png" sizes="32x32">
</head>
<body data-api="${escapeHtml(base)}">
<header>
<h1>Which site and flavor runs it best?</h1>
<p>Pick a benchmark and one of its metrics: every approved result is grouped, summarised and compared.
The numbers come from <code>GET /results:stats</code>, the points and downloads from <code>GET /results:export</code>;
<a href="${base}/">the API's documentation</a> explains both.</p>
</header>
<main>
<form id="choice" aria-label="What to compare">
<div class="field wide">
<label for="benchmark-search">Find a benchmark</label>
<input id="benchmark-search" type="search" placeholder="image or tag, e.g. c-ray" autocomplete="off">
<label for="benchmark">Benchmark</label>
<select id="benchmark" name="benchmark_id" required><option value="">Loading benchmarks…</option></select>
</div>
<div class="field">
<label for="metric">Metric (a path in the results)</label>
<input id="metric" name="metric" list="metric-paths" placeholder="e.g. result.score" autocomplete="off" spellcheck="false">
<datalist id="metric-paths"></datalist>
</div>
<div class="field">
<label for="group_by">Group by</label>
<select id="group_by" name="group_by">
<option value="flavor">flavor</option>
<option value="site">site</option>
<option value="tag">tag</option>
<option value="benchmark">benchmark</option>
</select>
</div>
<div class="field">
<label for="better">Better is</label>
<select id="better" name="better">
<option value="higher">higher</option>
<option value="lower">lower</option>
</select>
</div>
<div class="field">
<label for="site_id">Site</label>
<select id="site_id" name="site_id"><option value="">any site</option></select>
</div>
<div class="field">
<label for="execution_after">Executed after</label>
<input id="execution_after" name="execution_after" type="date">
</div>
<div class="field">
<label for="execution_before">Executed before</label>
<input id="execution_before" name="execution_before" type="date">
</div>
<div class="field wide">
<label for="filters">Conditions on the results, one per line</label>
<textarea id="filters" name="filters" rows="2" spellcheck="false" placeholder="machine.cpu.count >= 4"></textarea>
</div>
<div class="field actions">
<button type="submit">Compare</button>
</div>
</form>
<p id="status" role="status" aria-live="polite"></p>
<section aria-labelledby="distribution-title">
<h2 id="distribution-title">Distribution per group, best first</h2>
<p class="hint">Boxes from the 25th to the 75th percentile around the median; whiskers to the smallest and largest value.</p>
<div id="boxplot" class="chart"></div>
</section>
<section aria-labelledby="statistics-title">
<h2 id="statistics-title">Statistics</h2>
<p class="hint">Choose a baseline (click a row, or its radio button) to compare every other group with it:
the ratio of medians with its 95&nbsp;% interval, and Welch's test of a difference in means.</p>
<div class="table-scroll">
<table id="statistics">
<caption id="statistics-caption">No comparison yet.</caption>
<thead>
<tr>
<th scope="col">Baseline</th>
<th scope="col">Group</th>
<th scope="col">n</th>
<th scope="col">Median</th>
<th scope="col">Median 95&nbsp;% CI</th>
<th scope="col">Median ÷ baseline (95&nbsp;% CI)</th>
<th scope="col">p-value</th>
<th scope="col">Mean</th>
<th scope="col">Mean 95&nbsp;% CI</th>
<th scope="col">Std. dev.</th>
<th scope="col">Min</th>
<th scope="col">p25</th>
<th scope="col">p75</th>
<th scope="col">p95</th>
<th scope="col">Max</th>
<th scope="col">Executed</th>
</tr>
</thead>
<tbody></tbody>
</table>
</div>
<p><button id="clear-baseline" type="button" disabled>No baseline</button></p>
</section>
<section aria-labelledby="time-title">
<h2 id="time-title">The metric over time</h2>
<p id="scatter-note" class="hint"></p>
<div id="scatter" class="chart"></div>
</section>
<section aria-labelledby="download-title">
<h2 id="download-title">Download these results</h2>
<p><a id="download-csv" href="${assets}">CSV</a> · <a id="download-ndjson" href="${assets}">NDJSON</a></p>
</section>
</main>
<script src="${assets}/echarts.min.js"></script>
<script src="${assets}/papaparse.min.js"></script>
<script type="module" src="${assets}/explore.js"></script>
</body>
</html>
`;
}

/** Registers /explore and /explore/… inside `app`, which carries API_PREFIX (`prefix`). */
export async function registerExplorer(app: FastifyInstance, title: string, prefix: string): Promise<void> {
  const page = pageHtml(title, prefix);
  app.get('/explore', async (_request, reply) => reply.type('text/html; charset=utf-8').send(page));
  await app.register(fastifyStatic, {
    root: ASSET_DIRS,
    prefix: '/explore/',
    index: false,
    decorateReply: false,
    allowedPath: (pathName) => ASSETS.has(pathName),
  });
}
