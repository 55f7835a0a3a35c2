import { createHash } from 'node:crypto';
import { isIsoInstant } from './calendar';
import { DomainError } from './errors';
import { base32 } from './ids';
import { CARD_WRITE_BUDGET_MS } from './write-budget';

/**
 * The period of a finance export: everything of the ledger up to a cutoff instant, and the month that
 * ends there. Monthly exports cut off at 00:00 of the 1st in the region's time zone; an export on demand
 * may cut off at any past instant, and then covers its month to date. The period starts at the previous
 * month boundary: an entry belongs to it when `periodStart < createdAt <= cutoff`.
 */
export interface ExportPeriod {
  /** `YYYY-MM`: the month the period lies in (the one that ends at the cutoff, for monthly exports). */
  readonly month: string;
  readonly periodStart: string;
  readonly cutoff: string;
  readonly timeZone: string;
}

/**
 * How long after its cutoff an export may start reading. An entry's createdAt is the request's clock,
 * read before the change commits: a write dated before the cutoff can land after it. No attempt to write
 * starts later than the card write budget after the change began (functions/store/card-commit.ts); one more
 * budget covers what runs before the retry loop (authentication, the program, a PIN check: a few reads
 * and one scrypt), one the last TransactWriteItems in flight with the SDK's own retries, and one the
 * clocks of different hosts and spare. Past this margin nothing dated at or before the cutoff can still
 * appear, so the balances read are final.
 */
export const EXPORT_SETTLE_MARGIN_MS = 4 * CARD_WRITE_BUDGET_MS;

/** Monthly exports reach back to 2000 at most: anything earlier is a typo. */
const EARLIEST = Date.UTC(2000, 0, 1);

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

function zonedParts(instant: number, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? Number.NaN);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** The zone's offset from UTC at an instant, in milliseconds (UTC+1 is +3,600,000). */
function offsetAt(instant: number, timeZone: string): number {
  const p = zonedParts(instant, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - (instant - (((instant % 1000) + 1000) % 1000));
}

/** 00:00 on the 1st of a month in a time zone, as an instant (month 1-12; 13 is January next year). */
export function monthStart(year: number, month: number, timeZone: string): Date {
  const naive = Date.UTC(year, month - 1, 1);
  const first = naive - offsetAt(naive, timeZone);
  // Once more at the guess: the offset may differ there (a DST change near the boundary).
  return new Date(naive - offsetAt(first, timeZone));
}

const monthLabel = (year: number, month: number) => `${year}-${String(month).padStart(2, '0')}`;

/** The period ending at a cutoff: it starts at the last month boundary strictly before the cutoff. */
export function periodEndingAt(cutoff: Date, timeZone: string): ExportPeriod {
  const local = zonedParts(cutoff.getTime() - 1, timeZone);
  return {
    month: monthLabel(local.year, local.month),
    periodStart: monthStart(local.year, local.month, timeZone).toISOString(),
    cutoff: cutoff.toISOString(),
    timeZone,
  };
}

/** The period of a calendar month: cutoff at 00:00 of the 1st of the next month. */
export function monthPeriod(month: string, timeZone: string): ExportPeriod {
  const match = MONTH.exec(month);
  if (!match) throw invalid('month', 'must be a month as YYYY-MM');
  const year = Number(match[1]);
  const number = Number(match[2]);
  return {
    month,
    periodStart: monthStart(year, number, timeZone).toISOString(),
    cutoff: monthStart(year, number + 1, timeZone).toISOString(),
    timeZone,
  };
}

/** The month boundary at or before an instant (the scheduled run's time: a late run still cuts at 00:00). */
export function lastMonthBoundary(at: Date, timeZone: string): Date {
  const local = zonedParts(at.getTime(), timeZone);
  return monthStart(local.year, local.month, timeZone);
}

/** The next month boundary after an instant (the local stand-in of the monthly schedule). */
export function nextMonthBoundary(at: Date, timeZone: string): Date {
  const local = zonedParts(at.getTime(), timeZone);
  return monthStart(local.year, local.month + 1, timeZone);
}

function invalid(field: string, message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', 'The export request is not valid; see `errors`.', [
    { field, message },
  ]);
}

/** What a caller may ask for: a month, or a cutoff instant; never one in the future. */
export function requestedPeriod(
  request: { readonly month?: string; readonly cutoff?: string },
  timeZone: string,
  now: Date,
): ExportPeriod {
  if ((request.month === undefined) === (request.cutoff === undefined)) {
    throw invalid('month', 'give either month (YYYY-MM) or cutoff (an ISO 8601 instant), not both');
  }
  const field = request.month !== undefined ? 'month' : 'cutoff';
  let period: ExportPeriod;
  if (request.month !== undefined) {
    period = monthPeriod(request.month, timeZone);
  } else {
    const text = request.cutoff ?? '';
    const cutoff = new Date(isIsoInstant(text) ? Date.parse(text) : Number.NaN);
    if (Number.isNaN(cutoff.getTime())) throw invalid('cutoff', 'must be an ISO 8601 instant');
    period = periodEndingAt(cutoff, timeZone);
  }
  const cutoffTime = Date.parse(period.cutoff);
  if (cutoffTime > now.getTime()) {
    throw invalid(
      field,
      request.month !== undefined
        ? `the month is not over yet: it ends at ${period.cutoff}`
        : 'must not be in the future',
    );
  }
  if (cutoffTime <= EARLIEST) throw invalid(field, 'must be after 2000-01-01');
  return period;
}

/**
 * One export per region and cutoff: the id derives from both, so asking again for the same month (or
 * the schedule and a person both asking) names the same run, files and keys.
 */
export function exportIdOf(region: string, cutoff: string): string {
  const digest = createHash('sha256').update(`finance-export|${region}|${cutoff}`).digest();
  return `exp_${base32(digest).slice(0, 26)}`;
}

/** Where a run's files go: `exports/<region>/<YYYY-MM>/<run id>/`. */
export const exportKeyPrefix = (region: string, month: string, exportId: string): string =>
  `exports/${region}/${month}/${exportId}/`;

/**
 * When the run may start reading: the cutoff plus the settle margin, rounded up to a whole second and
 * written without milliseconds (the form a Step Functions Wait state's TimestampPath takes).
 */
export const readableAfter = (cutoff: string): string =>
  new Date(Math.ceil((Date.parse(cutoff) + EXPORT_SETTLE_MARGIN_MS) / 1000) * 1000)
    .toISOString()
    .replace('.000Z', 'Z');
