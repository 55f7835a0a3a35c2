import type { Card, CardChange, OperationContext } from '../card-model';
import { requireActor, requireReceivingCard, requireState } from '../card-policy';
import { DomainError } from '../errors';
import { transactionId } from '../ledger';
import type { Program } from '../program';
import { change, checkLimits, requireAmount, requireCurrency } from './change';

/**
 * Value from one card to another of the same currency (card replacement, a gift between holders).
 * The whole available balance when no amount is given. The policy says from which states each actor
 * may move value (support empties a blocked or deactivated card into its replacement); the
 * destination must be active and unexpired for everyone, and stays within its program's maximum.
 */
export function planTransfer(
  from: Card,
  to: Card,
  toProgram: Program,
  amount: number | undefined,
  context: OperationContext,
): { out: CardChange; in: CardChange } {
  const nowIso = context.now.toISOString();
  requireActor('TRANSFER', context);
  requireCurrency(from, context.currency);
  if (to.currency !== from.currency) {
    throw new DomainError(
      'CURRENCY_MISMATCH',
      `The destination card holds ${to.currency}, not ${from.currency}.`,
    );
  }
  requireState('TRANSFER', context.actor, from, context.now);
  requireReceivingCard(to, context.now);
  const value = amount ?? from.available;
  if (amount !== undefined) requireAmount(amount);
  if (value <= 0 || value > from.available) {
    throw new DomainError('INSUFFICIENT_FUNDS', 'The source card does not hold enough available funds.');
  }
  checkLimits('TRANSFER', toProgram, value, to.balance + value);
  const outNext = { ...from, balance: from.balance - value, available: from.available - value };
  const inNext = { ...to, balance: to.balance + value, available: to.available + value };
  // Each entry names the other before it is chained (ids follow from card and entry number).
  const outId = transactionId(from.id, from.seq + 1);
  const inId = transactionId(to.id, to.seq + 1);
  const out = change(
    from,
    outNext,
    'TRANSFER_OUT',
    -value,
    context,
    { status: from.status, notExpiredAt: nowIso, minAvailable: value },
    undefined,
    inId,
  );
  const incoming = change(
    to,
    inNext,
    'TRANSFER_IN',
    value,
    context,
    { status: 'ACTIVE', notExpiredAt: nowIso },
    undefined,
    outId,
  );
  return { out, in: incoming };
}
