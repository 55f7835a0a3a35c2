import { describe, expect, it } from 'vitest';
import {
  type Card,
  type CardOperation,
  isExpired,
  planIssue,
  planOperation,
} from '../../functions/core/card';
import { DomainError } from '../../functions/core/errors';
import { type EntryReturns, type Hold, NO_RETURNS } from '../../functions/core/hold';
import type { EntryType, LedgerEntry } from '../../functions/core/ledger';
import { ledgerContinuityProblems } from '../../functions/core/ledger-integrity';
import { CARD_ID, makeProgram, NOW, seededRandom, staffContext } from './domain-fixtures';

const program = makeProgram({
  minLoad: 100,
  maxLoad: 50_000,
  maxBalance: 200_000,
  cashOut: { enabled: true, maxBalance: 2_000 },
});

interface RunOptions {
  readonly seed: number;
  readonly steps: number;
  /** Chance of a DEACTIVATE at each step (final: the run goes on to check that nothing moves after it). */
  readonly deactivateRate: number;
}

interface RunResult {
  readonly card: Card;
  readonly entries: LedgerEntry[];
  readonly accepted: Map<EntryType, number>;
  readonly refused: Map<string, number>;
}

/**
 * Applies `steps` random operations to one card through planOperation, as the store would: each accepted
 * plan becomes the new card, refused ones change nothing. After each step it checks the ledger invariants.
 */
function run({ seed, steps, deactivateRate }: RunOptions): RunResult {
  const random = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
  /** Mostly sensible amounts, now and then a malformed one the domain must refuse. */
  const amount = (max: number) => {
    const roll = random();
    if (roll < 0.02) return 0;
    if (roll < 0.03) return -int(1, 100);
    if (roll < 0.04) return int(1, 100) + 0.5;
    return int(1, max);
  };

  const issued = planIssue(
    program,
    { cardId: CARD_ID, last4: '1486', type: 'DIGITAL', amount: 5000, activate: true },
    staffContext(),
  );
  let card = issued.card;
  const entries = [...issued.entries];
  let runningSum = entries.reduce((sum, entry) => sum + entry.amount, 0);
  const holds = new Map<string, Hold>();
  const returns = new Map<number, EntryReturns>();
  const accepted = new Map<EntryType, number>();
  const refused = new Map<string, number>();

  for (let step = 0; step < steps; step++) {
    // A fixed, computed clock: one minute per step, so hours-long holds expire during the run.
    const now = new Date(NOW.getTime() + step * 60_000);
    const roll = random();
    let operation: CardOperation;
    if (roll < deactivateRate) operation = { type: 'DEACTIVATE', reason: 'random' };
    else if (roll < 0.2) operation = { type: 'LOAD', amount: amount(60_000) };
    else if (roll < 0.38)
      operation = { type: 'REDEEM', amount: amount(30_000), allowPartial: random() < 0.3 };
    else if (roll < 0.46) {
      const value = amount(20_000);
      operation = { type: 'ADJUST', amount: random() < 0.5 ? -value : value, reason: 'random' };
    } else if (roll < 0.51) operation = { type: 'BLOCK', reason: 'random' };
    else if (roll < 0.57) operation = { type: 'UNBLOCK', reason: 'random' };
    else if (roll < 0.65) {
      operation = {
        type: 'HOLD',
        amount: amount(20_000),
        holdId: `hld_${step}`,
        expiresInSeconds: int(60, 7200),
      };
    } else if (roll < 0.72 && holds.size > 0) {
      const hold = pick([...holds.values()]) as Hold;
      operation =
        random() < 0.5 ? { type: 'CAPTURE', hold } : { type: 'CAPTURE', hold, amount: amount(hold.amount) };
    } else if (roll < 0.78 && holds.size > 0) {
      const hold = pick([...holds.values()]) as Hold;
      operation = { type: 'VOID', hold, expired: hold.expiresAt <= now.toISOString() };
    } else if (roll < 0.86) {
      const original = pick(entries.filter((entry) => entry.type === 'REDEEM' || entry.type === 'CAPTURE'));
      operation = original
        ? {
            type: 'REFUND',
            amount: amount(Math.max(1, -original.amount)),
            original: { entry: original, returns: returns.get(original.seq) ?? NO_RETURNS },
          }
        : { type: 'REFUND', amount: amount(1000) };
    } else if (roll < 0.9) {
      const original = pick(entries) as LedgerEntry;
      operation = { type: 'REVERSE', original, returns: returns.get(original.seq) ?? NO_RETURNS };
    } else if (roll < 0.92) operation = { type: 'CLEAR_BALANCE', reason: 'random' };
    else operation = { type: 'REDEEM', amount: int(1, 500_000), allowPartial: true };

    const before = card;
    let planned: ReturnType<typeof planOperation>;
    try {
      planned = planOperation(card, program, operation, staffContext({ now }));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      refused.set(error.code, (refused.get(error.code) ?? 0) + 1);
      continue;
    }

    const { card: next, entry, guard } = planned;
    const where = `step ${step}: ${JSON.stringify(operation)}`;

    // The guard describes the state the plan was made from, so the write lands only on that state.
    expect(guard.expectedSeq, where).toBe(before.seq);
    expect(guard.currency, where).toBe(before.currency);
    if (guard.status !== undefined) expect(guard.status, where).toBe(before.status);
    if (guard.minAvailable !== undefined)
      expect(before.available, where).toBeGreaterThanOrEqual(guard.minAvailable);
    if (guard.maxBalance !== undefined) expect(before.balance, where).toBeLessThanOrEqual(guard.maxBalance);
    if (guard.notExpiredAt !== undefined)
      expect(isExpired(before, new Date(guard.notExpiredAt)), where).toBe(false);

    // One entry per change, numbered without gaps.
    expect(entry.seq, where).toBe(before.seq + 1);
    expect(next.seq, where).toBe(entry.seq);
    expect(entry.cardId).toBe(CARD_ID);
    expect(entry.currency).toBe('USD');

    // balance = sum of ledger amounts; available = balance - active holds; available never below zero.
    runningSum += entry.amount;
    if (planned.hold) holds.set(planned.hold.next.id, planned.hold.next);
    for (const [id, hold] of holds) if (hold.status !== 'ACTIVE') holds.delete(id);
    const held = [...holds.values()].reduce((sum, hold) => sum + hold.amount, 0);
    expect(next.balance, where).toBe(runningSum);
    expect(entry.balanceAfter, where).toBe(next.balance);
    expect(entry.availableAfter, where).toBe(next.available);
    expect(next.available, where).toBe(next.balance - held);
    expect(next.available, where).toBeGreaterThanOrEqual(0);
    expect(ledgerContinuityProblems(entry, entries.at(-1)), where).toEqual([]);

    if (planned.returns) {
      expect(returns.get(planned.returns.seq) ?? NO_RETURNS, where).toEqual(planned.returns.before);
      returns.set(planned.returns.seq, planned.returns.after);
    }
    entries.push(entry);
    card = next;
    accepted.set(entry.type, (accepted.get(entry.type) ?? 0) + 1);
  }
  return { card, entries, accepted, refused };
}

