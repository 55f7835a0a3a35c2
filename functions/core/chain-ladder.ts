/**
 * Chain-ladder development over a cohort triangle (pure arithmetic; docs/breakage.md says why).
 *
 * A triangle row is one cohort's cumulative amounts by development month (index 0 = the cohort's own
 * month), observed up to its length. Development factor k (k -> k+1) is volume-weighted over every cohort
 * observed at both k and k+1: sum C[k+1] / sum C[k]. Factors no cohort observes yet come from the tail:
 * (f - 1) decays exponentially, fitted by least squares on log(f - 1) over the last TAIL_FIT_FACTORS
 * observed factors above 1, the decay clamped to [0, MAX_TAIL_DECAY]; fewer than MIN_TAIL_POINTS such
 * factors: no further development (factor 1). Development stops at `horizon` months.
 */
export const TAIL_FIT_FACTORS = 12;
export const MIN_TAIL_POINTS = 3;
export const MAX_TAIL_DECAY = 0.95;

export interface Development {
  /** factors[k] develops month k to k+1; length horizon - 1. */
  readonly factors: readonly number[];
  /** How many of the factors (from the start) were observed; the rest are the tail's. */
  readonly observedFactors: number;
  /** The tail's fitted decay of (f - 1) per month, or null when the tail adds nothing. */
  readonly tailDecay: number | null;
}

/** Volume-weighted factors; null where no cohort observes both months (or the base sums to 0). */
export function observedFactors(rows: readonly (readonly number[])[], horizon: number): (number | null)[] {
  const factors: (number | null)[] = [];
  for (let k = 0; k < horizon - 1; k++) {
    let base = 0;
    let next = 0;
    let seen = false;
    for (const row of rows) {
      const from = row[k];
      const to = row[k + 1];
      if (from === undefined || to === undefined) continue;
      seen = true;
      base += from;
      next += to;
    }
    factors.push(seen ? (base > 0 ? next / base : 1) : null);
  }
  return factors;
}

/** Least-squares line through (x, y): slope and intercept. */
function fitLine(points: readonly (readonly [number, number])[]): { slope: number; intercept: number } {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { slope, intercept: meanY - slope * meanX };
}

/** The tail's (f - 1) at month k, fitted on the last observed factors; undefined when it cannot be fitted. */
function tailFit(
  observed: readonly number[],
): { decay: number; excessAt: (k: number) => number } | undefined {
  const points = observed
    .map((factor, k) => [k, factor - 1] as const)
    .slice(-TAIL_FIT_FACTORS)
    .filter(([, excess]) => excess > 0)
    .map(([k, excess]) => [k, Math.log(excess)] as const);
  if (points.length < MIN_TAIL_POINTS) return undefined;
  const line = fitLine(points);
  const decay = Math.min(MAX_TAIL_DECAY, Math.max(0, Math.exp(line.slope)));
  const last = points[points.length - 1];
  if (!last || decay === 0) return undefined;
  // Anchored at the fitted value of the last point, decaying from there.
  const anchor = Math.exp(line.intercept + line.slope * last[0]);
  return { decay, excessAt: (k) => anchor * decay ** (k - last[0]) };
}

/** The development of a triangle: observed factors where cohorts show them, the tail after. */
export function develop(rows: readonly (readonly number[])[], horizon: number): Development {
  const observed = observedFactors(rows, horizon);
  const firstMissing = observed.indexOf(null);
  const known = (firstMissing === -1 ? observed : observed.slice(0, firstMissing)) as number[];
  const tail = tailFit(known);
  const factors = observed.map((factor, k) =>
    k < known.length ? (factor ?? 1) : 1 + (tail ? tail.excessAt(k) : 0),
  );
  return { factors, observedFactors: known.length, tailDecay: tail ? tail.decay : null };
}

/** The product of the factors from month `from` to the horizon: how much a cumulative at `from` grows. */
export function toUltimate(development: Development, from: number): number {
  let product = 1;
  for (let k = Math.max(0, from); k < development.factors.length; k++) {
    product *= development.factors[k] ?? 1;
  }
  return product;
}
