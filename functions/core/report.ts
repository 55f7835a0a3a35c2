import { isCalendarDate } from './calendar';
import { DomainError } from './errors';
import { type EntryType, type LedgerEntry, VALUE_ENTRY_TYPES } from './ledger';

/**
 * Real-time finance reporting: what each ledger entry adds to the aggregates of its program, merchant,
 * currency and UTC day (the day of the entry's `createdAt` in UTC, whatever the region's time zone).
 *
 * Which entries move what (functions/core/card.ts): ISSUE (pre-loaded value), ACTIVATE, LOAD, REFUND,
 * TRANSFER_IN and ADJUST_INCREMENT add to the balance; REDEEM, CAPTURE, TRANSFER_OUT, ADJUST_DECREMENT,
 * CLEAR_BALANCE (cash-out) and EXPIRE (breakage) take from it; a REVERSAL moves it either way (signed).
 * HOLD and VOID move only `available` (a hold sets value aside; the balance, hence the liability, is
 * unchanged until the CAPTURE), so they are counted but add no value. State and PIN entries add nothing.
 *
 * Outstanding liability is the running sum of every balance movement: the value cards hold.
 */
export const REPORT_METRICS = [
  'issuedCount',
  'issued',
  'activatedCount',
  'activated',
  'loadedCount',
  'loaded',
  /** REDEEM and CAPTURE: value spent at merchants (captures also on their own below). */
  'redeemedCount',
  'redeemed',
  'capturedCount',
  'captured',
  'refundedCount',
  'refunded',
  'adjustedUpCount',
  'adjustedUp',
  'adjustedDownCount',
  'adjustedDown',
  'expiredCount',
  'expired',
  /** Signed: + a redemption or capture put back, - a load or activation taken back. */
  'reversedCount',
  'reversed',
  'cashedOutCount',
  'cashedOut',
  'transferredInCount',
  'transferredIn',
  'transferredOutCount',
  'transferredOut',
  'holdsPlacedCount',
  'holdsReleasedCount',
  /** The sum of the entries' signed amounts: the change in outstanding liability. */
  'netChange',
] as const;

export type ReportMetric = (typeof REPORT_METRICS)[number];
export type ReportCounters = Readonly<Record<ReportMetric, number>>;

export const emptyCounters = (): Record<ReportMetric, number> =>
  Object.fromEntries(REPORT_METRICS.map((metric) => [metric, 0])) as Record<ReportMetric, number>;

/** Entry types the reporting consumer counts (the registry filters the stream to these). */
export const REPORTED_ENTRY_TYPES = VALUE_ENTRY_TYPES;

const REPORTED = new Set<EntryType>(REPORTED_ENTRY_TYPES);

/** A merchant-less entry (staff, system) is reported under this merchant id. */
export const NO_MERCHANT = '-';

/** The UTC day (yyyy-mm-dd) an entry is reported under. */
export const reportDay = (createdAt: string): string => createdAt.slice(0, 10);

/** What one entry adds to its aggregates; undefined for entries that add nothing. */
export function entryCounters(
  entry: Pick<LedgerEntry, 'type' | 'amount'>,
): Partial<Record<ReportMetric, number>> | undefined {
  if (!REPORTED.has(entry.type)) return undefined;
  const value = Math.abs(entry.amount);
  const net = { netChange: entry.amount };
  switch (entry.type) {
    case 'ISSUE':
      return { issuedCount: 1, issued: value, ...net };
    case 'ACTIVATE':
      return { activatedCount: 1, activated: value, ...net };
    case 'LOAD':
      return { loadedCount: 1, loaded: value, ...net };
    case 'REDEEM':
      return { redeemedCount: 1, redeemed: value, ...net };
    case 'CAPTURE':
      return { redeemedCount: 1, redeemed: value, capturedCount: 1, captured: value, ...net };
    case 'REFUND':
      return { refundedCount: 1, refunded: value, ...net };
    case 'ADJUST_INCREMENT':
      return { adjustedUpCount: 1, adjustedUp: value, ...net };
    case 'ADJUST_DECREMENT':
      return { adjustedDownCount: 1, adjustedDown: value, ...net };
    case 'EXPIRE':
      return { expiredCount: 1, expired: value, ...net };
    case 'REVERSAL':
      return { reversedCount: 1, reversed: entry.amount, ...net };
    case 'CLEAR_BALANCE':
      return { cashedOutCount: 1, cashedOut: value, ...net };
    case 'TRANSFER_IN':
      return { transferredInCount: 1, transferredIn: value, ...net };
    case 'TRANSFER_OUT':
      return { transferredOutCount: 1, transferredOut: value, ...net };
    case 'HOLD':
      return { holdsPlacedCount: 1 };
    case 'VOID':
      return { holdsReleasedCount: 1 };
    default:
      return undefined;
  }
}

