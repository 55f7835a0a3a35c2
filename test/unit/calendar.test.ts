import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCalendarDate, isCalendarMonth, isIsoInstant } from '../../functions/core/calendar';
import { isoDate, isoDateOrInstant, isoInstant, isoMonth } from '../../functions/http/validation';

describe('calendar checks', () => {
  it('knows which days exist, leap years included', () => {
    for (const day of ['2026-01-31', '2024-02-29', '2000-02-29', '2026-12-31', '0001-01-01']) {
      expect(isCalendarDate(day), day).toBe(true);
    }
    for (const day of ['2026-13-45', '2026-02-30', '2025-02-29', '1900-02-29', '2026-04-31', '2026-00-10']) {
      expect(isCalendarDate(day), day).toBe(false);
    }
    for (const text of ['2026-1-01', '20260101', '2026-01-01T00:00:00Z', ' 2026-01-01', '٢٠٢٦-٠١-٠١']) {
      expect(isCalendarDate(text), text).toBe(false);
    }
  });

  it('knows months and real instants (time of day, offset)', () => {
    expect(['2026-01', '2026-12'].every(isCalendarMonth)).toBe(true);
    expect(['2026-00', '2026-13', '2026-1', '2026-01-01'].some(isCalendarMonth)).toBe(false);
    for (const at of ['2026-11-01T00:00:00Z', '2026-11-01T00:00Z', '2026-10-31T23:59:59.123456789-04:00']) {
      expect(isIsoInstant(at), at).toBe(true);
    }
    for (const at of [
      '2026-02-30T00:00:00Z',
      '2026-13-45T00:00:00Z',
      '2026-11-01T24:00:00Z',
      '2026-11-01T12:60:00Z',
      '2026-11-01T12:00:60Z',
      '2026-11-01T12:00:00+24:00',
      '2026-11-01T12:00:00',
      '2026-11-01',
    ]) {
      expect(isIsoInstant(at), at).toBe(false);
    }
  });

  it('agrees with Date on every day it accepts, and never throws on any text', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        (y, m, d) => {
          const text = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          const at = new Date(`${text}T00:00:00Z`);
          const real = !Number.isNaN(at.getTime()) && at.toISOString().slice(0, 10) === text;
          expect(isCalendarDate(text)).toBe(real);
        },
      ),
      { seed: 20261202 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 48 }), (text) => {
        expect(typeof isCalendarDate(text)).toBe('boolean');
        expect(typeof isIsoInstant(text)).toBe('boolean');
      }),
      { seed: 20261202 },
    );
  });
});

describe('the shared zod validators', () => {
  const messages = (schema: typeof isoDate, value: unknown) =>
    schema.safeParse(value).error?.issues.map((issue) => issue.message) ?? [];

  it('refuse calendar-invalid dates, months and instants with one message each', () => {
    expect(messages(isoDate, '2026-13-45')).toEqual(['must be a real calendar date yyyy-mm-dd']);
    expect(messages(isoDate, 'yesterday')).toEqual(['must be a date yyyy-mm-dd']);
    expect(messages(isoDate, '2026-03-01')).toEqual([]);
    expect(messages(isoMonth, '2026-13')).toHaveLength(1);
    expect(messages(isoInstant, '2026-02-30T00:00:00Z')).toEqual(['must be a real date and time of day']);
    expect(messages(isoInstant, `2026-02-01T00:00:00Z${' '.repeat(50)}`)).toHaveLength(1);
    expect(messages(isoDateOrInstant, '2026-02-30')).toHaveLength(1);
    expect(messages(isoDateOrInstant, '2026-02-28T10:00:00+01:00')).toEqual([]);
    expect(messages(isoDate, 20260301)).toHaveLength(1);
  });
});
