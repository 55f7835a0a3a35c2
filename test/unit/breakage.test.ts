import { describe, expect, it } from 'vitest';
import {
  BREAKAGE_COLUMNS,
  breakageCells,
  type CohortCell,
  cohortHistories,
  forecastBreakage,
  HORIZON_MONTHS,
  lastCompleteMonth,
  monthIndex,
  monthOfIndex,
} from '../../functions/core/breakage';
import { cohortDeltas, cohortOf } from '../../functions/core/breakage-counters';
import { develop, observedFactors, toUltimate } from '../../functions/core/chain-ladder';
import { countCells, generateHistory, trueBreakage } from '../support/breakage-history';

const cell = (cohort: string, month: string, measures: Partial<CohortCell>): CohortCell => ({
  cohort,
  month,
  loaded: 0,
  withdrawn: 0,
  redeemed: 0,
  expired: 0,
  ...measures,
});

describe('what each entry adds to its cohort', () => {
  it.each([
    ['ISSUE', 500, undefined, { loaded: 500 }],
    ['ISSUE', 0, undefined, undefined],
    ['ACTIVATE', 2500, undefined, { loaded: 2500 }],
    ['LOAD', 1000, undefined, { loaded: 1000 }],
    ['TRANSFER_IN', 300, 'tx_a_1', { loaded: 300 }],
    ['ADJUST_INCREMENT', 50, undefined, { loaded: 50 }],
    ['REFUND', 400, undefined, { loaded: 400 }],
    ['REFUND', 400, 'tx_a_2', { redeemed: -400 }],
    ['REVERSAL', 700, 'tx_a_3', { redeemed: -700 }],
    ['REVERSAL', -1000, 'tx_a_1', { loaded: -1000 }],
    ['REDEEM', -700, undefined, { redeemed: 700 }],
    ['CAPTURE', -200, undefined, { redeemed: 200 }],
    ['TRANSFER_OUT', -300, 'tx_b_1', { withdrawn: 300 }],
    ['CLEAR_BALANCE', -90, undefined, { withdrawn: 90 }],
    ['ADJUST_DECREMENT', -10, undefined, { withdrawn: 10 }],
    ['EXPIRE', -80, undefined, { expired: 80 }],
    ['HOLD', 0, undefined, undefined],
    ['VOID', 0, undefined, undefined],
    ['BLOCK', 0, undefined, undefined],
  ] as const)('%s %d (related %s) adds %j', (type, amount, relatedTransactionId, expected) => {
    expect(cohortDeltas({ type, amount, ...(relatedTransactionId ? { relatedTransactionId } : {}) })).toEqual(
      expected,
    );
  });

  it('a cohort is the UTC month of the card’s creation', () => {
    expect(cohortOf('2026-03-31T23:59:59.999Z')).toBe('2026-03');
  });
});

describe('months', () => {
  it('index and back, across years', () => {
    expect(monthOfIndex(monthIndex('2025-12') + 1)).toBe('2026-01');
    expect(monthIndex('2026-01') - monthIndex('2021-01')).toBe(60);
    expect(lastCompleteMonth(new Date('2026-01-15T00:00:00Z'))).toBe('2025-12');
  });
});

describe('chain-ladder development', () => {
  // Three cohorts: 3, 2 and 1 months observed.
  const rows = [[100, 150, 180], [200, 320], [50]];

  it('weights each factor by volume over the cohorts that observe both months', () => {
    const factors = observedFactors(rows, 4);
    expect(factors[0]).toBeCloseTo((150 + 320) / (100 + 200), 12);
    expect(factors[1]).toBeCloseTo(180 / 150, 12);
    expect(factors[2]).toBeNull();
  });

  it('a month with nothing to develop from has factor 1', () => {
    expect(
      observedFactors(
        [
          [0, 10],
          [0, 5],
        ],
        2,
      ),
    ).toEqual([1]);
  });

  it('with fewer than 3 factors above 1 the tail adds nothing', () => {
    const development = develop(rows, 6);
    expect(development.observedFactors).toBe(2);
    expect(development.tailDecay).toBeNull();
    expect(development.factors.slice(2)).toEqual([1, 1, 1]);
    expect(toUltimate(development, 1)).toBeCloseTo(180 / 150, 12);
    expect(toUltimate(development, 5)).toBe(1);
  });

  it('the tail continues an exponential decay of (f - 1) that the observed factors follow', () => {
    // f_k - 1 = 0.5 * 0.8^k, observed for k = 0..5, as cumulative rows of one cohort.
    const row = [1000];
    for (let k = 0; k < 6; k++) row.push((row[k] ?? 0) * (1 + 0.5 * 0.8 ** k));
    const development = develop([row], 20);
    expect(development.observedFactors).toBe(6);
    expect(development.tailDecay).toBeCloseTo(0.8, 9);
    for (let k = 6; k < 19; k++) expect(development.factors[k]).toBeCloseTo(1 + 0.5 * 0.8 ** k, 9);
  });

  it('the decay is clamped, so the tail always ends', () => {
    const row = [1000];
    for (let k = 0; k < 6; k++) row.push((row[k] ?? 0) * (1 + 0.01 * 1.1 ** k));
    expect(develop([row], 60).tailDecay).toBe(0.95);
  });
});

