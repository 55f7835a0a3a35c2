import type { Delivery, DeliveryStatus } from '../core/delivery/delivery';
import type { MessageEvent } from '../core/delivery/ses-event';
import { byMessage, changeDelivery, deliveryCardByMessage, findDelivery, notDue } from '../store/deliveries';

/** Which states each outcome may mark: a bounce or complaint after a claim still counts; delivery does not. */
const FROM: Record<MessageEvent['outcome'], readonly DeliveryStatus[]> = {
  DELIVERED: ['SENDING', 'SENT'],
  BOUNCED: ['SENDING', 'SENT', 'DELIVERED'],
  COMPLAINED: ['SENDING', 'SENT', 'DELIVERED', 'CLAIMED'],
};

/**
 * Marks the delivery whose current message the event is about (an event that comes while the delivery is
 * still SENDING is about the message being sent: SES may answer before the sender recorded its id). An event about an earlier message (the
 * delivery was resent since) or one already applied changes nothing: SNS delivers at least once.
 */
export async function markMessageEvent(event: MessageEvent): Promise<'marked' | 'ignored'> {
  // The send's reference tag names the card; SES may report before the sender recorded the message id.
  const cardId = event.cardId ?? (await deliveryCardByMessage(event.providerMessageId));
  if (!cardId) return 'ignored';
  for (let attempt = 0; attempt < 3; attempt++) {
    const stored = await findDelivery(cardId);
    const delivery: Delivery | undefined = stored?.delivery;
    if (!delivery) return 'ignored';
    // About an earlier message (resent since): the delivery's current message decides. While SENDING,
    // the id still recorded is the previous message's (a resend): its late events change nothing; any
    // other id is the message being sent, reported before the sender recorded it.
    const sending = delivery.status === 'SENDING';
    const current = sending
      ? delivery.providerMessageId !== event.providerMessageId
      : delivery.providerMessageId === event.providerMessageId;
    if (!current) return 'ignored';
    if (!FROM[event.outcome].includes(delivery.status)) return 'ignored';
    const changes = {
      status: event.outcome,
      providerMessageId: event.providerMessageId,
      // Ahead of the sender, whose SENT no longer applies: the event records the send for it.
      ...(sending
        ? { sends: delivery.sends + 1, sentAt: event.at, ...byMessage(cardId, event.providerMessageId) }
        : {}),
      ...notDue,
      updatedAt: new Date().toISOString(),
      ...(event.outcome === 'DELIVERED' ? { deliveredAt: event.at } : { bouncedAt: event.at }),
      ...(event.detail ? { problem: `${event.outcome.toLowerCase()}: ${event.detail}` } : {}),
    };
    if (await changeDelivery(delivery, changes, FROM[event.outcome])) return 'marked';
  }
  return 'ignored';
}
