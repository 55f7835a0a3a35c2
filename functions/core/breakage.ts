import { COHORT_MEASURES, type CohortMeasure } from './breakage-counters';
import { type Development, develop, toUltimate } from './chain-ladder';

/**
 * The breakage forecast (docs/breakage.md): per issue-month cohort, the share of its net loaded value
 * redeemed after 1..HORIZON_MONTHS months, the ultimate redemptions and net loaded value by chain-ladder
 * (functions/core/chain-ladder.ts), the expected breakage, and the breakage to recognise to date in
 * proportion to redemptions (ASC 606 / IFRS 15): expected breakage x redeemed to date / expected total
 * redemptions. Value not redeemed within HORIZON_MONTHS is breakage; activity after it counts in the last
 * development month.
 */
export const HORIZON_MONTHS = 60;
/**
 * Development months the data must show (its oldest cohort observed for one more month) before breakage
 * is estimated at all. Before that the estimate is not reliable enough to book (ASC 606's constraint: no
 * breakage that is likely to reverse): expected breakage is what expired, and only that is recognised.
 */
export const MIN_HISTORY_MONTHS = 12;

/** One counter cell: a cohort's measures in one calendar month (UTC). */
export type CohortCell = Readonly<Record<CohortMeasure, number>> & {
  readonly cohort: string;
  readonly month: string;
};

export interface CohortForecast {
  readonly cohort: string;
  /** Development months observed (1 = the issue month only). */
  readonly monthsObserved: number;
  readonly loaded: number;
  readonly withdrawn: number;
  readonly redeemed: number;
  readonly expired: number;
  /** Net loaded - redeemed - expired: what the cohort's cards hold. */
  readonly outstandingLiability: number;
  /** Cumulative redeemed / net loaded to date after 1..monthsObserved months. */
  readonly redeemedShare: readonly number[];
  /** Observed then projected cumulative redeemed / expected ultimate net loaded, 1..HORIZON_MONTHS. */
  readonly projectedShare: readonly number[];
  readonly expectedNetLoaded: number;
  readonly expectedRedemptions: number;
  readonly expectedBreakage: number;
  readonly breakageRate: number;
  readonly recognisedToDate: number;
  readonly unrecognisedBreakage: number;
  /** The liability net of breakage recognised: outstanding - (recognised - expired). */
  readonly contractLiability: number;
}

export interface BreakageForecast {
  readonly asOf: string;
  /** False while the history is shorter than MIN_HISTORY_MONTHS: breakage is then only what expired. */
  readonly estimable: boolean;
  readonly horizonMonths: number;
  readonly redemptionDevelopment: Development & { readonly cumulativePattern: readonly number[] };
  readonly loadDevelopment: Development;
  readonly cohorts: readonly CohortForecast[];
  readonly totals: Omit<
    CohortForecast,
    'cohort' | 'monthsObserved' | 'redeemedShare' | 'projectedShare' | 'breakageRate'
  > & { readonly breakageRate: number };
}

export const monthIndex = (month: string): number =>
  Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1;

