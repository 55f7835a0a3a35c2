import { describe, expect, it } from 'vitest';
import { auditOfEntry, auditRange, needsStatusBefore } from '../../functions/core/audit';
import { DomainError } from '../../functions/core/errors';
import type { LedgerEntry } from '../../functions/core/ledger';
import { CARD_ID, NOW, NOW_ISO } from './domain-fixtures';

const staff = { type: 'staff', id: 'user-1', role: 'support' } as const;
const entry = (overrides: Partial<LedgerEntry>): LedgerEntry => ({
  id: 'tx_0123456789abcdefghjkmnpqrs_7',
  cardId: CARD_ID,
  programId: 'prg_test',
  seq: 7,
  type: 'ADJUST_INCREMENT',
  amount: 250,
  currency: 'USD',
  balanceAfter: 1_250,
  availableAfter: 1_050,
  actor: staff,
  reason: 'goodwill',
  channel: 'CONSOLE',
  createdAt: NOW_ISO,
  ...overrides,
});

describe('audit records of staff ledger entries', () => {
  it('derives the balance and available before from the entry', () => {
    expect(auditOfEntry(entry({}))).toMatchObject({
      id: 'audit_tx_0123456789abcdefghjkmnpqrs_7',
      action: 'card.adjust-increment',
      actor: staff,
      reason: 'goodwill',
      cardId: CARD_ID,
      before: { balance: 1_000, available: 800 },
      after: { balance: 1_250, available: 1_050 },
    });
  });

  it('takes status transitions from the type; a deactivation from the status read before it', () => {
    expect(auditOfEntry(entry({ type: 'BLOCK', amount: 0 }))).toMatchObject({
      before: { status: 'ACTIVE' },
      after: { status: 'BLOCKED' },
    });
    expect(needsStatusBefore('DEACTIVATE')).toBe(true);
    expect(needsStatusBefore('BLOCK')).toBe(false);
    expect(auditOfEntry(entry({ type: 'DEACTIVATE', amount: 0 }), 'BLOCKED')).toMatchObject({
      before: { status: 'BLOCKED' },
      after: { status: 'DEACTIVATED' },
    });
  });

  it('does not guess available around holds (the entry does not carry the hold amount)', () => {
    const record = auditOfEntry(entry({ type: 'CAPTURE', amount: -300 }));
    expect(record.before).toEqual({ balance: 1_550 });
    expect(record.after).toEqual({ balance: 1_250, available: 1_050 });
  });
});

describe('audit ranges', () => {
  it('reads dates as whole UTC days and defaults to the last 30 days', () => {
    expect(auditRange('2025-03-01', '2025-03-02', NOW)).toEqual({
      from: '2025-03-01T00:00:00.000Z',
      to: '2025-03-02T23:59:59.999Z',
    });
    expect(auditRange(undefined, undefined, NOW)).toEqual({
      from: '2025-02-13T12:00:00.000Z',
      to: NOW_ISO,
    });
    expect(() => auditRange('2025-03-02', '2025-03-01', NOW)).toThrow();
    expect(() => auditRange('2023-01-01', '2025-03-01', NOW)).toThrow();
    expect(() => auditRange('yesterday', undefined, NOW)).toThrow();
  });

  it('refuses dates and instants that are not on the calendar, instead of rolling them over', () => {
    for (const value of ['2025-02-30', '2025-13-45', '2025-02-29T10:00:00Z', '2025-03-01T24:00:00Z']) {
      expect(() => auditRange(value, undefined, NOW), value).toThrow(DomainError);
    }
    expect(() => auditRange(undefined, 'Sat Mar 01 2025', NOW)).toThrow(DomainError);
    expect(auditRange('2025-03-01T10:00:00+01:00', '2025-03-01', NOW)).toEqual({
      from: '2025-03-01T09:00:00.000Z',
      to: '2025-03-01T23:59:59.999Z',
    });
  });
});
