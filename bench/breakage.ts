/**
 * The breakage forecast (docs/breakage.md), pure code, no stack: the back-test at scale (generated
 * history with a known true breakage, counted into cohort cells, forecast from the truncated triangle,
 * error against the truth in points of net loaded value), and the time one forecast takes on the largest
 * triangle the API reads (a program with 120 issue months: 60 developed to the horizon, 60 still open).
 * Knobs: BENCH_BREAKAGE_CARDS (cards per cohort, 3000), BENCH_BREAKAGE_ROUNDS (forecast timings, 50).
 */
import { forecastBreakage } from '../functions/core/breakage';
import { countCells, generateHistory, trueBreakage } from '../test/support/breakage-history';
import { emit, knob, progress } from './lib/env';
import { codeState, machine } from './lib/machine';
import { elapsedMs, round, summarize } from './lib/stats';

const CARDS = knob('BREAKAGE_CARDS', 3000);
const ROUNDS = knob('BREAKAGE_ROUNDS', 50);

const scenarios = [
  { trueBreakage: 0.12, decay: 0.85, cohorts: 48, asOf: '2025-12' },
  { trueBreakage: 0.2, decay: 0.93, cohorts: 48, asOf: '2025-12' },
  { trueBreakage: 0.05, decay: 0.7, cohorts: 48, asOf: '2025-12' },
  { trueBreakage: 0.12, decay: 0.85, cohorts: 24, asOf: '2023-12' },
  { trueBreakage: 0.2, decay: 0.93, cohorts: 24, asOf: '2023-12' },
];

function backTest(scenario: (typeof scenarios)[number]) {
  const entries = generateHistory({ seed: 11, firstCohort: '2022-01', cardsPerCohort: CARDS, ...scenario });
  const truth = trueBreakage(entries);
  const forecast = forecastBreakage(countCells(entries), scenario.asOf);
  let netLoaded = 0;
  let trueTotal = 0;
  let worstMature = 0;
  for (const cohort of forecast.cohorts) {
    const actual = truth.get(cohort.cohort) ?? { netLoaded: 1, breakage: 0 };
    netLoaded += actual.netLoaded;
    trueTotal += actual.breakage;
    const error = Math.abs(cohort.expectedBreakage - actual.breakage) / actual.netLoaded;
    if (cohort.monthsObserved >= 12) worstMature = Math.max(worstMature, error);
  }
  return {
    ...scenario,
    entries: entries.length,
    trueRatePct: round((100 * trueTotal) / netLoaded, 2),
    forecastRatePct: round((100 * forecast.totals.expectedBreakage) / netLoaded, 2),
    totalErrorPoints: round((100 * Math.abs(forecast.totals.expectedBreakage - trueTotal)) / netLoaded, 2),
    worstCohortErrorPoints12mPlus: round(100 * worstMature, 2),
  };
}

progress(`back-test, ${CARDS} cards per cohort`);
const backTests = scenarios.map(backTest);

progress('forecast timing on a 120-month triangle');
const cells = countCells(
  generateHistory({
    seed: 5,
    firstCohort: '2016-01',
    cohorts: 120,
    cardsPerCohort: 50,
    trueBreakage: 0.1,
    decay: 0.9,
  }),
);
const samples: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const start = process.hrtime.bigint();
  forecastBreakage(cells, '2025-12');
  samples.push(elapsedMs(start));
}

emit({
  benchmark: 'breakage',
  machine: machine(),
  code: codeState(),
  cardsPerCohort: CARDS,
  backTests,
  forecast: { cohorts: 120, cells: cells.length, ms: summarize(samples) },
});
