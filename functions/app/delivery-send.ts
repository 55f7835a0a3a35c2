import { newClaimToken } from '../core/delivery/claim-token';
import { type Delivery, SENDING_LEASE_MS } from '../core/delivery/delivery';
import { egiftMessage } from '../core/delivery/egift-message';
import { maskedAddress, type OutboundMessage } from '../core/outbound-message';
import { logger } from '../logger';
import { findCard } from '../store/card-reads';
import {
  byMessage,
  changeDelivery,
  dueAt,
  dueDeliveryCards,
  findDelivery,
  notDue,
  tokenSwap,
} from '../store/deliveries';
import { sendMessage } from '../store/message-sender';
import { getProgram } from '../store/programs';
import { claimLinkFor } from './claim-links';

/** Deliveries one run of the sender job sends at most (the next run takes the rest). */
export const DELIVERIES_PER_RUN = 500;
const SEND_CONCURRENCY = 8;

export type SendOutcome = 'sent' | 'failed' | 'not-due';

/** Due: SCHEDULED and its time has come, or SENDING and the sender that took it is gone (its lease passed). */
function isDue(delivery: Delivery, now: Date): boolean {
  if (delivery.status === 'SCHEDULED') return delivery.sendAt <= now.toISOString();
  return delivery.status === 'SENDING' && Date.parse(delivery.updatedAt) + SENDING_LEASE_MS <= now.getTime();
}

/**
 * Primary course: take the delivery (SCHEDULED -> SENDING, with a new claim token whose hash replaces the
 * old one in the same write, so only the link in this message opens the card), send the e-mail (and the
 * text message when there is a phone number), then mark it SENT with the provider's message id, which
 * SES's bounce and complaint events name. Taking it is conditional on the version read: two senders (a
 * job and an order, two job runs) never both send it. A sender that dies after taking it leaves it
 * SENDING; after the lease the job sends it again (at least once: SES has no idempotency key).
 */
export async function sendDelivery(cardId: string, now: Date): Promise<SendOutcome> {
  const stored = await findDelivery(cardId);
  if (!stored || !isDue(stored.delivery, now) || !stored.delivery.recipient) return 'not-due';
  const { delivery } = stored;
  const recipient = stored.delivery.recipient;
  const token = newClaimToken(now);
  const taken = await changeDelivery(
    delivery,
    {
      status: 'SENDING',
      tokenHash: token.hash,
      tokenExpiresAt: token.expiresAt,
      updatedAt: now.toISOString(),
      // Found again by the job if this sender dies before it marks the delivery sent.
      ...dueAt(cardId, new Date(now.getTime() + SENDING_LEASE_MS).toISOString()),
    },
    ['SCHEDULED', 'SENDING'],
    tokenSwap(cardId, token, delivery.tokenHash),
  );
  if (!taken) return 'not-due';
  const sending: Delivery = { ...delivery, status: 'SENDING', version: delivery.version + 1 };
  const card = await findCard(cardId);
  if (!card) throw new Error(`Delivery of card ${cardId}: the card is gone`);
  const program = await getProgram(card.programId, { cached: true });
  const words = egiftMessage({
    ...(recipient.name ? { recipientName: recipient.name } : {}),
    senderName: delivery.senderName,
    ...(delivery.message ? { message: delivery.message } : {}),
    amountMinor: card.balance,
    currency: card.currency,
    programName: program.name,
    link: claimLinkFor(token.token),
    linkExpiresAt: token.expiresAt,
  });
  const email: OutboundMessage = {
    channel: 'EMAIL',
    to: recipient.email,
    subject: words.subject,
    text: words.text,
    html: words.html,
    purpose: 'EGIFT',
    reference: cardId,
  };
  let providerMessageId: string;
  try {
    ({ providerMessageId } = await sendMessage(email));
    if (recipient.phone) {
      const text: OutboundMessage = {
        channel: 'SMS',
        to: recipient.phone,
        subject: '',
        text: words.sms,
        purpose: 'EGIFT',
        reference: cardId,
      };
      await sendMessage(text).catch((error: unknown) =>
        logger.warn('E-gift text message not sent', { cardId, error: error as Error }),
      );
    }
  } catch (error) {
    logger.warn('E-gift message not sent', { cardId, error: error as Error });
    await changeDelivery(
      sending,
      {
        status: 'FAILED',
        problem: 'the mail provider refused the message',
        updatedAt: now.toISOString(),
        ...notDue,
      },
      ['SENDING'],
    );
    return 'failed';
  }
  await changeDelivery(
    sending,
    {
      status: 'SENT',
      sentAt: now.toISOString(),
      sends: delivery.sends + 1,
      providerMessageId,
      updatedAt: now.toISOString(),
      problem: undefined,
      ...notDue,
      ...byMessage(cardId, providerMessageId),
    },
    ['SENDING'],
  );
  logger.info('E-gift sent', {
    cardId,
    to: maskedAddress(recipient.email),
    providerMessageId,
    sends: delivery.sends + 1,
  });
  return 'sent';
}

/** The sender job: every delivery due at `now`, a bounded number a run. */
export async function sendDueDeliveries(
  now: Date = new Date(),
): Promise<{ examined: number; changed: number; failed: number }> {
  const cards = await dueDeliveryCards(now, DELIVERIES_PER_RUN);
  let changed = 0;
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < cards.length) {
      const cardId = cards[next++];
      if (!cardId) continue;
      try {
        const outcome = await sendDelivery(cardId, now);
        if (outcome === 'sent') changed++;
        if (outcome === 'failed') failed++;
      } catch (error) {
        failed++;
        logger.error('E-gift delivery failed', { cardId, error: error as Error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, cards.length) }, worker));
  return { examined: cards.length, changed, failed };
}
