// The explorer page (served at GET /explore by src/http/explorer.ts).
// The choice lives in the page's URL, so a link shows the same comparison;
// the numbers come from GET /results:stats, the points over time and the
// downloads from GET /results:export. Plain browser JavaScript: echarts and
// Papa are the globals of the two scripts loaded before this one.
// Type-checked against the spec's generated types (web/tsconfig.json).
/* global echarts, Papa */

/** @typedef {import('../../generated/openapi').components['schemas']} Schemas */
/** @typedef {Schemas['Statistics']} Statistics */
/** @typedef {Schemas['Benchmark']} Benchmark */
/** @typedef {Schemas['Site']} Site */
/** @typedef {Schemas['Interval']} Interval */

const api = document.body.dataset.api ?? '';
/** Points drawn over time at most: the newest, read from the export's first lines, which then stops. */
const SCATTER_POINTS = 5000;
/** ECharts' default palette; group i has colour i in both charts. */
const PALETTE = ['#5470c6', '#91cc75', '#fac858', '#ee6666', '#73c0de', '#3ba272', '#fc8452', '#9a60b4', '#ea7ccc'];
/** The groups' spread in the table, after their mean and its interval. */
const SPREAD_FIELDS = /** @type {const} */ (['stddev', 'min', 'p25', 'p75', 'p95', 'max']);

const form = /** @type {HTMLFormElement} */ (document.getElementById('choice'));
const controls = {
  search: /** @type {HTMLInputElement} */ (document.getElementById('benchmark-search')),
  benchmark: /** @type {HTMLSelectElement} */ (document.getElementById('benchmark')),
  metric: /** @type {HTMLInputElement} */ (document.getElementById('metric')),
  metricPaths: /** @type {HTMLDataListElement} */ (document.getElementById('metric-paths')),
  groupBy: /** @type {HTMLSelectElement} */ (document.getElementById('group_by')),
  better: /** @type {HTMLSelectElement} */ (document.getElementById('better')),
  site: /** @type {HTMLSelectElement} */ (document.getElementById('site_id')),
  after: /** @type {HTMLInputElement} */ (document.getElementById('execution_after')),
  before: /** @type {HTMLInputElement} */ (document.getElementById('execution_before')),
  filters: /** @type {HTMLTextAreaElement} */ (document.getElementById('filters')),
};
const statusLine = /** @type {HTMLElement} */ (document.getElementById('status'));
const table = /** @type {HTMLTableElement} */ (document.getElementById('statistics'));
const caption = /** @type {HTMLElement} */ (document.getElementById('statistics-caption'));
const clearBaseline = /** @type {HTMLButtonElement} */ (document.getElementById('clear-baseline'));
const scatterNote = /** @type {HTMLElement} */ (document.getElementById('scatter-note'));
const downloads = {
  csv: /** @type {HTMLAnchorElement} */ (document.getElementById('download-csv')),
  ndjson: /** @type {HTMLAnchorElement} */ (document.getElementById('download-ndjson')),
};
const boxplot = echarts.init(document.getElementById('boxplot'));
const scatter = echarts.init(document.getElementById('scatter'));
window.addEventListener('resize', () => {
  boxplot.resize();
  scatter.resize();
});

/** @type {Map<string, Benchmark>} */
const benchmarks = new Map();
let baseline = '';
/** Incremented by every refresh; an answer for an older one is dropped. */
let generation = 0;
/** @type {AbortController | undefined} */
let scatterReading;

const numberFormat = new Intl.NumberFormat('en', { maximumSignificantDigits: 4 });
/** @param {number | null | undefined} value */
function formatNumber(value) {
  return value === null || value === undefined ? '—' : numberFormat.format(value);
}
/** @param {Interval | null | undefined} interval */
function formatInterval(interval) {
  return interval ? `${formatNumber(interval.low)} – ${formatNumber(interval.high)}` : '—';
}
/** @param {number | null | undefined} p */
function formatPValue(p) {
  if (p === null || p === undefined) return '—';
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}

