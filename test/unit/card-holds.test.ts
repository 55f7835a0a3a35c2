import { describe, expect, it } from 'vitest';
import { type Card, type CardOperation, planOperation, planTransfer } from '../../functions/core/card';
import { type EntryReturns, type Hold, NO_RETURNS } from '../../functions/core/hold';
import { type LedgerEntry, transactionId } from '../../functions/core/ledger';
import type { Program } from '../../functions/core/program';
import {
  CARD_ID,
  errorCodeOf,
  makeCard,
  makeProgram,
  merchantContext,
  NOW,
  NOW_ISO,
  OTHER_CARD_ID,
  staffContext,
} from './domain-fixtures';

const PAST = '2025-03-01T00:00:00.000Z';
const FUTURE = '2025-03-22T12:00:00.000Z';

const plan = (card: Card, operation: CardOperation, program: Program = makeProgram()) =>
  planOperation(
    card,
    program,
    operation,
    // Breakage is the expiry sweep's (a system job) alone: core/card-policy.ts.
    operation.type === 'EXPIRE'
      ? { actor: { type: 'system', id: 'expiry-sweep' }, request: {}, now: NOW }
      : staffContext(),
  );

/** A card with 50.00 of which 20.00 is held by `openHold`. */
const heldCard = (overrides: Partial<Card> = {}) =>
  makeCard({ balance: 5000, available: 3000, seq: 4, ...overrides });

function openHold(overrides: Partial<Hold> = {}): Hold {
  return {
    id: 'hld_1',
    cardId: CARD_ID,
    amount: 2000,
    currency: 'USD',
    status: 'ACTIVE',
    expiresAt: FUTURE,
    createdAt: PAST,
    transactionId: transactionId(CARD_ID, 4),
    ...overrides,
  };
}

function entry(overrides: Partial<LedgerEntry>): LedgerEntry {
  return {
    id: transactionId(CARD_ID, overrides.seq ?? 2),
    cardId: CARD_ID,
    programId: 'prg_test',
    seq: 2,
    type: 'REDEEM',
    amount: -1500,
    currency: 'USD',
    balanceAfter: 3500,
    availableAfter: 3500,
    actor: { type: 'merchant', id: 'mer_1' },
    channel: 'POS',
    createdAt: PAST,
    ...overrides,
  };
}

describe('HOLD', () => {
  it('sets funds aside: available drops, balance stays, a zero HOLD entry and a new hold', () => {
    const {
      card,
      entry: written,
      guard,
      hold,
    } = planOperation(
      makeCard(),
      makeProgram(),
      { type: 'HOLD', amount: 2000, holdId: 'hld_9', expiresInSeconds: 3600 },
      merchantContext({ request: { reference: 'checkout-1' } }),
    );
    expect(card).toMatchObject({ balance: 5000, available: 3000, seq: 4 });
    expect(written).toMatchObject({
      type: 'HOLD',
      amount: 0,
      balanceAfter: 5000,
      availableAfter: 3000,
      seq: 4,
    });
    expect(guard).toEqual({
      expectedSeq: 3,
      currency: 'USD',
      status: 'ACTIVE',
      notExpiredAt: NOW_ISO,
      minAvailable: 2000,
    });
    expect(hold).toEqual({
      expect: 'NEW',
      next: {
        id: 'hld_9',
        cardId: CARD_ID,
        amount: 2000,
        currency: 'USD',
        status: 'ACTIVE',
        expiresAt: '2025-03-15T13:00:00.000Z',
        createdAt: NOW_ISO,
        transactionId: written.id,
        merchantId: 'mer_1',
        reference: 'checkout-1',
      },
    });
  });

  it('refuses more than available, and refuses unusable cards', () => {
    const hold = { type: 'HOLD', amount: 3001, holdId: 'h', expiresInSeconds: 60 } as const;
    expect(errorCodeOf(() => plan(heldCard(), hold))).toBe('INSUFFICIENT_FUNDS');
    expect(errorCodeOf(() => plan(makeCard({ status: 'BLOCKED' }), { ...hold, amount: 1 }))).toBe(
      'CARD_BLOCKED',
    );
    expect(errorCodeOf(() => plan(makeCard({ expiresAt: PAST }), { ...hold, amount: 1 }))).toBe(
      'CARD_EXPIRED',
    );
    expect(errorCodeOf(() => plan(makeCard(), { ...hold, amount: 0 }))).toBe('VALIDATION_FAILED');
  });
});