describe('cohort histories', () => {
  it('cumulates by development month, leaves out what is after as-of, and lumps what is past the horizon', () => {
    const cells = [
      cell('2020-01', '2020-01', { loaded: 1000, redeemed: 100 }),
      cell('2020-01', '2020-03', { redeemed: 200 }),
      cell('2020-01', '2026-01', { redeemed: 50 }),
      cell('2020-01', '2027-01', { redeemed: 999 }),
      cell('2027-01', '2027-01', { loaded: 999 }),
    ];
    const [history, ...others] = cohortHistories(cells, '2026-06');
    expect(others).toEqual([]);
    expect(history?.cumulative.redeemed).toHaveLength(HORIZON_MONTHS);
    expect(history?.cumulative.redeemed.slice(0, 3)).toEqual([100, 100, 300]);
    expect(history?.cumulative.redeemed[HORIZON_MONTHS - 1]).toBe(350);
  });
});

describe('the forecast of one cohort', () => {
  // One cohort only: no development to learn from, so the ultimate is what is there.
  const cells = [
    cell('2026-01', '2026-01', { loaded: 10_000, redeemed: 3_000 }),
    cell('2026-01', '2026-02', { redeemed: 2_000, withdrawn: 1_000 }),
  ];
  // The arithmetic on a short history: the minimum history waived.
  const forecast = forecastBreakage(cells, '2026-02', 0);
  const [cohort] = forecast.cohorts;

  it('with nothing to develop, the value left is the expected breakage', () => {
    expect(cohort).toMatchObject({
      cohort: '2026-01',
      monthsObserved: 2,
      loaded: 10_000,
      withdrawn: 1_000,
      redeemed: 5_000,
      expired: 0,
      outstandingLiability: 4_000,
      expectedNetLoaded: 9_000,
      expectedRedemptions: 5_000,
      expectedBreakage: 4_000,
      breakageRate: 0.444444,
      // All expected redemptions happened: all of the breakage is recognised.
      recognisedToDate: 4_000,
      unrecognisedBreakage: 0,
      contractLiability: 0,
    });
    expect(cohort?.redeemedShare).toEqual([0.333333, 0.555556]);
    expect(forecast.totals.expectedBreakage).toBe(4_000);
  });

  it('recognises breakage in proportion to redemptions, never below what expired', () => {
    // Two cohorts; the older shows redemptions doubling from month 1 to month 2.
    const two = forecastBreakage(
      [
        cell('2026-01', '2026-01', { loaded: 10_000, redeemed: 4_000 }),
        cell('2026-01', '2026-02', { redeemed: 4_000 }),
        cell('2026-02', '2026-02', { loaded: 10_000, redeemed: 4_000, expired: 500 }),
      ],
      '2026-02',
      0,
    );
    const young = two.cohorts[1];
    // Ultimate redeemed 4,000 x 2 = 8,000: breakage 2,000; recognised 2,000 x 4,000 / 8,000 = 1,000.
    expect(young).toMatchObject({
      expectedRedemptions: 8_000,
      expectedBreakage: 2_000,
      recognisedToDate: 1_000,
      unrecognisedBreakage: 1_000,
      outstandingLiability: 5_500,
      contractLiability: 5_000,
    });
    expect(young?.projectedShare.slice(0, 3)).toEqual([0.4, 0.8, 0.8]);
    expect(two.redemptionDevelopment.cumulativePattern[0]).toBe(0.5);
    const expiredMore = forecastBreakage(
      [
        cell('2026-01', '2026-01', { loaded: 10_000, redeemed: 4_000 }),
        cell('2026-01', '2026-02', { redeemed: 4_000 }),
        cell('2026-02', '2026-02', { loaded: 10_000, redeemed: 1_000, expired: 6_000 }),
      ],
      '2026-02',
      0,
    ).cohorts[1];
    expect(expiredMore?.expectedBreakage).toBe(8_000);
    expect(expiredMore?.recognisedToDate).toBe(6_000);
  });
});

