import * as z from 'zod';
import { claimCard } from '../app/delivery-claim';
import { cancelDelivery, rescheduleDelivery, resendDelivery, visibleDelivery } from '../app/delivery-manage';
import { orderEgift } from '../app/egift-order';
import { displayStatus } from '../core/card';
import type { Delivery } from '../core/delivery/delivery';
import { isTimeZone } from '../core/delivery/zoned-time';
import { portalWalletToken } from '../core/portal-wallet-token';
import { answerOf, apiHandler, type Operations, operation } from '../http/api-handler';
import { actorOf, type Principal, programVisibility } from '../http/auth';
import { operationContext } from '../http/operation-context';
import { pathId } from '../http/params';
import { claimedCardSchema, deliverySchema, egiftOrderSchema } from '../http/response-schemas/delivery';
import { amount, entityId, metadata, safeText } from '../http/validation';
import { cardView } from '../http/views';
import { sealingPepper } from '../store/secrets';

/**
 * E-gift delivery (issue #19; docs/egift-delivery.md): order a digital card delivered to its recipient,
 * follow and manage its delivery, and the recipient's claim link (public, rate limited like lookups, and
 * every miss the same 404).
 */
const cardId = (params: Readonly<Record<string, string>>) => pathId(params, 'cardId', 'gc', 'The delivery');

const visibility = (principal: Principal) => (delivery: Delivery) =>
  principal.type === 'staff' ||
  (principal.type === 'merchant' && delivery.merchantId === principal.merchant.id);

const phone = z.string().regex(/^\+[1-9][0-9]{1,14}$/, 'E.164: + and country code, up to 15 digits');
const deliverAt = z
  .object({
    localTime: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, "YYYY-MM-DDTHH:mm, the recipient's wall clock"),
    timeZone: z.string().max(64).refine(isTimeZone, 'an IANA time zone, e.g. Europe/Paris'),
  })
  .strict();

const orderBody = z
  .object({
    programId: entityId('prg'),
    amount,
    recipient: z
      .object({ name: safeText(200).optional(), email: z.email().max(254), phone: phone.optional() })
      .strict(),
    senderName: safeText(200),
    message: safeText(1000).optional(),
    designId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional(),
    deliverAt: deliverAt.optional().describe('absent: now'),
    metadata: metadata.optional(),
  })
  .strict();

function deliveryView(delivery: Delivery) {
  const { recipient } = delivery;
  return {
    cardId: delivery.cardId,
    status: delivery.status,
    recipient: recipient
      ? { name: recipient.name ?? null, email: recipient.email, phone: recipient.phone ?? null }
      : null,
    senderName: delivery.senderName,
    message: delivery.message ?? null,
    designId: delivery.designId ?? null,
    sendAt: delivery.sendAt,
    timeZone: delivery.timeZone,
    sends: delivery.sends,
    sentAt: delivery.sentAt ?? null,
    deliveredAt: delivery.deliveredAt ?? null,
    bouncedAt: delivery.bouncedAt ?? null,
    claimedAt: delivery.claimedAt ?? null,
    cancelledAt: delivery.cancelledAt ?? null,
    problem: delivery.problem ?? null,
    linkExpiresAt: delivery.tokenExpiresAt ?? null,
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
  };
}

export const operations: Operations = {
  'POST /v1/egift-orders': operation({
    summary:
      'Order an e-gift: a digital card, active, delivered to its recipient now or at a time (no code here)',
    body: orderBody,
    response: egiftOrderSchema,
    status: 201,
    run: async (request) => {
      const { body } = request;
      const committed = await orderEgift(
        {
          programId: body.programId,
          amount: body.amount,
          recipient: {
            ...(body.recipient.name ? { name: body.recipient.name } : {}),
            email: body.recipient.email,
            ...(body.recipient.phone ? { phone: body.recipient.phone } : {}),
          },
          senderName: body.senderName,
          ...(body.message ? { message: body.message } : {}),
          ...(body.designId ? { designId: body.designId } : {}),
          ...(body.deliverAt ? { deliverAt: body.deliverAt } : {}),
          ...(body.metadata ? { metadata: body.metadata } : {}),
        },
        operationContext(request),
        request.idempotency,
        programVisibility(request.principal),
      );
      return answerOf(committed, (result) => ({
        card: cardView(result.card, request.now),
        delivery: deliveryView(result.delivery),
      }));
    },
  }),
  'GET /v1/cards/{cardId}/delivery': operation({
    summary:
      "A card's e-gift delivery: status (scheduled, sent, delivered, bounced, claimed...), recipient, times",
    response: deliverySchema,
    run: async ({ params, principal }) =>
      deliveryView(await visibleDelivery(cardId(params), visibility(principal))),
  }),
  'PATCH /v1/cards/{cardId}/delivery': operation({
    summary: "Move a scheduled delivery to another time (in the recipient's time zone)",
    body: z.object({ deliverAt }).strict(),
    response: deliverySchema,
    run: async ({ params, principal, body, now }) =>
      deliveryView(
        await rescheduleDelivery(
          cardId(params),
          body.deliverAt,
          actorOf(principal),
          visibility(principal),
          now,
        ),
      ),
  }),
  'POST /v1/cards/{cardId}/delivery/cancel': operation({
    summary: 'Cancel a delivery that has not gone out (the card stays)',
    body: z.object({ reason: safeText(500).optional() }).strict(),
    response: deliverySchema,
    run: async ({ params, principal, body, now }) =>
      deliveryView(
        await cancelDelivery(cardId(params), body.reason, actorOf(principal), visibility(principal), now),
      ),
  }),
  'POST /v1/cards/{cardId}/delivery/resend': operation({
    summary:
      'Support: send the delivery again, to the same or a corrected address (audited); the old link dies',
    body: z
      .object({
        reason: safeText(500),
        name: safeText(200).optional(),
        email: z.email().max(254).optional(),
        phone: phone.optional(),
      })
      .strict(),
    response: deliverySchema,
    run: async ({ params, principal, body, now }) => {
      const { reason, ...correction } = body;
      const { delivery } = await resendDelivery(
        cardId(params),
        correction,
        reason,
        actorOf(principal),
        visibility(principal),
        now,
      );
      return deliveryView(delivery);
    },
  }),
  'POST /v1/portal/claim': operation({
    summary: "Card holder: open an e-gift's claim link: the card's code, balance and wallet buttons",
    body: z.object({ token: z.string().min(1).max(128) }).strict(),
    response: claimedCardSchema,
    run: async ({ body, now }) => {
      const claimed = await claimCard(body.token, now);
      return {
        card: {
          last4: claimed.card.last4,
          status: displayStatus(claimed.card, now),
          currency: claimed.card.currency,
          balance: claimed.card.balance,
          available: claimed.card.available,
          expiresAt: claimed.card.expiresAt ?? null,
          programName: claimed.program.name,
        },
        code: claimed.code,
        from: claimed.delivery.senderName,
        message: claimed.delivery.message ?? null,
        walletToken: portalWalletToken(await sealingPepper(), claimed.card.id, now),
      };
    },
  }),
};

export const handler = apiHandler('delivery', operations);
