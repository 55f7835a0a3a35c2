import { describe, expect, it } from 'vitest';
import { planOperation } from '../../functions/core/card';
import { DomainError } from '../../functions/core/errors';
import { ENTRY_TYPES, type EntryType, type LedgerEntry } from '../../functions/core/ledger';
import {
  checkReportRange,
  dailyRows,
  emptyCounters,
  entryCounters,
  monthsBetween,
  REPORTED_ENTRY_TYPES,
  summaryRows,
} from '../../functions/core/report';
import { makeCard, makeProgram, NOW } from './domain-fixtures';

const entry = (type: EntryType, amount: number): Pick<LedgerEntry, 'type' | 'amount'> => ({ type, amount });

describe('what a ledger entry adds to the report', () => {
  it('counts balance movements by kind and adds their signed amount to netChange (the liability)', () => {
    expect(entryCounters(entry('REDEEM', -300))).toEqual({
      redeemedCount: 1,
      redeemed: 300,
      netChange: -300,
    });
    expect(entryCounters(entry('CAPTURE', -200))).toEqual({
      redeemedCount: 1,
      redeemed: 200,
      capturedCount: 1,
      captured: 200,
      netChange: -200,
    });
    expect(entryCounters(entry('EXPIRE', -900))).toEqual({ expiredCount: 1, expired: 900, netChange: -900 });
    expect(entryCounters(entry('REVERSAL', -50))).toEqual({
      reversedCount: 1,
      reversed: -50,
      netChange: -50,
    });
    expect(entryCounters(entry('ADJUST_DECREMENT', -10))).toEqual({
      adjustedDownCount: 1,
      adjustedDown: 10,
      netChange: -10,
    });
  });

  it('counts holds and voids without value: they move available, never the balance', () => {
    const card = makeCard();
    const hold = planOperation(
      card,
      makeProgram(),
      { type: 'HOLD', amount: 1_000, holdId: 'hold_1', expiresInSeconds: 600 },
      { actor: { type: 'staff', id: 'test', role: 'support' }, request: {}, now: NOW },
    );
    expect(hold.entry.amount).toBe(0);
    expect(hold.card.balance).toBe(card.balance);
    expect(entryCounters(hold.entry)).toEqual({ holdsPlacedCount: 1 });
    expect(entryCounters(entry('VOID', 0))).toEqual({ holdsReleasedCount: 1 });
  });

  it('ignores state and PIN entries, and reports every type that can move a balance', () => {
    for (const type of ['BLOCK', 'UNBLOCK', 'DEACTIVATE', 'PIN_SET', 'PIN_RESET'] as const) {
      expect(entryCounters(entry(type, 0))).toBeUndefined();
    }
    const others = ENTRY_TYPES.filter((type) => !(REPORTED_ENTRY_TYPES as readonly string[]).includes(type));
    expect(others).toEqual(['BLOCK', 'UNBLOCK', 'DEACTIVATE', 'PIN_SET', 'PIN_RESET']);
  });

  it('keeps the identity: netChange = in - out, for any mix of entries', () => {
    const mix = [
      entry('ISSUE', 500),
      entry('ACTIVATE', 1_000),
      entry('LOAD', 700),
      entry('REDEEM', -400),
      entry('CAPTURE', -100),
      entry('REFUND', 50),
      entry('ADJUST_INCREMENT', 20),
      entry('ADJUST_DECREMENT', -5),
      entry('REVERSAL', 400),
      entry('TRANSFER_OUT', -300),
      entry('TRANSFER_IN', 300),
      entry('CLEAR_BALANCE', -200),
      entry('EXPIRE', -60),
    ];
    const totals = emptyCounters();
    for (const one of mix) {
      for (const [metric, value] of Object.entries(entryCounters(one) ?? {})) {
        totals[metric as keyof typeof totals] += value;
      }
    }
    const inflow = totals.issued + totals.activated + totals.loaded + totals.refunded + totals.adjustedUp;
    const outflow = totals.redeemed + totals.adjustedDown + totals.cashedOut + totals.expired;
    expect(inflow - outflow + totals.reversed + totals.transferredIn - totals.transferredOut).toBe(
      totals.netChange,
    );
    expect(totals.netChange).toBe(mix.reduce((sum, one) => sum + one.amount, 0));
  });
});

describe('report ranges and rows', () => {
  it('accepts real UTC dates in order, at most 366 days', () => {
    expect(() => checkReportRange('2024-01-01', '2024-12-31')).not.toThrow();
    expect(() => checkReportRange('2024-01-01', '2025-01-01')).toThrow(/range/);
    expect(() => checkReportRange('2024-03-02', '2024-03-01')).toThrow();
    expect(() => checkReportRange('2023-02-29', '2023-03-01')).toThrow();
    expect(() => checkReportRange('2024-02-29', '2024-03-01')).not.toThrow();
  });

  it('refuses calendar-invalid dates as a VALIDATION_FAILED naming the field, never a RangeError', () => {
    const fieldsOf = (from: string, to: string) => {
      try {
        checkReportRange(from, to);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(DomainError);
        expect((error as DomainError).code).toBe('VALIDATION_FAILED');
        return (error as DomainError).fieldErrors?.map((e) => e.field);
      }
    };
    expect(fieldsOf('2026-13-45', '2026-12-01')).toEqual(['query.from']);
    expect(fieldsOf('2026-01-01', '2026-02-30')).toEqual(['query.to']);
    expect(fieldsOf('2026-00-00', '9999-99-99')).toEqual(['query.from', 'query.to']);
    expect(monthsBetween('2024-11-30', '2025-02-01')).toEqual(['2024-11', '2024-12', '2025-01', '2025-02']);
  });

  it('gives the liability at the end of `to`: opening plus every movement of the range, all merchants', () => {
    const counters = { ...emptyCounters(), redeemed: 300, redeemedCount: 1, netChange: -300 };
    const data = {
      opening: new Map([['USD', 10_000]]),
      days: [
        { day: '2025-01-02', currency: 'USD', counters, liabilityChange: -500 },
        { day: '2025-01-04', currency: 'USD', counters: emptyCounters(), liabilityChange: 1_000 },
      ],
    };
    expect(summaryRows(data)).toEqual([
      expect.objectContaining({
        currency: 'USD',
        redeemed: 300,
        netChange: -300,
        openingLiability: 10_000,
        outstandingLiability: 10_500,
      }),
    ]);
    const days = dailyRows(data, '2025-01-01', '2025-01-05');
    expect(days.map((row) => [row.date, row.outstandingLiability])).toEqual([
      ['2025-01-01', 10_000],
      ['2025-01-02', 9_500],
      ['2025-01-03', 9_500],
      ['2025-01-04', 10_500],
      ['2025-01-05', 10_500],
    ]);
  });
});
