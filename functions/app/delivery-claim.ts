import type { Card } from '../core/card';
import { CLAIM_TOKEN_MAX_OPENS, hashClaimToken, isClaimTokenShape } from '../core/delivery/claim-token';
import { CLAIMABLE, type Delivery } from '../core/delivery/delivery';
import { notFound } from '../core/errors';
import type { Program } from '../core/program';
import { logger } from '../logger';
import { findCard } from '../store/card-reads';
import { changeDelivery, findDelivery, openClaimToken } from '../store/deliveries';
import { getProgram } from '../store/programs';
import { openValue } from '../store/sealed-values';

export interface ClaimedCard {
  readonly card: Card;
  readonly program: Program;
  readonly code: string;
  readonly delivery: Delivery;
}

/** Every way a claim link can fail answers this, after the same reads: unknown, wrong, expired, used up, replaced. */
const miss = () => notFound('The gift card link');

/**
 * Primary course: the token's hash names a live claim (counted as one more open, conditionally, so an
 * expired or used-up token opens nothing); the delivery it names must still hold that very hash (a
 * resend replaced it otherwise) in a state that may be claimed; then the card, and its code from the
 * delivery's sealed copy. The first open marks the delivery CLAIMED.
 */
export async function claimCard(token: string, now: Date): Promise<ClaimedCard> {
  if (!isClaimTokenShape(token)) throw miss();
  const hash = hashClaimToken(token);
  const opened = await openClaimToken(hash, now, CLAIM_TOKEN_MAX_OPENS);
  if (!opened) throw miss();
  const stored = await findDelivery(opened.cardId);
  if (!stored || stored.delivery.tokenHash !== hash || !CLAIMABLE.includes(stored.delivery.status))
    throw miss();
  const card = await findCard(opened.cardId);
  if (!card) throw miss();
  const [program, code] = await Promise.all([
    getProgram(card.programId, { cached: true }),
    openValue<string>('delivery-code-v1', stored.sealedCode, card.id),
  ]);
  let { delivery } = stored;
  if (delivery.status !== 'CLAIMED') {
    const changes = {
      status: 'CLAIMED',
      claimedAt: now.toISOString(),
      updatedAt: now.toISOString(),
    } as const;
    if (await changeDelivery(delivery, changes, CLAIMABLE)) {
      delivery = { ...delivery, ...changes, version: delivery.version + 1 };
    }
  }
  logger.info('E-gift link opened', { cardId: card.id, opens: opened.opens, status: delivery.status });
  return { card, program, code, delivery };
}