/** @param {string} text */
function say(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle('error', isError);
}

class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * @param {string} url
 * @returns {Promise<any>} the answer's JSON, typed by the caller
 */
async function getJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body?.message ?? `${response.status} ${response.statusText}`);
  return body;
}

/**
 * Every item of a paginated list.
 * @template T
 * @param {string} path
 * @returns {Promise<T[]>}
 */
async function allItems(path) {
  const items = [];
  for (let page = 1; ; page += 1) {
    const body = await getJson(`${api}${path}?per_page=100&page=${page}`);
    items.push(...body.items);
    if (!body.has_next) return items;
  }
}

/**
 * The paths of a JSON Schema that hold numbers, those marked
 * `suggestToUser: true` first; local `$ref`s are followed, a bounded number
 * of nodes is visited whatever the schema.
 */
/**
 * @param {unknown} schema
 * @returns {{ path: string, suggested: boolean }[]}
 */
function numericPaths(schema) {
  /** @type {Map<string, boolean>} */
  const found = new Map();
  let budget = 5000;
  /** @param {any} node a part of a JSON Schema, of any shape */
  const resolve = (node) => {
    for (let hops = 0; node && typeof node.$ref === 'string' && node.$ref.startsWith('#') && hops < 16; hops += 1) {
      const keys = node.$ref.slice(1).split('/').filter(Boolean);
      node = keys.reduce(
        (/** @type {any} */ at, /** @type {string} */ key) => at?.[key.replaceAll('~1', '/').replaceAll('~0', '~')],
        schema,
      );
    }
    return node;
  };
  /**
   * @param {unknown} raw
   * @param {string} path
   * @param {number} depth
   */
  const walk = (raw, path, depth) => {
    const node = resolve(raw);
    budget -= 1;
    if (!node || typeof node !== 'object' || depth > 32 || budget < 0) return;
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (path && (types.includes('number') || types.includes('integer'))) {
      found.set(path, found.get(path) === true || node.suggestToUser === true);
    }
    for (const key of ['allOf', 'anyOf', 'oneOf']) {
      if (Array.isArray(node[key])) for (const sub of node[key]) walk(sub, path, depth + 1);
    }
    if (node.properties && typeof node.properties === 'object') {
      for (const [key, sub] of Object.entries(node.properties)) {
        if (key && !key.includes('.')) walk(sub, path ? `${path}.${key}` : key, depth + 1);
      }
    }
  };
  walk(schema, '', 0);
  return [...found]
    .sort(([a, sa], [b, sb]) => Number(sb) - Number(sa) || a.localeCompare(b))
    .map(([path, suggested]) => ({ path, suggested }));
}

/** @param {Benchmark} b */
function benchmarkName(b) {
  return `${b.docker_image}:${b.docker_tag}`;
}

function fillBenchmarks() {
  const chosen = controls.benchmark.value;
  const term = controls.search.value.trim().toLowerCase();
  const options = [new Option(benchmarks.size ? 'Choose a benchmark' : 'No approved benchmark yet', '')];
  for (const b of benchmarks.values()) {
    const name = benchmarkName(b);
    if (!term || name.toLowerCase().includes(term) || b.id === chosen) options.push(new Option(name, b.id, false, b.id === chosen));
  }
  controls.benchmark.replaceChildren(...options);
}

/** Offers the chosen benchmark's numeric paths; keeps a metric already chosen, else takes the first offered. */
function fillMetricPaths() {
  const b = benchmarks.get(controls.benchmark.value);
  const paths = b ? numericPaths(b.json_schema) : [];
  controls.metricPaths.replaceChildren(
    ...paths.map(({ path, suggested }) => {
      const option = document.createElement('option');
      option.value = path;
      if (suggested) option.label = `${path} (suggested)`;
      return option;
    }),
  );
  if (!controls.metric.value && paths[0]) controls.metric.value = paths[0].path;
}

