import { describe, expect, it } from 'vitest';
import {
  addMonths,
  checkLoadAmount,
  checkMaxBalance,
  checkProgramRules,
  DEFAULT_CASH_OUT,
  DEFAULT_DEACTIVATION,
  type ExpiryPolicy,
  expiryAfter,
} from '../../functions/core/program';
import { domainErrorOf, errorCodeOf, makeProgram, NOW } from './domain-fixtures';

const at = (iso: string) => new Date(iso);
const plus = (iso: string, months: number) => addMonths(at(iso), months).toISOString();

describe('addMonths', () => {
  it('adds whole months on the same day and time', () => {
    expect(plus('2025-01-15T10:20:30.400Z', 1)).toBe('2025-02-15T10:20:30.400Z');
    expect(plus('2025-03-15T12:00:00.000Z', 6)).toBe('2025-09-15T12:00:00.000Z');
    expect(plus('2025-03-15T12:00:00.000Z', 0)).toBe('2025-03-15T12:00:00.000Z');
  });

  it('crosses year ends', () => {
    expect(plus('2025-12-15T00:00:00.000Z', 1)).toBe('2026-01-15T00:00:00.000Z');
    expect(plus('2025-11-30T00:00:00.000Z', 14)).toBe('2027-01-30T00:00:00.000Z');
    expect(plus('2025-03-15T12:00:00.000Z', 1200)).toBe('2125-03-15T12:00:00.000Z');
  });

  it('clamps Jan 31 + 1 month to the last day of February', () => {
    expect(plus('2023-01-31T00:00:00.000Z', 1)).toBe('2023-02-28T00:00:00.000Z');
    expect(plus('2024-01-31T00:00:00.000Z', 1)).toBe('2024-02-29T00:00:00.000Z');
    expect(plus('2100-01-31T00:00:00.000Z', 1)).toBe('2100-02-28T00:00:00.000Z');
    expect(plus('2000-01-31T00:00:00.000Z', 1)).toBe('2000-02-29T00:00:00.000Z');
    expect(plus('2024-01-30T00:00:00.000Z', 1)).toBe('2024-02-29T00:00:00.000Z');
    expect(plus('2024-01-29T00:00:00.000Z', 1)).toBe('2024-02-29T00:00:00.000Z');
  });

  it('keeps the time of day when it clamps', () => {
    expect(plus('2024-01-31T23:59:59.999Z', 1)).toBe('2024-02-29T23:59:59.999Z');
  });

  it('clamps to 30-day months', () => {
    expect(plus('2025-03-31T08:00:00.000Z', 1)).toBe('2025-04-30T08:00:00.000Z');
    expect(plus('2025-08-31T08:00:00.000Z', 1)).toBe('2025-09-30T08:00:00.000Z');
    expect(plus('2025-10-31T08:00:00.000Z', 1)).toBe('2025-11-30T08:00:00.000Z');
  });

  it('counts from the original day, not month by month', () => {
    expect(plus('2025-01-31T00:00:00.000Z', 2)).toBe('2025-03-31T00:00:00.000Z');
    expect(plus('2027-12-31T00:00:00.000Z', 2)).toBe('2028-02-29T00:00:00.000Z');
  });

  it('takes a leap day to Feb 28 in common years and back to Feb 29 in leap years', () => {
    expect(plus('2024-02-29T00:00:00.000Z', 12)).toBe('2025-02-28T00:00:00.000Z');
    expect(plus('2024-02-29T00:00:00.000Z', 48)).toBe('2028-02-29T00:00:00.000Z');
    expect(plus('2024-02-29T00:00:00.000Z', 60)).toBe('2029-02-28T00:00:00.000Z');
  });

  it('goes backwards with negative months', () => {
    expect(plus('2025-03-31T00:00:00.000Z', -1)).toBe('2025-02-28T00:00:00.000Z');
    expect(plus('2024-03-31T00:00:00.000Z', -1)).toBe('2024-02-29T00:00:00.000Z');
    expect(plus('2025-01-31T00:00:00.000Z', -2)).toBe('2024-11-30T00:00:00.000Z');
  });

  it('does not change the date it was given', () => {
    const from = at('2024-01-31T00:00:00.000Z');
    addMonths(from, 1);
    expect(from.toISOString()).toBe('2024-01-31T00:00:00.000Z');
  });

  it('always lands within the target month, never spilling into the next', () => {
    for (let day = 1; day <= 31; day++) {
      for (let months = 1; months <= 24; months++) {
        const from = new Date(Date.UTC(2024, 0, day, 6));
        const to = addMonths(from, months);
        expect((to.getUTCFullYear() - 2024) * 12 + to.getUTCMonth(), `${day} + ${months}`).toBe(months);
        expect(to.getUTCDate()).toBeLessThanOrEqual(day);
        expect(to.getUTCHours()).toBe(6);
      }
    }
  });
});

