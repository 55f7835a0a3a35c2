import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../functions/core/ledger';
import { LedgerAudit, liabilityDifferences } from '../../functions/core/ledger-audit';

const entry = (seq: number, amount: number, balanceAfter: number, createdAt: string, currency = 'USD') =>
  ({
    id: `tx_c_${seq}`,
    cardId: 'c',
    seq,
    type: 'LOAD',
    amount,
    balanceAfter,
    availableAfter: balanceAfter,
    currency,
    createdAt,
  }) as unknown as LedgerEntry;

describe('LedgerAudit', () => {
  it('sums each card at its last entry dated at or before the instant, never the card item', () => {
    const audit = new LedgerAudit('2026-01-01T00:00:10.000Z');
    audit.addCard({ id: 'c', currency: 'USD', balance: 700 }, [
      entry(2, -300, 700, '2026-01-01T00:00:20.000Z'),
      entry(1, 1000, 1000, '2026-01-01T00:00:05.000Z'),
    ]);
    expect(audit.result()).toEqual({
      cards: 1,
      entries: 2,
      problems: [],
      problemCards: 0,
      liabilityAsOf: { USD: 1000 },
    });
  });

  it('names a gap, broken arithmetic, and a card item that disagrees with its ledger', () => {
    const broken = new LedgerAudit('2026-02-01T00:00:00.000Z');
    broken.addCard({ id: 'c', currency: 'USD', balance: 800 }, [
      entry(1, 1000, 1000, '2026-01-01T00:00:00.000Z'),
      entry(2, -100, 800, '2026-01-01T00:01:00.000Z'),
    ]);
    expect(broken.result().problems[0]?.problems).toEqual(['entry 2: balance 1000 + -100 != 800']);

    const audit = new LedgerAudit('2026-02-01T00:00:00.000Z');
    audit.addCard({ id: 'c', currency: 'USD', balance: 999 }, [
      entry(1, 1000, 1000, '2026-01-01T00:00:00.000Z'),
      entry(3, -100, 900, '2026-01-01T00:01:00.000Z'),
    ]);
    const { problems, problemCards } = audit.result();
    expect(problemCards).toBe(1);
    expect(problems[0]?.problems).toEqual([
      'entry 3: entry 2 is missing',
      'card balance 999 != last entry balance 900',
    ]);
  });

  it('compares liabilities per currency, a missing side counting as zero', () => {
    expect(liabilityDifferences({ USD: 10, EUR: 5 }, { USD: 10, GBP: 1 })).toEqual([
      { currency: 'EUR', left: 5, right: 0 },
      { currency: 'GBP', left: 0, right: 1 },
    ]);
  });
});
