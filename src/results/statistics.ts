// The inferential part of GET /results:stats: confidence intervals and the
// comparison with a baseline, from what PostgreSQL aggregated per group
// (db/result-stats.ts). The methods are the ones the spec's description of
// ResultStatistics names; test/statistics.test.ts checks them against
// published examples.
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** 95 %: each tail holds at most 2.5 %. */
const TAIL = 0.025;
/** The normal quantile of 1 − TAIL. */
const Z = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/** Up to this many values, median ranks are exact; beyond, PostgreSQL uses the normal approximation (medianLowRankSql). */
export const EXACT_MEDIAN_RANKS = 1000;

/**
 * The same rank from the normal approximation of the binomial with a
 * continuity correction, floor(n/2 + ½ − z·√n/2): what PostgreSQL computes
 * beyond EXACT_MEDIAN_RANKS values (db/result-stats.ts), with HALF_Z.
 */
export function approximateMedianLowRank(n: number): number {
  return Math.floor(n / 2 + 0.5 - HALF_Z * Math.sqrt(n));
}

export const HALF_Z = Z / 2;

/**
 * The rank j of the lower bound of the distribution-free 95 % interval of
 * the median of n values, [x(j), x(n+1−j)]: the largest j with
 * P(Binomial(n, ½) ≤ j − 1) ≤ 2.5 %. 0 when none exists (n < 6). The search
 * starts near the approximation; the binomial CDF rises with j.
 */
export function medianLowRank(n: number): number {
  let j = Math.max(0, approximateMedianLowRank(n) - 2);
  while (j > 0 && binomialCdf(j - 1, n, 0.5) > TAIL) j -= 1;
  while (j + 1 <= n && binomialCdf(j, n, 0.5) <= TAIL) j += 1;
  return j;
}

let lowRanks: number[] | undefined;

/** medianLowRank for n = 1 … EXACT_MEDIAN_RANKS (at index n − 1), for the SQL to look up. */
export function medianLowRanks(): readonly number[] {
  lowRanks ??= Array.from({ length: EXACT_MEDIAN_RANKS }, (_, i) => medianLowRank(i + 1));
  return lowRanks;
}

/** mean ± t(0.975, n−1)·s/√n; undefined under 2 values. */
export function meanInterval(n: number, mean: number, stddev: number | null): Interval | null {
  if (n < 2 || stddev === null) return null;
  const half = tQuantile(1 - TAIL, n - 1) * (stddev / Math.sqrt(n));
  return { low: mean - half, high: mean + half };
}

/** What a comparison needs of a group. */
export interface GroupMoments {
  n: number;
  mean: number;
  stddev: number | null;
  median: number;
  median_ci: Interval | null;
}

export interface Comparison {
  median_ratio: number | null;
  median_ratio_ci: Interval | null;
  mean_difference: number;
  p_value: number | null;
}

/** Welch's t statistic and its Welch–Satterthwaite degrees of freedom; undefined when it has none. */
export function welch(a: GroupMoments, b: GroupMoments): { t: number; df: number } | undefined {
  if (a.n < 2 || b.n < 2 || a.stddev === null || b.stddev === null) return undefined;
  const va = (a.stddev * a.stddev) / a.n;
  const vb = (b.stddev * b.stddev) / b.n;
  const se2 = va + vb;
  if (!(se2 > 0)) return undefined;
  const df = (se2 * se2) / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
  return { t: (a.mean - b.mean) / Math.sqrt(se2), df };
}

/** Two-sided p-value of Welch's t-test that a's and b's means are equal. */
export function welchPValue(a: GroupMoments, b: GroupMoments): number | null {
  const test = welch(a, b);
  if (!test) return null;
  return Math.min(1, 2 * tCdf(-Math.abs(test.t), test.df));
}

/**
 * 95 % interval of median(a) / median(b) by MOVER (Zou & Donner 2008) on the
 * log scale: the log ratio's bounds combine each median's distance to its own
 * interval's bounds. Needs positive medians and bounds.
 */
export function medianRatioInterval(a: GroupMoments, b: GroupMoments): Interval | null {
  const ca = a.median_ci;
  const cb = b.median_ci;
  if (!ca || !cb || !(a.median > 0 && b.median > 0 && ca.low > 0 && cb.low > 0)) return null;
  const [ma, la, ua] = [Math.log(a.median), Math.log(ca.low), Math.log(ca.high)];
  const [mb, lb, ub] = [Math.log(b.median), Math.log(cb.low), Math.log(cb.high)];
  const difference = ma - mb;
  return {
    low: Math.exp(difference - Math.hypot(ma - la, ub - mb)),
    high: Math.exp(difference + Math.hypot(ua - ma, mb - lb)),
  };
}

/** Group `a` compared with the baseline `b`. */
export function compare(a: GroupMoments, b: GroupMoments): Comparison {
  return {
    median_ratio: b.median === 0 ? null : a.median / b.median,
    median_ratio_ci: medianRatioInterval(a, b),
    mean_difference: a.mean - b.mean,
    p_value: welchPValue(a, b),
  };
}