/** The filters GET /results:stats and GET /results:export share, from the form. */
function filterParams() {
  const params = new URLSearchParams();
  if (controls.benchmark.value) params.set('benchmark_id', controls.benchmark.value);
  if (controls.site.value) params.set('site_id', controls.site.value);
  if (controls.after.value) params.set('execution_after', controls.after.value);
  if (controls.before.value) params.set('execution_before', controls.before.value);
  for (const line of controls.filters.value.split('\n')) {
    if (line.trim()) params.append('filters', line.trim());
  }
  return params;
}

/** The whole choice: what GET /results:stats is asked, and what the page's URL holds. */
function choiceParams() {
  const params = filterParams();
  if (controls.metric.value.trim()) params.set('metric', controls.metric.value.trim());
  params.set('group_by', controls.groupBy.value);
  params.set('better', controls.better.value);
  if (baseline) params.set('baseline', baseline);
  return params;
}

/**
 * Sets the form from the page's URL (a shared link).
 * @param {URLSearchParams} params
 */
function restoreChoice(params) {
  controls.metric.value = params.get('metric') ?? '';
  /**
   * @param {HTMLSelectElement} select
   * @param {string | null} value
   */
  const pick = (select, value) => {
    if (value && [...select.options].some((option) => option.value === value)) select.value = value;
  };
  pick(controls.groupBy, params.get('group_by'));
  pick(controls.better, params.get('better'));
  pick(controls.benchmark, params.get('benchmark_id'));
  pick(controls.site, params.get('site_id'));
  controls.after.value = params.get('execution_after') ?? '';
  controls.before.value = params.get('execution_before') ?? '';
  controls.filters.value = params.getAll('filters').join('\n');
  baseline = params.get('baseline') ?? '';
}

/**
 * @param {'csv' | 'ndjson'} format
 * @param {Record<string, string>} extra
 */
function exportUrl(format, extra = {}) {
  const params = filterParams();
  params.set('format', format);
  if (controls.metric.value.trim()) params.set('columns', controls.metric.value.trim());
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return `${api}/results:export?${params}`;
}

/**
 * A table cell showing `text`, holding the exact answer in data-value.
 * @param {string} field
 * @param {unknown} value
 * @param {string} text
 */
function cell(field, value, text) {
  const td = document.createElement('td');
  td.dataset.field = field;
  td.dataset.value = JSON.stringify(value ?? null);
  td.textContent = text;
  return td;
}