describe('random operation sequences (property)', () => {
  it.each([1, 42, 20250315])('keep the ledger invariants over 1000 operations (seed %i)', (seed) => {
    const { card, entries, accepted, refused } = run({ seed, steps: 1000, deactivateRate: 0 });

    // The run really exercised the domain: most kinds of entry happened, and refusals too.
    for (const type of [
      'LOAD',
      'REDEEM',
      'ADJUST_INCREMENT',
      'ADJUST_DECREMENT',
      'BLOCK',
      'UNBLOCK',
      'HOLD',
    ] as const) {
      expect(accepted.get(type) ?? 0, type).toBeGreaterThan(5);
    }
    for (const type of ['CAPTURE', 'VOID', 'REFUND', 'REVERSAL'] as const) {
      expect(accepted.get(type) ?? 0, type).toBeGreaterThan(0);
    }
    for (const code of [
      'VALIDATION_FAILED',
      'CARD_BLOCKED',
      'CONFLICT',
      'INSUFFICIENT_FUNDS',
      'LIMIT_EXCEEDED',
    ]) {
      expect(refused.get(code) ?? 0, code).toBeGreaterThan(0);
    }

    // The whole ledger agrees with the card.
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
    expect(entries.reduce((sum, entry) => sum + entry.amount, 0)).toBe(card.balance);
    expect(card.seq).toBe(entries.length);
    expect(new Set(entries.map((entry) => entry.id)).size).toBe(entries.length);
    expect(entries.every((entry) => entry.availableAfter >= 0)).toBe(true);
  });

  it('freezes the balance once the card is deactivated', () => {
    const { card, entries } = run({ seed: 7, steps: 1000, deactivateRate: 0.01 });
    const deactivation = entries.findIndex((entry) => entry.type === 'DEACTIVATE');
    expect(deactivation).toBeGreaterThan(0);
    expect(entries.filter((entry) => entry.type === 'DEACTIVATE')).toHaveLength(1);
    const after = entries.slice(deactivation + 1);
    // Only releasing holds may follow: no money moves in or out.
    expect(after.every((entry) => entry.type === 'VOID' && entry.amount === 0)).toBe(true);
    expect(card.status).toBe('DEACTIVATED');
    expect(card.balance).toBe(entries[deactivation]?.balanceAfter);
  });
});