describe('CAPTURE', () => {
  it('captures the whole hold: balance drops by it, available unchanged', () => {
    const { card, entry: written, guard, hold } = plan(heldCard(), { type: 'CAPTURE', hold: openHold() });
    expect(card).toMatchObject({ balance: 3000, available: 3000, seq: 5 });
    expect(written).toMatchObject({
      type: 'CAPTURE',
      amount: -2000,
      balanceAfter: 3000,
      availableAfter: 3000,
      relatedTransactionId: transactionId(CARD_ID, 4),
    });
    expect(guard).toEqual({ expectedSeq: 4, currency: 'USD', status: 'ACTIVE', notExpiredAt: NOW_ISO });
    expect(hold).toEqual({
      expect: 'ACTIVE',
      next: {
        ...openHold(),
        status: 'CAPTURED',
        capturedAmount: 2000,
        closedAt: NOW_ISO,
        closingTransactionId: written.id,
      },
    });
  });

  it('captures part of a hold and releases the rest', () => {
    const {
      card,
      entry: written,
      hold,
    } = plan(heldCard(), { type: 'CAPTURE', hold: openHold(), amount: 1500 });
    expect(card).toMatchObject({ balance: 3500, available: 3500 });
    expect(written).toMatchObject({ amount: -1500, balanceAfter: 3500, availableAfter: 3500 });
    expect(hold?.next.capturedAmount).toBe(1500);
  });

  it('refuses to capture more than the hold, a closed, expired or foreign hold', () => {
    expect(errorCodeOf(() => plan(heldCard(), { type: 'CAPTURE', hold: openHold(), amount: 2001 }))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(errorCodeOf(() => plan(heldCard(), { type: 'CAPTURE', hold: openHold(), amount: 0 }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(
      errorCodeOf(() => plan(heldCard(), { type: 'CAPTURE', hold: openHold({ status: 'VOIDED' }) })),
    ).toBe('CONFLICT');
    expect(
      errorCodeOf(() => plan(heldCard(), { type: 'CAPTURE', hold: openHold({ expiresAt: NOW_ISO }) })),
    ).toBe('CONFLICT');
    expect(
      errorCodeOf(() => plan(heldCard(), { type: 'CAPTURE', hold: openHold({ cardId: OTHER_CARD_ID }) })),
    ).toBe('NOT_FOUND');
    expect(
      errorCodeOf(() => plan(heldCard({ status: 'BLOCKED' }), { type: 'CAPTURE', hold: openHold() })),
    ).toBe('CARD_BLOCKED');
  });
});

describe('VOID', () => {
  it('releases the hold: available back up, balance unchanged, on any card state', () => {
    for (const status of ['ACTIVE', 'BLOCKED', 'DEACTIVATED'] as const) {
      const {
        card,
        entry: written,
        guard,
        hold,
      } = plan(heldCard({ status }), { type: 'VOID', hold: openHold() });
      expect(card).toMatchObject({ balance: 5000, available: 5000, status });
      expect(written).toMatchObject({
        type: 'VOID',
        amount: 0,
        relatedTransactionId: transactionId(CARD_ID, 4),
      });
      expect(written).not.toHaveProperty('reason');
      expect(guard).toEqual({ expectedSeq: 4, currency: 'USD' });
      expect(hold?.next).toMatchObject({
        status: 'VOIDED',
        closedAt: NOW_ISO,
        closingTransactionId: written.id,
      });
      expect(hold?.expect).toBe('ACTIVE');
    }
  });

  it('marks a swept hold EXPIRED with a reason', () => {
    const { entry: written, hold } = plan(heldCard(), {
      type: 'VOID',
      hold: openHold({ expiresAt: PAST }),
      expired: true,
    });
    expect(written.reason).toBe('hold expired');
    expect(hold?.next.status).toBe('EXPIRED');
  });

  it('refuses a closed or foreign hold', () => {
    expect(
      errorCodeOf(() => plan(heldCard(), { type: 'VOID', hold: openHold({ status: 'CAPTURED' }) })),
    ).toBe('CONFLICT');
    expect(
      errorCodeOf(() => plan(heldCard(), { type: 'VOID', hold: openHold({ cardId: OTHER_CARD_ID }) })),
    ).toBe('NOT_FOUND');
  });
});

describe('REFUND', () => {
  const redemption = entry({ seq: 2, type: 'REDEEM', amount: -1500 });

  it('refunds against a redemption and moves its running refund total', () => {
    const {
      card,
      entry: written,
      guard,
      returns,
    } = plan(makeCard(), {
      type: 'REFUND',
      amount: 500,
      original: { entry: redemption, returns: NO_RETURNS },
    });
    expect(card).toMatchObject({ balance: 5500, available: 5500 });
    expect(written).toMatchObject({
      type: 'REFUND',
      amount: 500,
      balanceAfter: 5500,
      relatedTransactionId: redemption.id,
    });
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD', status: 'ACTIVE', notExpiredAt: NOW_ISO });
    expect(returns).toEqual({
      seq: 2,
      before: NO_RETURNS,
      after: { refunded: 500, reversed: false },
    });
  });

  it('never refunds more than the redemption took', () => {
    const partly: EntryReturns = { refunded: 1000, reversed: false };
    expect(
      plan(makeCard(), { type: 'REFUND', amount: 500, original: { entry: redemption, returns: partly } })
        .returns?.after.refunded,
    ).toBe(1500);
    expect(
      errorCodeOf(() =>
        plan(makeCard(), { type: 'REFUND', amount: 501, original: { entry: redemption, returns: partly } }),
      ),
    ).toBe('LIMIT_EXCEEDED');
  });

  it('refuses to refund a load or another card entry', () => {
    const load = entry({ type: 'LOAD', amount: 1500 });
    expect(
      errorCodeOf(() =>
        plan(makeCard(), { type: 'REFUND', amount: 1, original: { entry: load, returns: NO_RETURNS } }),
      ),
    ).toBe('CONFLICT');
    const foreign = entry({ cardId: OTHER_CARD_ID });
    expect(
      errorCodeOf(() =>
        plan(makeCard(), { type: 'REFUND', amount: 1, original: { entry: foreign, returns: NO_RETURNS } }),
      ),
    ).toBe('NOT_FOUND');
  });

  it('refunds without an original and refuses unusable cards', () => {
    const { card, entry: written, returns } = plan(makeCard(), { type: 'REFUND', amount: 700 });
    expect(card.balance).toBe(5700);
    expect(written).not.toHaveProperty('relatedTransactionId');
    expect(returns).toBeUndefined();
    expect(errorCodeOf(() => plan(makeCard({ status: 'BLOCKED' }), { type: 'REFUND', amount: 1 }))).toBe(
      'CARD_BLOCKED',
    );
    expect(errorCodeOf(() => plan(makeCard({ expiresAt: PAST }), { type: 'REFUND', amount: 1 }))).toBe(
      'CARD_EXPIRED',
    );
  });
});

describe('REVERSE', () => {
  it('gives back what a redemption took, less what was already refunded, exactly once', () => {
    const redemption = entry({ seq: 2, type: 'REDEEM', amount: -1500 });
    const returnsBefore = { refunded: 500, reversed: false };
    const {
      card,
      entry: written,
      guard,
      returns,
    } = plan(makeCard(), {
      type: 'REVERSE',
      original: redemption,
      returns: returnsBefore,
    });
    expect(card).toMatchObject({ balance: 6000, available: 6000 });
    expect(written).toMatchObject({ type: 'REVERSAL', amount: 1000, relatedTransactionId: redemption.id });
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD' });
    expect(returns).toEqual({
      seq: 2,
      before: returnsBefore,
      after: { refunded: 1500, reversed: true, reversalId: written.id },
    });
    expect(
      errorCodeOf(() =>
        plan(card, { type: 'REVERSE', original: redemption, returns: returns?.after ?? NO_RETURNS }),
      ),
    ).toBe('CONFLICT');
  });

  it('refuses a redemption already refunded in full', () => {
    const redemption = entry({ type: 'REDEEM', amount: -1500 });
    expect(
      errorCodeOf(() =>
        plan(makeCard(), {
          type: 'REVERSE',
          original: redemption,
          returns: { refunded: 1500, reversed: false },
        }),
      ),
    ).toBe('CONFLICT');
  });

  it('takes a load back out while its value is still available', () => {
    const load = entry({ seq: 3, type: 'LOAD', amount: 2000 });
    const {
      card,
      entry: written,
      guard,
    } = plan(makeCard(), { type: 'REVERSE', original: load, returns: NO_RETURNS });
    expect(card).toMatchObject({ balance: 3000, available: 3000, status: 'ACTIVE' });
    expect(written).toMatchObject({ type: 'REVERSAL', amount: -2000 });
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD', minAvailable: 2000 });
    expect(
      errorCodeOf(() =>
        plan(makeCard({ available: 1999 }), { type: 'REVERSE', original: load, returns: NO_RETURNS }),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
  });

  it('undoes an activation: the card goes back to PENDING without its activation date', () => {
    const activation = entry({ seq: 2, type: 'ACTIVATE', amount: 5000 });
    const { card, guard } = plan(makeCard(), { type: 'REVERSE', original: activation, returns: NO_RETURNS });
    expect(card).toMatchObject({ status: 'PENDING', balance: 0, available: 0 });
    expect(card).not.toHaveProperty('activatedAt');
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD', status: 'ACTIVE', minAvailable: 5000 });
  });

  it('refuses entries that cannot be reversed, foreign entries and deactivated cards', () => {
    const block = entry({ type: 'BLOCK', amount: 0 });
    expect(
      errorCodeOf(() => plan(makeCard(), { type: 'REVERSE', original: block, returns: NO_RETURNS })),
    ).toBe('CONFLICT');
    const foreign = entry({ cardId: OTHER_CARD_ID });
    expect(
      errorCodeOf(() => plan(makeCard(), { type: 'REVERSE', original: foreign, returns: NO_RETURNS })),
    ).toBe('NOT_FOUND');
    expect(
      errorCodeOf(() =>
        plan(makeCard({ status: 'DEACTIVATED' }), {
          type: 'REVERSE',
          original: entry({}),
          returns: NO_RETURNS,
        }),
      ),
    ).toBe('CARD_NOT_ACTIVE');
  });
});

describe('CLEAR_BALANCE (cash-out)', () => {
  const cashOut = makeProgram({ cashOut: { enabled: true, maxBalance: 1000 } });

  it('empties a card within the cash-out limit', () => {
    const {
      card,
      entry: written,
      guard,
    } = plan(
      makeCard({ balance: 1000, available: 1000 }),
      {
        type: 'CLEAR_BALANCE',
        reason: 'state law',
      },
      cashOut,
    );
    expect(card).toMatchObject({ balance: 0, available: 0 });
    expect(written).toMatchObject({
      type: 'CLEAR_BALANCE',
      amount: -1000,
      balanceAfter: 0,
      reason: 'state law',
    });
    expect(guard).toEqual({
      expectedSeq: 3,
      currency: 'USD',
      status: 'ACTIVE',
      notExpiredAt: NOW_ISO,
      minAvailable: 1000,
    });
  });

  it('refuses above the limit, with open holds, with nothing to pay, or when the program forbids it', () => {
    expect(
      errorCodeOf(() =>
        plan(
          makeCard({ balance: 1001, available: 1001 }),
          { type: 'CLEAR_BALANCE', reason: 'test' },
          cashOut,
        ),
      ),
    ).toBe('LIMIT_EXCEEDED');
    expect(
      errorCodeOf(() =>
        plan(makeCard({ balance: 900, available: 100 }), { type: 'CLEAR_BALANCE', reason: 'test' }, cashOut),
      ),
    ).toBe('CONFLICT');
    expect(
      errorCodeOf(() =>
        plan(makeCard({ balance: 0, available: 0 }), { type: 'CLEAR_BALANCE', reason: 'test' }, cashOut),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
    expect(
      errorCodeOf(() =>
        plan(makeCard({ balance: 500, available: 500 }), { type: 'CLEAR_BALANCE', reason: 'test' }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      errorCodeOf(() =>
        plan(makeCard({ status: 'PENDING' }), { type: 'CLEAR_BALANCE', reason: 'test' }, cashOut),
      ),
    ).toBe('CARD_NOT_ACTIVE');
  });
});

describe('EXPIRE (breakage)', () => {
  it('takes the remaining value off an expired card', () => {
    const { card, entry: written, guard } = plan(makeCard({ expiresAt: PAST }), { type: 'EXPIRE' });
    expect(card).toMatchObject({ balance: 0, available: 0 });
    expect(written).toMatchObject({ type: 'EXPIRE', amount: -5000, balanceAfter: 0, reason: 'expired' });
    expect(guard).toEqual({ expectedSeq: 3, currency: 'USD', minAvailable: 5000 });
  });

  it('refuses a live card, an empty card, or one with open holds', () => {
    expect(errorCodeOf(() => plan(makeCard(), { type: 'EXPIRE' }))).toBe('CONFLICT');
    expect(
      errorCodeOf(() => plan(makeCard({ expiresAt: PAST, balance: 0, available: 0 }), { type: 'EXPIRE' })),
    ).toBe('CONFLICT');
    expect(errorCodeOf(() => plan(makeCard({ expiresAt: PAST, available: 1000 }), { type: 'EXPIRE' }))).toBe(
      'CONFLICT',
    );
  });
});

describe('planTransfer', () => {
  const to = () => makeCard({ id: OTHER_CARD_ID, balance: 1000, available: 1000, seq: 7, last4: '0001' });

  it('moves value with paired TRANSFER_OUT / TRANSFER_IN entries that name each other', () => {
    const { out, in: incoming } = planTransfer(makeCard(), to(), makeProgram(), 1500, staffContext());
    expect(out.card).toMatchObject({ balance: 3500, available: 3500, seq: 4 });
    expect(incoming.card).toMatchObject({ balance: 2500, available: 2500, seq: 8 });
    expect(out.entry).toMatchObject({
      type: 'TRANSFER_OUT',
      amount: -1500,
      relatedTransactionId: incoming.entry.id,
    });
    expect(incoming.entry).toMatchObject({
      type: 'TRANSFER_IN',
      amount: 1500,
      relatedTransactionId: out.entry.id,
    });
    expect(out.guard).toEqual({
      expectedSeq: 3,
      currency: 'USD',
      status: 'ACTIVE',
      notExpiredAt: NOW_ISO,
      minAvailable: 1500,
    });
    expect(incoming.guard).toEqual({
      expectedSeq: 7,
      currency: 'USD',
      status: 'ACTIVE',
      notExpiredAt: NOW_ISO,
    });
  });

  it('moves the whole available balance when no amount is given', () => {
    const { out } = planTransfer(
      makeCard({ available: 4000 }),
      to(),
      makeProgram(),
      undefined,
      staffContext(),
    );
    expect(out.entry.amount).toBe(-4000);
    expect(out.card).toMatchObject({ balance: 1000, available: 0 });
  });

  it('lets support empty a blocked or deactivated card, but not a merchant', () => {
    for (const [status, merchantCode] of [
      ['BLOCKED', 'CARD_BLOCKED'],
      ['DEACTIVATED', 'CARD_NOT_ACTIVE'],
    ] as const) {
      const from = makeCard({ status });
      const { out } = planTransfer(from, to(), makeProgram(), undefined, staffContext());
      expect(out.guard.status).toBe(status);
      expect(out.card).toMatchObject({ status, balance: 0, available: 0 });
      expect(errorCodeOf(() => planTransfer(from, to(), makeProgram(), undefined, merchantContext()))).toBe(
        merchantCode,
      );
    }
  });

  it('refuses other currencies, expired sources, unusable destinations, and overfull destinations', () => {
    expect(
      errorCodeOf(() =>
        planTransfer(
          makeCard(),
          makeCard({ id: OTHER_CARD_ID, currency: 'EUR' }),
          makeProgram(),
          1,
          staffContext(),
        ),
      ),
    ).toBe('CURRENCY_MISMATCH');
    expect(
      errorCodeOf(() =>
        planTransfer(
          makeCard({ status: 'BLOCKED', expiresAt: PAST }),
          to(),
          makeProgram(),
          1,
          staffContext(),
        ),
      ),
    ).toBe('CARD_EXPIRED');
    expect(
      errorCodeOf(() =>
        planTransfer(
          makeCard(),
          makeCard({ id: OTHER_CARD_ID, status: 'PENDING' }),
          makeProgram(),
          1,
          staffContext(),
        ),
      ),
    ).toBe('CARD_NOT_ACTIVE');
    expect(
      errorCodeOf(() =>
        planTransfer(makeCard(), to(), makeProgram({ maxBalance: 2000 }), 1001, staffContext()),
      ),
    ).toBe('LIMIT_EXCEEDED');
    expect(errorCodeOf(() => planTransfer(makeCard(), to(), makeProgram(), 5001, staffContext()))).toBe(
      'INSUFFICIENT_FUNDS',
    );
    expect(
      errorCodeOf(() =>
        planTransfer(makeCard({ balance: 0, available: 0 }), to(), makeProgram(), undefined, staffContext()),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
    expect(errorCodeOf(() => planTransfer(makeCard(), to(), makeProgram(), 0, staffContext()))).toBe(
      'VALIDATION_FAILED',
    );
  });

  it('stamps both sides with the same time', () => {
    const { out, in: incoming } = planTransfer(
      makeCard(),
      to(),
      makeProgram(),
      100,
      staffContext({ now: NOW }),
    );
    expect(out.entry.createdAt).toBe(NOW_ISO);
    expect(incoming.entry.createdAt).toBe(NOW_ISO);
  });
});
