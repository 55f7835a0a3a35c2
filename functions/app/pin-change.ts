import type { OperationContext } from '../core/card';
import { CARD_POLICY, requireActor, requireState } from '../core/card-policy';
import { DomainError } from '../core/errors';
import { checkNewPin, hashPin } from '../core/pin';
import type { Committed } from '../store/card-commit';
import { findPin } from '../store/pins';
import { type CardResult, type CardVisibility, changeCard } from './card-change';
import { getCard } from './card-lookup';
import { requireRightPin } from './pin-check';

/**
 * Sets or changes a card's PIN. Primary course: the caller may see the card and set its PIN in its
 * state; where the policy says so (a merchant changing a PIN that is set), the current PIN must be
 * given and right (one attempt spent); the new PIN must follow the PIN rules; then the PIN_SET entry and
 * the PIN item are written together, guarded by the PIN's version.
 */
export async function setPin(
  cardId: string,
  pin: string,
  currentPin: string | undefined,
  context: OperationContext,
  visible: CardVisibility,
): Promise<Committed<CardResult>> {
  requireActor('PIN_SET', context);
  const card = await getCard(cardId, visible);
  requireState('PIN_SET', context.actor, card, context.now);
  if (
    CARD_POLICY.PIN_SET.pin === 'CURRENT' &&
    context.actor.type === 'merchant' &&
    (await findPin(card.id))
  ) {
    if (currentPin === undefined) throw new DomainError('PIN_REQUIRED', 'Give the current PIN to change it.');
    await requireRightPin(card.id, currentPin);
  }
  checkNewPin(pin);
  return changeCard(card.id, { type: 'PIN_SET', hashed: hashPin(pin) }, context, visible);
}
