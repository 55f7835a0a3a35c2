import type { OperationContext } from '../core/card';
import { isPlausibleCode, normalizeCode } from '../core/card-code';
import { DomainError, notFound } from '../core/errors';
import type { Committed } from '../store/card-commit';
import { findCardByCode } from '../store/card-reads';
import type { IdempotencyClaim } from '../store/idempotency';
import { type CardResult, type CardVisibility, changeCard } from './card-change';

/**
 * Activation at the till: the cashier scans a physical card and sells it. Primary course: find the card
 * by its code (an unknown code, or a card the merchant may not see, answer alike), take the amount (a
 * fixed-denomination card activates with exactly its denomination; an open-value card with what was
 * paid), then the ACTIVATE verb through the commit engine, under the request's Idempotency-Key, so a
 * timeout reversal by that key takes the card back to PENDING with nothing loaded. A card of a lost
 * carton was deactivated, and the policy refuses it.
 */
export async function activateAtTill(
  rawCode: string,
  paid: number | undefined,
  context: OperationContext,
  visible: CardVisibility,
  options: { readonly claim: IdempotencyClaim | undefined; readonly deadlineMs?: number },
): Promise<Committed<CardResult>> {
  const code = normalizeCode(rawCode);
  const card = isPlausibleCode(code) ? await findCardByCode(code) : undefined;
  if (!card || !visible(card)) throw notFound('The card');
  const denomination = card.metadata?.denomination;
  let amount: number;
  if (typeof denomination === 'number') {
    if (paid !== undefined && paid !== denomination) {
      throw new DomainError('VALIDATION_FAILED', 'This card has a fixed value.', [
        { field: 'amount', message: `must be ${denomination} (the card's denomination) or left out` },
      ]);
    }
    amount = denomination;
  } else {
    if (paid === undefined) {
      throw new DomainError('VALIDATION_FAILED', 'This card is open value.', [
        { field: 'amount', message: 'required: the amount paid for the card' },
      ]);
    }
    amount = paid;
  }
  return changeCard(card.id, { type: 'ACTIVATE', amount }, context, visible, {
    claim: options.claim,
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
  });
}