describe('the export file', () => {
  it('has a cell per column; the curve is one cell', () => {
    const forecast = forecastBreakage([cell('2026-01', '2026-01', { loaded: 100, redeemed: 40 })], '2026-03');
    const [cohort] = forecast.cohorts;
    if (!cohort) throw new Error('no cohort');
    const cells = breakageCells('prg_1', 'USD', forecast, cohort);
    expect(cells).toHaveLength(BREAKAGE_COLUMNS.length);
    expect(Object.fromEntries(BREAKAGE_COLUMNS.map((name, index) => [name, cells[index]]))).toMatchObject({
      cohort: '2026-01',
      as_of: '2026-03',
      estimable: false,
      months_observed: 3,
      outstanding_liability: 60,
      redeemed_share_by_month: '0.4 0.4 0.4',
    });
  });
});

describe('a history too short to estimate from', () => {
  it('books no breakage but what expired until the data shows 12 months of development', () => {
    const cells = [
      cell('2026-01', '2026-01', { loaded: 10_000, redeemed: 3_000 }),
      cell('2026-01', '2026-02', { redeemed: 1_000, expired: 500 }),
    ];
    const short = forecastBreakage(cells, '2026-02');
    expect(short.estimable).toBe(false);
    expect(short.cohorts[0]).toMatchObject({
      expectedBreakage: 500,
      recognisedToDate: 500,
      outstandingLiability: 5_500,
      contractLiability: 5_500,
    });
    const long = forecastBreakage([...cells, cell('2026-01', '2027-01', { redeemed: 1_000 })], '2027-01');
    expect(long.estimable).toBe(true);
    // 10,000 loaded, 5,000 redeemed, no development left: the rest, 500 expired included.
    expect(long.cohorts[0]?.expectedBreakage).toBe(5_000);
  });
});

/**
 * Back-test: generated history with a known redemption pattern and true breakage, counted entry by entry
 * into the cohort cells the reporting consumer keeps, forecast from the triangle as of a month where the
 * youngest cohort has one month and the oldest 48 (24), then compared with what each cohort's full
 * 60-month history actually left unredeemed. Accepted error, in points of net loaded value:
 * - all cohorts together: 1 point with 48 months of history, 4 points with 24 (the tail has to carry
 *   up to a fifth of the redemptions there);
 * - each cohort with at least 12 months observed: 5 points (300 cards a cohort: sampling noise is ~1).
 */
describe('back-test against a known true breakage', () => {
  const scenarios = [
    { trueBreakage: 0.12, decay: 0.85, cohorts: 48, asOf: '2025-12', total: 0.01 },
    { trueBreakage: 0.2, decay: 0.93, cohorts: 48, asOf: '2025-12', total: 0.01 },
    { trueBreakage: 0.05, decay: 0.7, cohorts: 48, asOf: '2025-12', total: 0.01 },
    { trueBreakage: 0.12, decay: 0.85, cohorts: 24, asOf: '2023-12', total: 0.04 },
    { trueBreakage: 0.2, decay: 0.93, cohorts: 24, asOf: '2023-12', total: 0.04 },
  ];

  it.each(scenarios)('true breakage $trueBreakage, monthly decay $decay, $cohorts cohorts', (scenario) => {
    const entries = generateHistory({ seed: 7, firstCohort: '2022-01', cardsPerCohort: 300, ...scenario });
    const truth = trueBreakage(entries);
    const forecast = forecastBreakage(countCells(entries), scenario.asOf);
    expect(forecast.cohorts).toHaveLength(scenario.cohorts);
    let netLoaded = 0;
    let trueTotal = 0;
    for (const cohort of forecast.cohorts) {
      const actual = truth.get(cohort.cohort);
      if (!actual) throw new Error(`no truth for ${cohort.cohort}`);
      netLoaded += actual.netLoaded;
      trueTotal += actual.breakage;
      if (cohort.monthsObserved >= 12) {
        expect(Math.abs(cohort.expectedBreakage - actual.breakage) / actual.netLoaded).toBeLessThan(0.05);
      }
      expect(cohort.recognisedToDate).toBeLessThanOrEqual(cohort.expectedBreakage);
    }
    const error = Math.abs(forecast.totals.expectedBreakage - trueTotal) / netLoaded;
    expect(error).toBeLessThan(scenario.total);
    // The true rate is the one the history was generated with, within its sampling noise.
    expect(Math.abs(trueTotal / netLoaded - scenario.trueBreakage)).toBeLessThan(0.01);
  });
});
