/** Percentiles and medians for benchmark samples (milliseconds unless said). */
export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    mean: round(sum / Math.max(1, sorted.length)),
    min: round(sorted[0] ?? Number.NaN),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** The median of each field over rounds (each round summarised on its own first). */
export function medianOfRounds(rounds: readonly Summary[]): Summary {
  const field = (key: keyof Summary) => round(median(rounds.map((summary) => summary[key])));
  return {
    n: rounds.reduce((total, summary) => total + summary.n, 0),
    p50: field('p50'),
    p90: field('p90'),
    p99: field('p99'),
    mean: field('mean'),
    min: field('min'),
    max: field('max'),
  };
}

/** Three significant decimals is plenty for milliseconds on a noisy machine. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export const ratio = (value: number, baseline: number): number => round(value / baseline, 2);

/** Milliseconds since an origin taken with process.hrtime.bigint(). */
export const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

export function tally(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Appends to the list under `key`, creating it on first use. */
export function pushTo<T>(lists: Record<string, T[]>, key: string, value: T): void {
  const list = lists[key] ?? [];
  list.push(value);
  lists[key] = list;
}
