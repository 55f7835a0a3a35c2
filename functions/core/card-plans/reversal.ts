import type { Card, CardChange, OperationContext, ReturnsChange } from '../card-model';
import { DomainError } from '../errors';
import type { EntryReturns } from '../hold';
import type { EntryType, LedgerEntry } from '../ledger';
import { change } from './change';

/** Entries a reversal can undo, once. */
export const REVERSIBLE: readonly EntryType[] = ['REDEEM', 'CAPTURE', 'LOAD', 'ACTIVATE'];

/**
 * Undoes a redemption or capture (what is left of it after refunds comes back), or a load or activation
 * (its value goes back out, if still there; an activation also returns the card to PENDING).
 */
export function planReverse(
  card: Card,
  original: LedgerEntry,
  returns: EntryReturns,
  context: OperationContext,
): CardChange {
  if (!REVERSIBLE.includes(original.type)) {
    throw new DomainError(
      'CONFLICT',
      `A ${original.type} cannot be reversed; only ${REVERSIBLE.join(', ')}.`,
    );
  }
  if (returns.reversed) throw new DomainError('CONFLICT', 'That transaction was already reversed.');
  const tally = (reversalId: string, refunded: number): ReturnsChange => ({
    seq: original.seq,
    before: returns,
    after: { refunded, reversed: true, reversalId },
  });
  if (original.type === 'REDEEM' || original.type === 'CAPTURE') {
    const amount = -original.amount - returns.refunded;
    if (amount <= 0) throw new DomainError('CONFLICT', 'That transaction was already refunded in full.');
    const next = { ...card, balance: card.balance + amount, available: card.available + amount };
    const planned = change(card, next, 'REVERSAL', amount, context, {}, undefined, original.id);
    return { ...planned, returns: tally(planned.entry.id, -original.amount) };
  }
  // A LOAD or ACTIVATE takes its value back out, if it is still there.
  const amount = original.amount;
  if (amount > card.available) {
    throw new DomainError('INSUFFICIENT_FUNDS', 'The loaded value has already been spent or held.');
  }
  const base = { ...card, balance: card.balance - amount, available: card.available - amount };
  if (original.type === 'ACTIVATE') {
    if (card.status !== 'ACTIVE') {
      throw new DomainError(
        'CONFLICT',
        `Only an ACTIVE card can have its activation reversed; this one is ${card.status}.`,
      );
    }
    const { activatedAt: _undone, ...pending } = base;
    const next = { ...pending, status: 'PENDING' as const };
    const planned = change(
      card,
      next,
      'REVERSAL',
      -amount,
      context,
      { status: 'ACTIVE', minAvailable: amount },
      undefined,
      original.id,
    );
    return { ...planned, returns: tally(planned.entry.id, returns.refunded) };
  }
  const planned = change(
    card,
    base,
    'REVERSAL',
    -amount,
    context,
    { minAvailable: amount },
    undefined,
    original.id,
  );
  return { ...planned, returns: tally(planned.entry.id, returns.refunded) };
}
