import { type CohortCell, HORIZON_MONTHS, monthIndex, monthOfIndex } from '../../functions/core/breakage';
import { COHORT_MEASURES, type CohortDeltas, cohortDeltas } from '../../functions/core/breakage-counters';
import type { EntryType } from '../../functions/core/ledger';
import { seededRandom } from '../unit/domain-fixtures';

/**
 * Generated card history with a known redemption pattern and a known true breakage (the back-test of
 * docs/breakage.md). Each card is loaded at issue (a tenth of them once more within a year); its value
 * is split into REDEMPTION_PARTS parts, each redeemed with probability 1 - trueBreakage in a month drawn
 * from a geometric pattern (monthly decay `decay`, cut at HORIZON_MONTHS), and otherwise never. A few
 * redemptions are refunded a month later (against the redemption), and a few cards are cashed out,
 * so every measure is exercised. The true breakage of a cohort is what its full 60-month history leaves
 * unredeemed.
 */
export interface HistoryOptions {
  readonly seed: number;
  readonly firstCohort: string;
  readonly cohorts: number;
  readonly cardsPerCohort: number;
  readonly trueBreakage: number;
  readonly decay: number;
}

export const REDEMPTION_PARTS = 4;

export interface GeneratedEntry {
  readonly type: EntryType;
  readonly amount: number;
  readonly relatedTransactionId?: string;
  readonly cohort: string;
  readonly month: string;
}

/** Month offsets 0..HORIZON_MONTHS-1 drawn from a geometric pattern cut at the horizon. */
function monthSampler(decay: number, random: () => number): () => number {
  const weights = Array.from({ length: HORIZON_MONTHS }, (_, k) => decay ** k);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return () => {
    let draw = random() * total;
    for (let k = 0; k < weights.length; k++) {
      draw -= weights[k] ?? 0;
      if (draw <= 0) return k;
    }
    return HORIZON_MONTHS - 1;
  };
}

function cardEntries(
  cohortIndex: number,
  options: HistoryOptions,
  random: () => number,
  month: () => number,
): GeneratedEntry[] {
  const cohort = monthOfIndex(cohortIndex);
  const at = (offset: number) => monthOfIndex(cohortIndex + offset);
  const entries: GeneratedEntry[] = [];
  const load = 1_000 + Math.floor(random() * 9_000);
  entries.push({ type: 'ACTIVATE', amount: load, cohort, month: cohort });
  let value = load;
  if (random() < 0.1) {
    const reload = 500 + Math.floor(random() * 4_500);
    entries.push({ type: 'LOAD', amount: reload, cohort, month: at(Math.floor(random() * 12)) });
    value += reload;
  }
  if (random() < 0.02) {
    entries.push({ type: 'CLEAR_BALANCE', amount: -value, cohort, month: at(Math.floor(random() * 6)) });
    return entries;
  }
  const part = Math.floor(value / REDEMPTION_PARTS);
  for (let index = 0; index < REDEMPTION_PARTS; index++) {
    if (random() < options.trueBreakage) continue;
    const offset = month();
    entries.push({ type: 'REDEEM', amount: -part, cohort, month: at(offset) });
    if (random() < 0.03 && offset + 1 < HORIZON_MONTHS) {
      entries.push({
        type: 'REFUND',
        amount: part,
        relatedTransactionId: 'tx',
        cohort,
        month: at(offset + 1),
      });
      entries.push({
        type: 'REDEEM',
        amount: -part,
        cohort,
        month: at(Math.min(HORIZON_MONTHS - 1, offset + 2)),
      });
    }
  }
  return entries;
}

/** Every entry of the history (all 60 months of every cohort), in no particular order. */
export function generateHistory(options: HistoryOptions): GeneratedEntry[] {
  const random = seededRandom(options.seed);
  const month = monthSampler(options.decay, random);
  const first = monthIndex(options.firstCohort);
  const entries: GeneratedEntry[] = [];
  for (let c = 0; c < options.cohorts; c++) {
    for (let card = 0; card < options.cardsPerCohort; card++) {
      entries.push(...cardEntries(first + c, options, random, month));
    }
  }
  return entries;
}

type MutableCell = { -readonly [K in keyof CohortCell]: CohortCell[K] };

/** The counters the reporting consumer would keep: entry by entry into (cohort, month) cells. */
export function countCells(entries: readonly GeneratedEntry[]): CohortCell[] {
  const cells = new Map<string, MutableCell>();
  for (const entry of entries) {
    const deltas: CohortDeltas | undefined = cohortDeltas(entry);
    if (!deltas) continue;
    const id = `${entry.cohort}|${entry.month}`;
    const cell = cells.get(id) ?? {
      cohort: entry.cohort,
      month: entry.month,
      loaded: 0,
      withdrawn: 0,
      redeemed: 0,
      expired: 0,
    };
    for (const measure of COHORT_MEASURES) cell[measure] += deltas[measure] ?? 0;
    cells.set(id, cell);
  }
  return [...cells.values()];
}

/** The true breakage of each cohort: net loaded minus redeemed over its whole history. */
export function trueBreakage(
  entries: readonly GeneratedEntry[],
): Map<string, { netLoaded: number; breakage: number }> {
  const byCohort = new Map<string, { netLoaded: number; breakage: number }>();
  for (const cell of countCells(entries)) {
    const totals = byCohort.get(cell.cohort) ?? { netLoaded: 0, breakage: 0 };
    totals.netLoaded += cell.loaded - cell.withdrawn;
    totals.breakage += cell.loaded - cell.withdrawn - cell.redeemed;
    byCohort.set(cell.cohort, totals);
  }
  return byCohort;
}
