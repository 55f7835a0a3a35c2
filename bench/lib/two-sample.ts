/**
 * Two-sample tests for latency samples: do two sets of timings come from the same distribution? Both
 * are rank or distribution tests (no normality assumed), which suits skewed, noisy latencies.
 */

/** Standard normal CDF (Abramowitz and Stegun 7.1.26 for erf; absolute error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

export interface MannWhitney {
  /** U of the first sample. */
  readonly u: number;
  readonly z: number;
  /** Two-sided, normal approximation with tie and continuity corrections. */
  readonly p: number;
  /** P(a > b) + P(a = b) / 2: 0.5 when neither sample tends to be slower. */
  readonly auc: number;
}

/** Mann-Whitney U (Wilcoxon rank-sum) test of `a` against `b`. */
export function mannWhitney(a: readonly number[], b: readonly number[]): MannWhitney {
  const n1 = a.length;
  const n2 = b.length;
  const all = [...a.map((value) => ({ value, first: true })), ...b.map((value) => ({ value, first: false }))];
  all.sort((x, y) => x.value - y.value);
  let rankSumA = 0;
  let tieTerm = 0;
  for (let start = 0; start < all.length; ) {
    let end = start;
    while (end + 1 < all.length && all[end + 1]?.value === all[start]?.value) end += 1;
    const rank = (start + end) / 2 + 1;
    const ties = end - start + 1;
    tieTerm += ties ** 3 - ties;
    for (let index = start; index <= end; index += 1) if (all[index]?.first) rankSumA += rank;
    start = end + 1;
  }
  const n = n1 + n2;
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const distance = Math.max(0, Math.abs(u - mean) - 0.5);
  const z = sigma > 0 ? Math.sign(u - mean) * (distance / sigma) : 0;
  return { u, z, p: Math.min(1, 2 * (1 - normalCdf(Math.abs(z)))), auc: u / (n1 * n2) };
}

export interface KolmogorovSmirnov {
  /** Largest distance between the two empirical CDFs. */
  readonly d: number;
  /** Asymptotic two-sided p-value (Stephens' small-sample correction). */
  readonly p: number;
}

/** Two-sample Kolmogorov-Smirnov test. */
export function kolmogorovSmirnov(a: readonly number[], b: readonly number[]): KolmogorovSmirnov {
  const x = [...a].sort((l, r) => l - r);
  const y = [...b].sort((l, r) => l - r);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const value = Math.min(x[i] ?? Number.POSITIVE_INFINITY, y[j] ?? Number.POSITIVE_INFINITY);
    while (i < x.length && x[i] === value) i += 1;
    while (j < y.length && y[j] === value) j += 1;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const ne = (x.length * y.length) / (x.length + y.length);
  const lambda = (Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne)) * d;
  let p = 0;
  for (let k = 1; k <= 100; k += 1) p += 2 * (-1) ** (k - 1) * Math.exp(-2 * k * k * lambda * lambda);
  return { d, p: Math.min(1, Math.max(0, lambda < 0.3 ? 1 : p)) };
}
