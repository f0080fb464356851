// The inference behind GET /results:stats (src/results/statistics.ts),
// checked against published figures: the ranks of the median's
// distribution-free interval (Campbell & Gardner, BMJ 1988, table 1), R's
// Welch test and t interval of Student's sleep data, and the degenerate
// cases that must answer null rather than a number.
import t from 'tap';
import {
  approximateMedianLowRank,
  compare,
  EXACT_MEDIAN_RANKS,
  meanInterval,
  medianLowRank,
  medianLowRanks,
  welch,
  welchPValue,
} from '../src/results/statistics.js';

t.test('median interval ranks equal the published table', async (t) => {
  const published: [number, number][] = [
    [6, 1],
    [7, 1],
    [8, 1],
    [9, 2],
    [10, 2],
    [11, 2],
    [12, 3],
    [13, 3],
    [14, 3],
    [15, 4],
    [16, 4],
    [17, 5],
    [18, 5],
    [19, 5],
    [20, 6],
    [21, 6],
    [22, 6],
    [23, 7],
    [24, 7],
    [25, 8],
    [26, 8],
    [27, 8],
    [28, 9],
    [29, 9],
    [30, 10],
    [100, 40],
  ];
  for (const [n, j] of published) t.equal(medianLowRank(n), j, `n = ${n}: x(${j}) … x(${n + 1 - j})`);
  for (const n of [1, 2, 3, 4, 5]) t.equal(medianLowRank(n), 0, `n = ${n}: no interval reaches 95 %`);
  const table = medianLowRanks();
  t.equal(table.length, EXACT_MEDIAN_RANKS);
  t.equal(table[9], 2, 'the table holds n = 10 at index 9');
});

t.test('beyond the exact table, the approximation the SQL uses is the exact rank or one wider', async (t) => {
  let wider = 0;
  let narrower = 0;
  for (let n = EXACT_MEDIAN_RANKS - 200; n <= 6000; n += 1) {
    const difference = medianLowRank(n) - approximateMedianLowRank(n);
    if (difference === 1) wider += 1;
    else if (difference !== 0) narrower += 1;
  }
  t.equal(narrower, 0, 'never narrower than 95 % allows, never off by more than a rank');
  t.ok(wider < 50, `one rank wider for ${wider} of 5 201 sizes`);
});

// R: t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p-value = 0.07939;
// t.test(sleep$extra[1:10]): mean 0.75, 95 % CI -0.5297804 2.0297804.
const sleep1 = { n: 10, mean: 0.75, stddev: 1.7890096577591625, median: 0.35, median_ci: { low: -1.2, high: 3.4 } };
const sleep2 = { n: 10, mean: 2.33, stddev: 2.002248731303615, median: 1.75, median_ci: { low: 0.1, high: 4.6 } };

t.test("Welch's test and the t interval equal R's on the sleep data", async (t) => {
  const test = welch(sleep1, sleep2);
  t.ok(test && Math.abs(test.t + 1.8608) < 5e-5, `t = ${test?.t}`);
  t.ok(test && Math.abs(test.df - 17.776) < 5e-4, `df = ${test?.df}`);
  t.ok(Math.abs((welchPValue(sleep1, sleep2) ?? 0) - 0.07939) < 5e-6, 'p = 0.07939');
  t.equal(welchPValue(sleep1, sleep2), welchPValue(sleep2, sleep1), 'two-sided: symmetric');
  const ci = meanInterval(10, 0.75, sleep1.stddev);
  t.ok(ci && Math.abs(ci.low + 0.5297804) < 1e-6 && Math.abs(ci.high - 2.0297804) < 1e-6, JSON.stringify(ci));
});

t.test('too little to infer from: null, never NaN', async (t) => {
  const one = { n: 1, mean: 5, stddev: null, median: 5, median_ci: null };
  const flat = { n: 3, mean: 5, stddev: 0, median: 5, median_ci: null };
  t.equal(meanInterval(1, 5, null), null, 'one value: no mean interval');
  t.equal(welchPValue(one, sleep1), null, 'one value: no p-value');
  t.equal(welchPValue(flat, flat), null, 'no spread in either group: no p-value');
  t.same(compare(flat, { ...flat, median: 0, mean: 0 }), { median_ratio: null, median_ratio_ci: null, mean_difference: 5, p_value: null });
  t.equal(compare(sleep2, sleep1).median_ratio_ci, null, 'a bound at or below 0: no ratio interval');
  const ratio = compare(
    { ...sleep2, median: 2, median_ci: { low: 1, high: 4 } },
    { ...sleep1, median: 1, median_ci: { low: 0.5, high: 2 } },
  );
  t.equal(ratio.median_ratio, 2);
  t.ok(ratio.median_ratio_ci && ratio.median_ratio_ci.low < 2 && ratio.median_ratio_ci.high > 2, JSON.stringify(ratio.median_ratio_ci));
});
