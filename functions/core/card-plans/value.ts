import type { Card, CardChange, OperationContext, ReturnsChange } from '../card-model';
import { isExpired } from '../card-model';
import { DomainError } from '../errors';
import type { EntryReturns } from '../hold';
import type { LedgerEntry } from '../ledger';
import { MAX_AMOUNT } from '../money';
import type { Program } from '../program';
import { expiryAfter } from '../program';
import { change, checkLimits, requireAmount } from './change';

/** Value in and out of a card: activation, load, redemption, refund, adjustment, cash-out, breakage. */

export function planActivate(
  card: Card,
  program: Program,
  amount: number,
  context: OperationContext,
): CardChange {
  requireAmount(amount, true);
  const balance = card.balance + amount;
  checkLimits('ACTIVATE', program, amount, balance);
  const expiresAt =
    amount > 0 ? expiryAfter(program.expiryPolicy, 'LOAD', context.now, card.expiresAt) : card.expiresAt;
  const next = {
    ...card,
    status: 'ACTIVE' as const,
    balance,
    available: card.available + amount,
    activatedAt: context.now.toISOString(),
    ...(expiresAt ? { expiresAt } : {}),
  };
  return change(card, next, 'ACTIVATE', amount, context, {
    status: 'PENDING',
    notExpiredAt: context.now.toISOString(),
  });
}

export function planLoad(
  card: Card,
  program: Program,
  amount: number,
  context: OperationContext,
): CardChange {
  requireAmount(amount);
  const balance = card.balance + amount;
  checkLimits('LOAD', program, amount, balance);
  const expiresAt = expiryAfter(program.expiryPolicy, 'LOAD', context.now, card.expiresAt);
  const next = { ...card, balance, available: card.available + amount, ...(expiresAt ? { expiresAt } : {}) };
  return change(card, next, 'LOAD', amount, context, {
    status: 'ACTIVE',
    notExpiredAt: context.now.toISOString(),
  });
}

export function planRedeem(
  card: Card,
  amountAsked: number,
  allowPartial: boolean,
  context: OperationContext,
): CardChange {
  requireAmount(amountAsked);
  const amount = allowPartial ? Math.min(amountAsked, card.available) : amountAsked;
  if (amount <= 0 || amount > card.available) {
    throw new DomainError('INSUFFICIENT_FUNDS', 'The card does not hold enough available funds.');
  }
  const next = { ...card, balance: card.balance - amount, available: card.available - amount };
  return change(card, next, 'REDEEM', -amount, context, {
    status: 'ACTIVE',
    notExpiredAt: context.now.toISOString(),
    minAvailable: amount,
  });
}

/** Entries whose money can come back to the card by refund. */
const RETURNABLE = new Set(['REDEEM', 'CAPTURE']);

/**
 * Money back onto the card. Against a redemption or capture (the caller's own: the policy checked it),
 * at most what it took, net of earlier refunds, even past the program's maximum balance (the money goes
 * back where it came from). Without one it is new value: the program's load limits apply, as to a load.
 */
export function planRefund(
  card: Card,
  program: Program,
  amount: number,
  original: { readonly entry: LedgerEntry; readonly returns: EntryReturns } | undefined,
  context: OperationContext,
): CardChange {
  requireAmount(amount);
  let returns: ReturnsChange | undefined;
  if (original) {
    if (!RETURNABLE.has(original.entry.type)) {
      throw new DomainError(
        'CONFLICT',
        `A ${original.entry.type} cannot be refunded; only redemptions and captures.`,
      );
    }
    // A reversal counts as a refund of everything that was left (core/card-plans/reversal.ts).
    const left = -original.entry.amount - original.returns.refunded;
    if (amount > left) {
      throw new DomainError(
        'LIMIT_EXCEEDED',
        `At most ${left} minor units of that transaction can still be refunded.`,
      );
    }
    returns = {
      seq: original.entry.seq,
      before: original.returns,
      after: { ...original.returns, refunded: original.returns.refunded + amount },
    };
  } else {
    checkLimits('REFUND', program, amount, card.balance + amount);
  }
  const next = { ...card, balance: card.balance + amount, available: card.available + amount };
  const planned = change(
    card,
    next,
    'REFUND',
    amount,
    context,
    { status: 'ACTIVE', notExpiredAt: context.now.toISOString() },
    undefined,
    original?.entry.id,
  );
  return returns ? { ...planned, returns } : planned;
}

export function planAdjust(
  card: Card,
  program: Program,
  amount: number,
  reason: string,
  context: OperationContext,
): CardChange {
  if (!Number.isSafeInteger(amount) || amount === 0 || Math.abs(amount) > MAX_AMOUNT) {
    throw new DomainError('VALIDATION_FAILED', 'The adjustment must be a non-zero integer of minor units.', [
      { field: 'amount', message: 'must be a non-zero integer of minor units' },
    ]);
  }
  if (amount < 0 && card.available < -amount) {
    throw new DomainError(
      'INSUFFICIENT_FUNDS',
      'The adjustment would take the available balance below zero.',
    );
  }
  checkLimits('ADJUST', program, amount, card.balance + amount);
  const next = { ...card, balance: card.balance + amount, available: card.available + amount };
  const type = amount > 0 ? 'ADJUST_INCREMENT' : 'ADJUST_DECREMENT';
  // The same states the policy allowed, still true when the write lands.
  const guard = amount < 0 ? { minAvailable: -amount } : {};
  return change(card, next, type, amount, context, guard, reason);
}

export function planCashOut(
  card: Card,
  program: Program,
  reason: string | undefined,
  context: OperationContext,
): CardChange {
  if (card.available !== card.balance) {
    throw new DomainError('CONFLICT', 'Capture or void the open holds before cashing out.');
  }
  if (card.balance === 0) throw new DomainError('INSUFFICIENT_FUNDS', 'The card holds nothing to cash out.');
  if (!program.cashOut.enabled) throw new DomainError('FORBIDDEN', 'This program does not allow cash-out.');
  if (program.cashOut.maxBalance !== undefined && card.balance > program.cashOut.maxBalance) {
    throw new DomainError(
      'LIMIT_EXCEEDED',
      'This program cashes out only balances up to its cash-out limit.',
    );
  }
  const next = { ...card, balance: 0, available: 0 };
  return change(
    card,
    next,
    'CLEAR_BALANCE',
    -card.balance,
    context,
    // Guarantees: only an active, unexpired card is paid out (a block or expiry in between wins).
    { status: 'ACTIVE', notExpiredAt: context.now.toISOString(), minAvailable: card.balance },
    reason,
  );
}

/** Breakage: an expired card's remaining value leaves the balance, once. */
export function planExpire(card: Card, context: OperationContext): CardChange {
  if (!isExpired(card, context.now)) throw new DomainError('CONFLICT', 'The card has not expired.');
  if (card.balance === 0) throw new DomainError('CONFLICT', 'The card holds no value to expire.');
  if (card.available !== card.balance) throw new DomainError('CONFLICT', 'The card still has open holds.');
  const next = { ...card, balance: 0, available: 0 };
  return change(card, next, 'EXPIRE', -card.balance, context, { minAvailable: card.balance }, 'expired');
}
