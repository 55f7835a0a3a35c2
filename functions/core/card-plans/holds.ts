import type { Card, CardChange, OperationContext } from '../card-model';
import { DomainError } from '../errors';
import { type Hold, isHoldExpired } from '../hold';
import { change, requireAmount } from './change';

/** Authorisation holds (e-commerce): place, capture all or part, void. */

export function planHold(
  card: Card,
  amount: number,
  holdId: string,
  expiresInSeconds: number,
  context: OperationContext,
): CardChange {
  requireAmount(amount);
  if (amount > card.available) {
    throw new DomainError('INSUFFICIENT_FUNDS', 'The card does not hold enough available funds.');
  }
  const nowIso = context.now.toISOString();
  const next = { ...card, available: card.available - amount };
  const planned = change(card, next, 'HOLD', 0, context, {
    status: 'ACTIVE',
    notExpiredAt: nowIso,
    minAvailable: amount,
  });
  const hold: Hold = {
    id: holdId,
    cardId: card.id,
    amount,
    currency: card.currency,
    status: 'ACTIVE',
    expiresAt: new Date(context.now.getTime() + expiresInSeconds * 1000).toISOString(),
    createdAt: nowIso,
    transactionId: planned.entry.id,
    ...(context.actor.type === 'merchant' ? { merchantId: context.actor.id } : {}),
    ...(context.request.reference ? { reference: context.request.reference } : {}),
  };
  return { ...planned, hold: { next: hold, expect: 'NEW' } };
}

function requireOpenHold(hold: Hold): void {
  if (hold.status !== 'ACTIVE') throw new DomainError('CONFLICT', `The hold is already ${hold.status}.`);
}

export function planCapture(
  card: Card,
  hold: Hold,
  amountAsked: number | undefined,
  context: OperationContext,
): CardChange {
  requireOpenHold(hold);
  if (isHoldExpired(hold, context.now))
    throw new DomainError('CONFLICT', 'The hold has expired; its funds were released.');
  const amount = amountAsked ?? hold.amount;
  requireAmount(amount);
  if (amount > hold.amount) {
    throw new DomainError('LIMIT_EXCEEDED', 'A capture cannot take more than the hold set aside.');
  }
  const nowIso = context.now.toISOString();
  // The captured part leaves the balance; the uncaptured rest becomes available again.
  const next = { ...card, balance: card.balance - amount, available: card.available + hold.amount - amount };
  const planned = change(
    card,
    next,
    'CAPTURE',
    -amount,
    context,
    { status: 'ACTIVE', notExpiredAt: nowIso },
    undefined,
    hold.transactionId,
  );
  const closed: Hold = {
    ...hold,
    status: 'CAPTURED',
    capturedAmount: amount,
    closedAt: nowIso,
    closingTransactionId: planned.entry.id,
  };
  return { ...planned, hold: { next: closed, expect: 'ACTIVE' } };
}

export function planVoid(card: Card, hold: Hold, expired: boolean, context: OperationContext): CardChange {
  requireOpenHold(hold);
  const next = { ...card, available: card.available + hold.amount };
  const planned = change(
    card,
    next,
    'VOID',
    0,
    context,
    {},
    expired ? 'hold expired' : undefined,
    hold.transactionId,
  );
  const closed: Hold = {
    ...hold,
    status: expired ? 'EXPIRED' : 'VOIDED',
    closedAt: context.now.toISOString(),
    closingTransactionId: planned.entry.id,
  };
  return { ...planned, hold: { next: closed, expect: 'ACTIVE' } };
}
