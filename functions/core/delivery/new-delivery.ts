import type { Actor } from '../ledger';
import type { Delivery, DeliveryRecipient } from './delivery';

export interface DeliveryOrder {
  readonly recipient: DeliveryRecipient | null;
  readonly senderName: string;
  readonly message?: string;
  readonly designId?: string;
  /** UTC instant it goes out (now for an immediate delivery). */
  readonly sendAt: Date;
  readonly timeZone: string;
}

/** The delivery of a card being issued: SCHEDULED for its time, or LINK_ISSUED when nothing is sent. */
export function newDelivery(
  card: { readonly id: string; readonly programId: string; readonly merchantId?: string },
  order: DeliveryOrder,
  createdBy: Pick<Actor, 'type' | 'id'>,
  now: Date,
  token?: { readonly hash: string; readonly expiresAt: string },
): Delivery {
  return {
    cardId: card.id,
    programId: card.programId,
    ...(card.merchantId ? { merchantId: card.merchantId } : {}),
    status: token ? 'LINK_ISSUED' : 'SCHEDULED',
    recipient: order.recipient,
    senderName: order.senderName,
    ...(order.message ? { message: order.message } : {}),
    ...(order.designId ? { designId: order.designId } : {}),
    sendAt: order.sendAt.toISOString(),
    timeZone: order.timeZone,
    sends: 0,
    ...(token ? { tokenHash: token.hash, tokenExpiresAt: token.expiresAt } : {}),
    version: 1,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    createdBy: { type: createdBy.type, id: createdBy.id },
  };
}