/** @param {Statistics} stats */
function renderTable(stats) {
  const rows = stats.groups.map((group, index) => {
    const tr = document.createElement('tr');
    tr.dataset.group = group.id;
    if (group.id === stats.baseline) tr.classList.add('baseline');
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'baseline';
    radio.value = group.id;
    radio.checked = group.id === stats.baseline;
    radio.setAttribute('aria-label', `Compare with ${group.name}`);
    const choose = document.createElement('td');
    choose.append(radio);
    const name = document.createElement('th');
    name.scope = 'row';
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = PALETTE[index % PALETTE.length];
    name.append(swatch, group.name);
    const c = group.comparison;
    tr.append(
      choose,
      name,
      cell('n', group.n, String(group.n)),
      cell('median', group.median, formatNumber(group.median)),
      cell('median_ci', group.median_ci, formatInterval(group.median_ci)),
      cell(
        'median_ratio',
        c ? { ratio: c.median_ratio, ci: c.median_ratio_ci } : null,
        c ? `${formatNumber(c.median_ratio)} (${formatInterval(c.median_ratio_ci)})` : '—',
      ),
      cell('p_value', c?.p_value, formatPValue(c?.p_value)),
    );
    tr.append(
      cell('mean', group.mean, formatNumber(group.mean)),
      cell('mean_ci', group.mean_ci, formatInterval(group.mean_ci)),
      ...SPREAD_FIELDS.map((field) => cell(field, group[field], formatNumber(group[field]))),
      cell(
        'executed',
        [group.first_execution, group.last_execution],
        `${group.first_execution.slice(0, 10)} – ${group.last_execution.slice(0, 10)}`,
      ),
    );
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
  const chosen = stats.groups.find((group) => group.id === stats.baseline);
  caption.textContent = stats.groups.length
    ? `${stats.metric} by ${stats.group_by}, ${stats.better} is better, best first${chosen ? `; compared with ${chosen.name}` : ''}.`
    : 'No result has a number at this metric.';
  clearBaseline.disabled = !stats.baseline;
}

/** @param {Statistics} stats */
function renderBoxplot(stats) {
  const names = stats.groups.map((group) => group.name);
  boxplot.setOption(
    {
      aria: { enabled: true },
      animation: false,
      tooltip: { trigger: 'item', confine: true },
      grid: { left: 72, right: 24, top: 32, bottom: 96 },
      xAxis: {
        type: 'category',
        data: names,
        axisLabel: { interval: 0, rotate: names.length > 4 ? 30 : 0, width: 160, overflow: 'truncate' },
      },
      yAxis: { type: 'value', name: stats.metric, scale: true },
      dataZoom: names.length > 20 ? [{ type: 'slider', startValue: 0, endValue: 19 }] : [],
      series: [
        {
          type: 'boxplot',
          name: stats.metric,
          data: stats.groups.map((group, index) => ({
            name: group.name,
            value: [group.min, group.p25, group.median, group.p75, group.max],
            itemStyle: { borderColor: PALETTE[index % PALETTE.length], borderWidth: group.id === stats.baseline ? 3 : 1.5 },
          })),
        },
      ],
    },
    { notMerge: true },
  );
}

/**
 * The group names a row of the export belongs to, as GET /results:stats names them.
 * @param {Record<string, string>} row
 * @param {Statistics['group_by']} groupBy
 */
function groupNamesOf(row, groupBy) {
  if (groupBy === 'site') return [row.site];
  if (groupBy === 'flavor') return [`${row.site} / ${row.flavor}`];
  if (groupBy === 'benchmark') return [row.benchmark];
  return row.tags ? row.tags.split(';') : [];
}

/**
 * Reads the newest results' lines of the export, stopping it once SCATTER_POINTS are in.
 * @param {AbortSignal} signal
 */
async function newestRows(signal) {
  const response = await fetch(exportUrl('csv', { sort_by: '-execution_datetime' }), { signal });
  if (!response.ok || !response.body) {
    const body = await response.json().catch(() => null);
    throw new ApiError(response.status, body?.message ?? `the export answered ${response.status}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  let lines = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return Papa.parse(text, { header: true, skipEmptyLines: true }).data;
    text += value;
    lines += value.split('\n').length - 1;
    if (lines > SCATTER_POINTS + 1) {
      await reader.cancel();
      return Papa.parse(text, { header: true, skipEmptyLines: true }).data.slice(0, SCATTER_POINTS);
    }
  }
}

/**
 * @param {Statistics} stats
 * @param {number} mine the refresh this is for
 */
async function renderScatter(stats, mine) {
  scatterReading?.abort();
  scatterReading = new AbortController();
  const rows = await newestRows(scatterReading.signal);
  if (mine !== generation) return;
  const index = new Map(stats.groups.map((group, i) => [group.name, i]));
  /** @type {[string, number][][]} */
  const points = stats.groups.map(() => []);
  for (const row of rows) {
    const value = Number(row[stats.metric]);
    if (row[stats.metric] === '' || !Number.isFinite(value)) continue;
    for (const name of groupNamesOf(row, stats.group_by)) {
      const i = index.get(name);
      if (i !== undefined) points[i].push([row.execution_datetime, value]);
    }
  }
  const total = stats.overall ? stats.overall.n + stats.skipped : stats.skipped;
  scatterNote.textContent = rows.length < total ? `The newest ${rows.length} of ${total} results.` : `All ${rows.length} results.`;
  scatter.setOption(
    {
      aria: { enabled: true },
      animation: false,
      color: PALETTE,
      tooltip: { trigger: 'item', confine: true },
      legend: { type: 'scroll', top: 0 },
      grid: { left: 72, right: 24, top: 48, bottom: 48 },
      xAxis: { type: 'time', name: 'executed' },
      yAxis: { type: 'value', name: stats.metric, scale: true },
      series: stats.groups.map((group, i) => ({
        type: 'scatter',
        name: group.name,
        symbolSize: 6,
        data: points[i],
        large: points[i].length > 2000,
      })),
    },
    { notMerge: true },
  );
}

/** Asks for the statistics of the form's choice and draws them; the URL follows the choice. */
async function refresh() {
  const params = choiceParams();
  history.replaceState(null, '', `${location.pathname}?${params}`);
  downloads.csv.href = exportUrl('csv');
  downloads.ndjson.href = exportUrl('ndjson');
  const mine = ++generation;
  if (!params.get('benchmark_id') || !params.get('metric')) {
    say('Choose a benchmark and a metric.');
    return;
  }
  say('Computing…');
  document.body.setAttribute('aria-busy', 'true');
  try {
    const stats = await getJson(`${api}/results:stats?${params}`);
    if (mine !== generation) return;
    renderTable(stats);
    renderBoxplot(stats);
    const counted = stats.overall?.n ?? 0;
    const skipped =
      stats.skipped === 1 ? '; 1 has none and is left out' : stats.skipped ? `; ${stats.skipped} have none and are left out` : '';
    say(`${counted === 1 ? '1 result has' : `${counted} results have`} a number at ${stats.metric}${skipped}.`);
    await renderScatter(stats, mine).catch((/** @type {Error} */ error) => {
      // The statistics stand without the points (an export refused while 4 run at once, say).
      if (error.name !== 'AbortError' && mine === generation) scatterNote.textContent = `The points could not be read: ${error.message}`;
    });
  } catch (caught) {
    const error = /** @type {Error} */ (caught);
    if (mine !== generation || error.name === 'AbortError') return;
    if (error instanceof ApiError && error.status === 404 && baseline) {
      // The baseline is not among this choice's groups (another grouping or filter): compare without one.
      baseline = '';
      await refresh();
      return;
    }
    say(error.message, true);
  } finally {
    if (mine === generation) document.body.removeAttribute('aria-busy');
  }
}

/** @param {string} id a group's id, or '' for none */
function chooseBaseline(id) {
  if (id === baseline) return;
  baseline = id;
  void refresh();
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void refresh();
});
form.addEventListener('change', (event) => {
  if (event.target === controls.search) return;
  if (event.target === controls.benchmark) {
    controls.metric.value = '';
    fillMetricPaths();
  }
  if (event.target === controls.groupBy) baseline = '';
  void refresh();
});
controls.search.addEventListener('input', fillBenchmarks);
table.tBodies[0].addEventListener('click', (event) => {
  const row = /** @type {HTMLElement} */ (event.target).closest('tr');
  if (row?.dataset.group) chooseBaseline(row.dataset.group);
});
table.tBodies[0].addEventListener('change', (event) => chooseBaseline(/** @type {HTMLInputElement} */ (event.target).value));
clearBaseline.addEventListener('click', () => chooseBaseline(''));

async function start() {
  try {
    const [benchmarkList, siteList] = await Promise.all([allItems('/benchmarks'), allItems('/sites')]);
    benchmarkList.sort((a, b) => benchmarkName(a).localeCompare(benchmarkName(b)));
    for (const b of benchmarkList) benchmarks.set(b.id, b);
    controls.site.append(...siteList.sort((a, b) => a.name.localeCompare(b.name)).map((site) => new Option(site.name, site.id)));
  } catch (caught) {
    say(`The catalog could not be read: ${/** @type {Error} */ (caught).message}`, true);
    return;
  }
  fillBenchmarks();
  const params = new URLSearchParams(location.search);
  restoreChoice(params);
  fillMetricPaths();
  await refresh();
}

void start();
