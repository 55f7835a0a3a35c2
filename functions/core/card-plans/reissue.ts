import type { Card, CardChange, OperationContext } from '../card-model';
import { requireActor, requireReason, requireState } from '../card-policy';
import { DomainError } from '../errors';
import type { LedgerEntry } from '../ledger';
import type { Program } from '../program';
import { type IssueInput, planIssue } from './issue';
import { planDeactivate } from './status';
import { planTransfer } from './transfer';

export interface ReissuePlan {
  /** The old card's changes, each planned on the one before: TRANSFER_OUT (when it holds value), DEACTIVATE. */
  readonly old: readonly CardChange[];
  /** The new card as written, and its entries: ISSUE, ACTIVATE, TRANSFER_IN (when value moves). */
  readonly replacement: { readonly card: Card; readonly entries: readonly LedgerEntry[] };
}

/**
 * Replaces a card (lost, stolen, damaged): a new active card of the same program, type and customer,
 * the old card's whole balance moved onto it, and the old card deactivated for good, so its code never
 * spends again and no unblock revives a card whose value has moved. A card with open holds is refused:
 * the held value belongs to a merchant's pending capture, so support captures or voids them first.
 */
export function planReissue(
  old: Card,
  program: Program,
  replacement: Pick<IssueInput, 'cardId' | 'last4' | 'pepperId'>,
  reason: string,
  context: OperationContext,
): ReissuePlan {
  requireActor('REISSUE', context);
  requireReason('REISSUE', context.actor, reason);
  requireState('REISSUE', context.actor, old, context.now);
  if (old.programId !== program.id) throw new Error(`Reissue of ${old.id} planned with another program`);
  if (old.available !== old.balance) {
    throw new DomainError('CONFLICT', 'The card has open holds: capture or void them before reissuing it.');
  }
  const issued = planIssue(
    program,
    {
      ...replacement,
      type: old.type,
      amount: 0,
      activate: true,
      ...(old.customerId ? { customerId: old.customerId } : {}),
      metadata: { reissuedFrom: old.id },
    },
    context,
  );
  const moved = old.balance > 0 ? planTransfer(old, issued.card, program, old.balance, context) : undefined;
  const emptied = moved ? moved.out.card : old;
  const deactivated = planDeactivate(emptied, program, `Reissued as ${issued.card.id}: ${reason}`, context);
  return {
    old: moved ? [moved.out, deactivated] : [deactivated],
    replacement: {
      card: moved ? moved.in.card : issued.card,
      entries: moved ? [...issued.entries, moved.in.entry] : issued.entries,
    },
  };
}