export const monthOfIndex = (index: number): string =>
  `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;

/** The last complete UTC month before `now`: the default as-of month (a partial month biases factors). */
export const lastCompleteMonth = (now: Date): string => monthOfIndex(monthIndex(now.toISOString()) - 1);

const ratio = (value: number): number => Math.round(value * 1e6) / 1e6;

interface CohortHistory {
  readonly cohort: string;
  /** Cumulative measures by development month, observed months only. */
  readonly cumulative: Record<CohortMeasure, number[]>;
}

/** Cells to cumulative rows per cohort, as of `asOf` (later months and cohorts left out). */
export function cohortHistories(cells: readonly CohortCell[], asOf: string): CohortHistory[] {
  const asOfIndex = monthIndex(asOf);
  const byCohort = new Map<string, Record<CohortMeasure, number[]>>();
  for (const cell of cells) {
    const start = monthIndex(cell.cohort);
    const at = monthIndex(cell.month);
    if (start > asOfIndex || at > asOfIndex) continue;
    const observed = Math.min(HORIZON_MONTHS, asOfIndex - start + 1);
    let rows = byCohort.get(cell.cohort);
    if (!rows) {
      rows = Object.fromEntries(
        COHORT_MEASURES.map((measure) => [measure, new Array<number>(observed).fill(0)]),
      ) as Record<CohortMeasure, number[]>;
      byCohort.set(cell.cohort, rows);
    }
    const development = Math.min(observed - 1, Math.max(0, at - start));
    for (const measure of COHORT_MEASURES) {
      const row = rows[measure];
      row[development] = (row[development] ?? 0) + cell[measure];
    }
  }
  return [...byCohort.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([cohort, rows]) => {
      for (const measure of COHORT_MEASURES) {
        const row = rows[measure];
        for (let k = 1; k < row.length; k++) row[k] = (row[k] ?? 0) + (row[k - 1] ?? 0);
      }
      return { cohort, cumulative: rows };
    });
}

const lastOf = (row: readonly number[]): number => row[row.length - 1] ?? 0;

const netLoadedRow = (history: CohortHistory): number[] =>
  history.cumulative.loaded.map((loaded, k) => loaded - (history.cumulative.withdrawn[k] ?? 0));

function projectedShare(redeemed: readonly number[], development: Development, netLoaded: number): number[] {
  const share: number[] = [];
  let value = 0;
  for (let k = 0; k < HORIZON_MONTHS; k++) {
    value = k < redeemed.length ? (redeemed[k] ?? 0) : value * (development.factors[k - 1] ?? 1);
    share.push(netLoaded > 0 ? ratio(value / netLoaded) : 0);
  }
  return share;
}

function cohortForecast(
  history: CohortHistory,
  redemption: Development,
  load: Development,
  estimable: boolean,
): CohortForecast {
  const netLoadedRows = netLoadedRow(history);
  const observed = netLoadedRows.length;
  const netLoaded = lastOf(netLoadedRows);
  const redeemed = lastOf(history.cumulative.redeemed);
  const expired = lastOf(history.cumulative.expired);
  // Factors below 1 (refunds) never take an ultimate below what is already there.
  const expectedNetLoaded = Math.max(netLoaded, Math.round(netLoaded * toUltimate(load, observed - 1)));
  const ultimateRedeemed = Math.max(redeemed, Math.round(redeemed * toUltimate(redemption, observed - 1)));
  const expectedBreakage = estimable ? Math.max(expired, expectedNetLoaded - ultimateRedeemed) : expired;
  const expectedRedemptions = expectedNetLoaded - expectedBreakage;
  const outstandingLiability = netLoaded - redeemed - expired;
  const proportional =
    expectedRedemptions > 0 ? Math.round((expectedBreakage * redeemed) / expectedRedemptions) : 0;
  // Never more than expected, never less than already expired, never more than the value left.
  const recognisedToDate = Math.min(
    expectedBreakage,
    Math.max(expired, Math.min(proportional, netLoaded - redeemed)),
  );
  return {
    cohort: history.cohort,
    monthsObserved: observed,
    loaded: lastOf(history.cumulative.loaded),
    withdrawn: lastOf(history.cumulative.withdrawn),
    redeemed,
    expired,
    outstandingLiability,
    redeemedShare: history.cumulative.redeemed.map((value) => (netLoaded > 0 ? ratio(value / netLoaded) : 0)),
    projectedShare: projectedShare(history.cumulative.redeemed, redemption, expectedNetLoaded),
    expectedNetLoaded,
    expectedRedemptions,
    expectedBreakage,
    breakageRate: expectedNetLoaded > 0 ? ratio(expectedBreakage / expectedNetLoaded) : 0,
    recognisedToDate,
    unrecognisedBreakage: expectedBreakage - recognisedToDate,
    contractLiability: outstandingLiability - (recognisedToDate - expired),
  };
}

const TOTALLED = [
  'loaded',
  'withdrawn',
  'redeemed',
  'expired',
  'outstandingLiability',
  'expectedNetLoaded',
  'expectedRedemptions',
  'expectedBreakage',
  'recognisedToDate',
  'unrecognisedBreakage',
  'contractLiability',
] as const;

function totalsOf(cohorts: readonly CohortForecast[]): BreakageForecast['totals'] {
  const totals = Object.fromEntries(
    TOTALLED.map((name) => [name, cohorts.reduce((sum, cohort) => sum + cohort[name], 0)]),
  ) as Record<(typeof TOTALLED)[number], number>;
  return {
    ...totals,
    breakageRate:
      totals.expectedNetLoaded > 0 ? ratio(totals.expectedBreakage / totals.expectedNetLoaded) : 0,
  };
}

/** Primary course: cells to cumulative triangles, develop them, forecast each cohort, total them. */
export function forecastBreakage(
  cells: readonly CohortCell[],
  asOf: string,
  minHistoryMonths = MIN_HISTORY_MONTHS,
): BreakageForecast {
  const histories = cohortHistories(cells, asOf);
  const redemption = develop(
    histories.map((history) => history.cumulative.redeemed),
    HORIZON_MONTHS,
  );
  const load = develop(histories.map(netLoadedRow), HORIZON_MONTHS);
  const estimable = redemption.observedFactors >= minHistoryMonths;
  const cohorts = histories.map((history) => cohortForecast(history, redemption, load, estimable));
  const cumulativePattern = Array.from({ length: HORIZON_MONTHS }, (_, k) =>
    ratio(1 / toUltimate(redemption, k)),
  );
  return {
    asOf,
    estimable,
    horizonMonths: HORIZON_MONTHS,
    redemptionDevelopment: { ...redemption, cumulativePattern },
    loadDevelopment: load,
    cohorts,
    totals: totalsOf(cohorts),
  };
}

/** One program and currency's forecast. */
export interface ProgramForecast {
  readonly programId: string;
  readonly currency: string;
  readonly forecast: BreakageForecast;
}

/** The monthly export's `breakage` file: one row per program, currency and cohort (docs/breakage.md). */
export const BREAKAGE_COLUMNS = [
  'program_id',
  'currency',
  'cohort',
  'as_of',
  'estimable',
  'months_observed',
  'loaded',
  'withdrawn',
  'redeemed',
  'expired',
  'outstanding_liability',
  'expected_net_loaded',
  'expected_redemptions',
  'expected_breakage',
  'breakage_rate',
  'recognised_to_date',
  'unrecognised_breakage',
  'contract_liability',
  'redeemed_share_by_month',
] as const;

export function breakageCells(
  programId: string,
  currency: string,
  forecast: Pick<BreakageForecast, 'asOf' | 'estimable'>,
  cohort: CohortForecast,
): (string | number | boolean)[] {
  return [
    programId,
    currency,
    cohort.cohort,
    forecast.asOf,
    forecast.estimable,
    cohort.monthsObserved,
    cohort.loaded,
    cohort.withdrawn,
    cohort.redeemed,
    cohort.expired,
    cohort.outstandingLiability,
    cohort.expectedNetLoaded,
    cohort.expectedRedemptions,
    cohort.expectedBreakage,
    cohort.breakageRate,
    cohort.recognisedToDate,
    cohort.unrecognisedBreakage,
    cohort.contractLiability,
    // Month 1..n, separated by spaces: one cell, whatever the cohort's age.
    cohort.redeemedShare.join(' '),
  ];
}