describe('expiryAfter', () => {
  const current = '2025-06-01T00:00:00.000Z';
  const cases: [ExpiryPolicy, 'ISSUE' | 'LOAD', string | undefined, string | undefined][] = [
    [{ type: 'NONE' }, 'ISSUE', undefined, undefined],
    [{ type: 'NONE' }, 'LOAD', undefined, undefined],
    // A load never takes an expiry away, nor moves it earlier.
    [{ type: 'NONE' }, 'LOAD', current, current],
    [{ type: 'MONTHS_AFTER_ISSUE', months: 12 }, 'ISSUE', undefined, '2026-03-15T12:00:00.000Z'],
    [{ type: 'MONTHS_AFTER_ISSUE', months: 12 }, 'LOAD', current, current],
    [{ type: 'MONTHS_AFTER_ISSUE', months: 12 }, 'LOAD', undefined, undefined],
    [{ type: 'MONTHS_AFTER_LAST_LOAD', months: 6 }, 'ISSUE', undefined, '2025-09-15T12:00:00.000Z'],
    [{ type: 'MONTHS_AFTER_LAST_LOAD', months: 6 }, 'LOAD', current, '2025-09-15T12:00:00.000Z'],
    [{ type: 'MONTHS_AFTER_LAST_LOAD', months: 6 }, 'LOAD', undefined, '2025-09-15T12:00:00.000Z'],
    [{ type: 'US_CARD_ACT' }, 'ISSUE', undefined, '2030-03-15T12:00:00.000Z'],
    [{ type: 'US_CARD_ACT' }, 'LOAD', current, '2030-03-15T12:00:00.000Z'],
    [{ type: 'US_CARD_ACT' }, 'LOAD', undefined, '2030-03-15T12:00:00.000Z'],
  ];

  it.each(cases)('%j on %s with current %s gives %s', (policy, event, before, expected) => {
    expect(expiryAfter(policy, event, NOW, before)).toBe(expected);
  });

  it('applies the month clamping to issue dates at month ends', () => {
    const jan31 = at('2024-01-31T09:00:00.000Z');
    expect(expiryAfter({ type: 'MONTHS_AFTER_ISSUE', months: 1 }, 'ISSUE', jan31, undefined)).toBe(
      '2024-02-29T09:00:00.000Z',
    );
    expect(expiryAfter({ type: 'US_CARD_ACT' }, 'ISSUE', at('2024-02-29T09:00:00.000Z'), undefined)).toBe(
      '2029-02-28T09:00:00.000Z',
    );
  });

  it('gives US CARD Act cards at least five years from every load', () => {
    const loads = ['2025-01-01T00:00:00.000Z', '2026-07-31T00:00:00.000Z', '2028-02-29T00:00:00.000Z'];
    for (const load of loads) {
      const expiry = expiryAfter({ type: 'US_CARD_ACT' }, 'LOAD', at(load), undefined) ?? '';
      const fiveYearsOn = new Date(at(load).getTime());
      fiveYearsOn.setUTCFullYear(fiveYearsOn.getUTCFullYear() + 5);
      // Feb 29 + 5 years lands on Feb 28: at most one day short of the calendar anniversary (Mar 1).
      expect(at(expiry).getTime()).toBeGreaterThanOrEqual(fiveYearsOn.getTime() - 24 * 3600 * 1000);
      expect(expiry > load).toBe(true);
    }
  });
});

