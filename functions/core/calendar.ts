/**
 * Calendar checks on text a caller sent: a date is real (2026-02-30 and 2026-13-45 are none, though
 * `Date.parse` rolls the first over into March and `toISOString` throws a RangeError on the second), a
 * time of day is one (no 24:00, no :60), an offset is at most ±23:59. Pure string and integer arithmetic,
 * so a check never throws, whatever the input. The zod schemas of functions/http/validation.ts build on
 * these; core functions that take dates check with them again.
 */
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;
/** An ISO 8601 instant with its offset: seconds and up to 9 fraction digits optional. */
export const INSTANT_PATTERN =
  /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

function isDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const days = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  return day <= days;
}

/** `yyyy-mm-dd`, a day that exists. */
export function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text);
  return match !== null && isDay(Number(match[1]), Number(match[2]), Number(match[3]));
}

/** `yyyy-mm`, month 01 to 12. */
export function isCalendarMonth(text: string): boolean {
  const match = MONTH.exec(text);
  if (!match) return false;
  const month = Number(match[2]);
  return month >= 1 && month <= 12;
}

/** An ISO 8601 instant with `Z` or an offset, on a real day at a real time of day. */
export function isIsoInstant(text: string): boolean {
  const match = INSTANT_PATTERN.exec(text);
  if (!match || !isCalendarDate(match[1] ?? '')) return false;
  const [hour, minute, second, offsetHours, offsetMinutes] = [2, 3, 4, 5, 6].map((i) =>
    Number(match[i] ?? 0),
  );
  return (
    (hour ?? 24) <= 23 &&
    (minute ?? 60) <= 59 &&
    (second ?? 60) <= 59 &&
    (offsetHours ?? 24) <= 23 &&
    (offsetMinutes ?? 60) <= 59
  );
}
