import { DomainError } from '../core/errors';
import { checkPin, pinRefusal } from '../store/pins';

/**
 * The card's PIN must be given and right: one attempt spent (store/pins.ts counts it under a condition,
 * so parallel guesses never exceed the lock), the refusal as the caller is told it.
 */
export async function requireRightPin(cardId: string, pin: string | undefined): Promise<void> {
  if (pin === undefined) throw new DomainError('PIN_REQUIRED', 'This card needs its PIN for this.');
  const result = await checkPin(cardId, pin);
  if (result !== 'OK') throw pinRefusal(result);
}