describe('checkLoadAmount', () => {
  const program = makeProgram({ minLoad: 100, maxLoad: 50_000 });

  it('accepts amounts within the limits, both ends included', () => {
    for (const amount of [100, 101, 25_000, 49_999, 50_000]) {
      expect(() => checkLoadAmount(program, amount)).not.toThrow();
    }
  });

  it('refuses amounts outside them with LIMIT_EXCEEDED and the limits in the currency', () => {
    for (const amount of [0, 99, 50_001, 1_000_000]) {
      const error = domainErrorOf(() => checkLoadAmount(program, amount));
      expect(error.code).toBe('LIMIT_EXCEEDED');
      expect(error.status).toBe(422);
      expect(error.message).toContain('1.00');
      expect(error.message).toContain('500.00 USD');
    }
  });

  it('speaks the program currency', () => {
    const yen = makeProgram({ currency: 'JPY', minLoad: 500, maxLoad: 50_000 });
    const error = domainErrorOf(() => checkLoadAmount(yen, 499));
    expect(error.message).toContain('500');
    expect(error.message).toContain('50000 JPY');
    const dinar = makeProgram({ currency: 'KWD', minLoad: 1000, maxLoad: 250_000 });
    expect(domainErrorOf(() => checkLoadAmount(dinar, 250_001)).message).toContain('250.000 KWD');
  });
});

describe('checkMaxBalance', () => {
  const program = makeProgram({ maxBalance: 200_000 });

  it('accepts a balance up to the maximum', () => {
    for (const balance of [0, 1, 199_999, 200_000]) {
      expect(() => checkMaxBalance(program, balance)).not.toThrow();
    }
  });

  it('refuses one minor unit more', () => {
    const error = domainErrorOf(() => checkMaxBalance(program, 200_001));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.message).toContain('2000.00 USD');
  });
});

describe('checkProgramRules', () => {
  it('accepts nested limits, equal ones included', () => {
    expect(() => checkProgramRules({ minLoad: 100, maxLoad: 50_000, maxBalance: 200_000 })).not.toThrow();
    expect(() => checkProgramRules({ minLoad: 500, maxLoad: 500, maxBalance: 500 })).not.toThrow();
  });

  it('refuses a minimum above the maximum load', () => {
    const error = domainErrorOf(() => checkProgramRules({ minLoad: 1001, maxLoad: 1000, maxBalance: 5000 }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fieldErrors).toEqual([{ field: 'minLoad', message: 'must not exceed maxLoad' }]);
  });

  it('refuses a maximum load above the maximum balance', () => {
    const error = domainErrorOf(() => checkProgramRules({ minLoad: 100, maxLoad: 5001, maxBalance: 5000 }));
    expect(error.fieldErrors).toEqual([{ field: 'maxLoad', message: 'must not exceed maxBalance' }]);
  });

  it('lists every broken rule at once', () => {
    const error = domainErrorOf(() => checkProgramRules({ minLoad: 9000, maxLoad: 8000, maxBalance: 1000 }));
    expect(error.fieldErrors?.map((fieldError) => fieldError.field)).toEqual(['minLoad', 'maxLoad']);
    expect(errorCodeOf(() => checkProgramRules({ minLoad: 9000, maxLoad: 8000, maxBalance: 1000 }))).toBe(
      'VALIDATION_FAILED',
    );
  });
});

describe('program defaults', () => {
  it('has cash-out off and deactivation with a balance allowed', () => {
    expect(DEFAULT_CASH_OUT).toEqual({ enabled: false });
    expect(DEFAULT_DEACTIVATION).toBe('ALLOW_WITH_BALANCE');
  });
});