export function addCounters(
  into: Record<ReportMetric, number>,
  delta: Partial<Record<ReportMetric, number>>,
): Record<ReportMetric, number> {
  for (const metric of REPORT_METRICS) into[metric] += delta[metric] ?? 0;
  return into;
}

/** The largest range a report reads (days, both ends included). */
export const MAX_REPORT_DAYS = 366;
const DAY_MS = 86_400_000;

/** Every day from `from` to `to` (UTC, yyyy-mm-dd, both included). */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let at = Date.parse(`${from}T00:00:00Z`); at <= Date.parse(`${to}T00:00:00Z`); at += DAY_MS) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  return days;
}

/** Every month (yyyy-mm) from the month of `from` to the month of `to`. */
export function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  let [year, month] = [Number(from.slice(0, 4)), Number(from.slice(5, 7))];
  const last = to.slice(0, 7);
  for (;;) {
    const current = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
    months.push(current);
    if (current >= last) return months;
    month += 1;
    if (month > 12) [year, month] = [year + 1, 1];
  }
}

/** Checks a report range: real dates, from <= to, at most MAX_REPORT_DAYS days. */
export function checkReportRange(from: string, to: string): void {
  const errors = [
    ...(isCalendarDate(from) ? [] : [{ field: 'query.from', message: 'must be a date yyyy-mm-dd' }]),
    ...(isCalendarDate(to) ? [] : [{ field: 'query.to', message: 'must be a date yyyy-mm-dd' }]),
  ];
  if (errors.length === 0 && from > to) {
    errors.push({ field: 'query.from', message: 'must not be after to' });
  }
  if (errors.length === 0 && daysBetween(from, to).length > MAX_REPORT_DAYS) {
    errors.push({ field: 'query.to', message: `the range spans at most ${MAX_REPORT_DAYS} days` });
  }
  if (errors.length > 0) throw new DomainError('VALIDATION_FAILED', 'The report range is not valid.', errors);
}

/** Counters of one currency and UTC day. */
export interface DayTotals {
  readonly day: string;
  readonly currency: string;
  /** The entries the filter selects (merchant included). */
  readonly counters: Record<ReportMetric, number>;
  /** netChange of every merchant: the liability belongs to the cards, not to a merchant. */
  readonly liabilityChange: number;
}

export interface ReportData {
  /** Days of the range with any counters, by currency, in day order. */
  readonly days: readonly DayTotals[];
  /** Liability per currency at the start of `from` (the end of the day before). */
  readonly opening: ReadonlyMap<string, number>;
}

/** A report row: the counters, `adjusted` (signed net of adjustments) and the liability around the range. */
export type ReportRow = ReportCounters & {
  readonly currency: string;
  readonly adjusted: number;
  readonly adjustedCount: number;
  readonly openingLiability: number;
  readonly outstandingLiability: number;
};

function row(
  currency: string,
  counters: Record<ReportMetric, number>,
  openingLiability: number,
  outstandingLiability: number,
): ReportRow {
  return {
    currency,
    ...counters,
    adjusted: counters.adjustedUp - counters.adjustedDown,
    adjustedCount: counters.adjustedUpCount + counters.adjustedDownCount,
    openingLiability,
    outstandingLiability,
  };
}

const currenciesOf = (data: ReportData): string[] =>
  [...new Set([...data.opening.keys(), ...data.days.map((day) => day.currency)])].sort();

/**
 * One row per currency: totals of the range, and the outstanding liability at the END of `to` (UTC):
 * the opening liability plus every balance movement of the range, whatever merchant made it.
 */
export function summaryRows(data: ReportData): ReportRow[] {
  return currenciesOf(data).map((currency) => {
    const counters = emptyCounters();
    let change = 0;
    for (const day of data.days) {
      if (day.currency !== currency) continue;
      addCounters(counters, day.counters);
      change += day.liabilityChange;
    }
    const opening = data.opening.get(currency) ?? 0;
    return row(currency, counters, opening, opening + change);
  });
}

/** One row per currency and day of the range (days without activity too), liability at each day's end. */
export function dailyRows(data: ReportData, from: string, to: string): (ReportRow & { date: string })[] {
  const rows: (ReportRow & { date: string })[] = [];
  for (const currency of currenciesOf(data)) {
    let liability = data.opening.get(currency) ?? 0;
    const byDay = new Map(data.days.filter((d) => d.currency === currency).map((d) => [d.day, d]));
    for (const date of daysBetween(from, to)) {
      const totals = byDay.get(date);
      const opening = liability;
      liability += totals?.liabilityChange ?? 0;
      rows.push({ date, ...row(currency, totals?.counters ?? emptyCounters(), opening, liability) });
    }
  }
  return rows.sort((a, b) =>
    a.date === b.date ? a.currency.localeCompare(b.currency) : a.date < b.date ? -1 : 1,
  );
}
