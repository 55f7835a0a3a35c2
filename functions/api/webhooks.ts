import * as z from 'zod';
import { config } from '../config';
import { DomainError, notFound, validationFailed } from '../core/errors';
import { WEBHOOK_EVENT_TYPES } from '../core/webhook-events';
import { DELIVERY_STATUSES, type Webhook, type WebhookDelivery } from '../core/webhook-model';
import { checkWebhookUrl } from '../core/webhook-url';
import { apiHandler, type OperationRequest, type Operations, operation } from '../http/api-handler';
import { auditOf, type Principal } from '../http/auth';
import { pathId } from '../http/params';
import { pageSchema } from '../http/response-schemas/common';
import {
  webhookCreatedSchema,
  webhookDeliverySchema,
  webhookSchema,
  webhookSecretSchema,
} from '../http/response-schemas/webhooks';
import { emptyBody, entityId, listQuery, safeText } from '../http/validation';
import { pageView } from '../http/views';
import {
  createWebhook,
  deleteWebhook,
  findDelivery,
  findWebhook,
  listDeliveries,
  listWebhooks,
  redriveDelivery,
  rotateWebhookSecret,
} from '../store/webhooks';

/**
 * Merchant webhooks. A merchant manages its own endpoints (scope cards:read: an endpoint receives
 * events about the cards the key could read anyway). Staff: admin and ops list any merchant's
 * endpoints with `?merchantId=` and see and re-drive deliveries; admin may delete an endpoint. Only the
 * merchant creates endpoints and rotates secrets, since only it is shown the secret.
 * Another merchant's endpoint is NOT_FOUND, like an unknown one.
 */
const webhookView = (webhook: Webhook) => ({
  id: webhook.id,
  merchantId: webhook.merchantId,
  url: webhook.url,
  events: webhook.events,
  createdAt: webhook.createdAt,
  updatedAt: webhook.updatedAt,
  secretRotatedAt: webhook.secretRotatedAt ?? null,
  previousSecretExpiresAt: webhook.previousSecretExpiresAt ?? null,
});

const deliveryView = (delivery: WebhookDelivery) => ({
  id: delivery.id,
  webhookId: delivery.webhookId,
  eventId: delivery.eventId,
  eventType: delivery.eventType,
  cardId: delivery.cardId,
  status: delivery.status,
  attempts: delivery.attempts,
  createdAt: delivery.createdAt,
  deadline: delivery.deadline,
  nextAttemptAt: delivery.status === 'PENDING' ? (delivery.nextAttemptAt ?? null) : null,
  lastAttemptAt: delivery.lastAttemptAt ?? null,
  lastStatusCode: delivery.lastStatusCode ?? null,
  lastError: delivery.lastError ?? null,
  deliveredAt: delivery.deliveredAt ?? null,
  deadAt: delivery.deadAt ?? null,
  redrivenAt: delivery.redrivenAt ?? null,
  event: JSON.parse(delivery.payload) as unknown,
});

const webhookUrl = z.string().transform((raw, context) => {
  const check = checkWebhookUrl(raw, { allowHttpLocalhost: config().WEBHOOKS_ALLOW_HTTP_LOCALHOST });
  if (check.ok) return check.url;
  context.addIssue({ code: 'custom', message: check.problem });
  return z.NEVER;
});

const createBody = z
  .object({
    url: webhookUrl,
    events: z
      .array(z.enum(WEBHOOK_EVENT_TYPES))
      .min(1)
      .max(WEBHOOK_EVENT_TYPES.length * 2),
  })
  .strict();

async function visibleWebhook(request: OperationRequest<unknown, unknown>): Promise<Webhook> {
  const webhook = await findWebhook(pathId(request.params, 'webhookId', 'wh', 'The webhook'));
  if (!webhook) throw notFound('The webhook');
  const { principal } = request;
  if (principal.type === 'merchant' && webhook.merchantId !== principal.merchant.id) {
    throw notFound('The webhook');
  }
  return webhook;
}

function merchantOf(principal: Principal): string {
  if (principal.type !== 'merchant') throw new DomainError('FORBIDDEN', 'Only a merchant may do this.');
  return principal.merchant.id;
}

/** Whose endpoints a list shows: the merchant's own; staff name the merchant. */
function listedMerchant(principal: Principal, merchantId: string | undefined): string {
  if (principal.type === 'merchant') {
    if (merchantId !== undefined && merchantId !== principal.merchant.id) {
      throw validationFailed([
        { field: 'query.merchantId', message: 'a merchant lists its own webhooks only' },
      ]);
    }
    return principal.merchant.id;
  }
  if (merchantId === undefined) {
    throw validationFailed([{ field: 'query.merchantId', message: 'required for staff' }]);
  }
  return merchantId;
}

export const operations: Operations = {
  'POST /v1/webhooks': operation({
    summary: 'Register a webhook endpoint (the signing secret is shown once)',
    response: webhookCreatedSchema,
    body: createBody,
    status: 201,
    run: async ({ principal, body, idempotency, now }) => {
      const created = await createWebhook(merchantOf(principal), body, idempotency, now);
      return { ...webhookView(created), secret: created.secret };
    },
  }),
  'GET /v1/webhooks': operation({
    summary: 'List webhook endpoints (staff: of the merchant in ?merchantId=)',
    response: pageSchema(webhookSchema),
    query: z.object({ ...listQuery, merchantId: entityId('mer').optional() }).strict(),
    run: async ({ principal, query }) =>
      pageView(
        await listWebhooks(listedMerchant(principal, query.merchantId), query.limit, query.cursor),
        webhookView,
      ),
  }),
  'DELETE /v1/webhooks/{webhookId}': operation({
    summary: 'Delete a webhook endpoint (staff: ?reason= is kept on the audit record)',
    status: 204,
    query: z.object({ reason: safeText(500).optional() }).strict(),
    run: async (request) => {
      const { principal, query } = request;
      // Staff deleting a merchant's endpoint leave an audit record; a merchant's own changes are its own.
      const audit = principal.type === 'staff' ? auditOf(principal, query.reason) : undefined;
      await deleteWebhook(await visibleWebhook(request), audit, request.now);
      return undefined;
    },
  }),
  'POST /v1/webhooks/{webhookId}/rotate-secret': operation({
    summary: 'Rotate the signing secret (the old one keeps signing for 24 h)',
    response: webhookSecretSchema,
    body: emptyBody,
    run: async (request) => {
      merchantOf(request.principal);
      const webhook = await visibleWebhook(request);
      return rotateWebhookSecret(webhook.id, request.idempotency, request.now);
    },
  }),
  'GET /v1/webhooks/{webhookId}/deliveries': operation({
    summary: "List an endpoint's deliveries, e.g. ?status=DEAD",
    response: pageSchema(webhookDeliverySchema),
    query: z.object({ ...listQuery, status: z.enum(DELIVERY_STATUSES).optional() }).strict(),
    run: async (request) => {
      const webhook = await visibleWebhook(request);
      const { status, limit, cursor } = request.query;
      return pageView(
        await listDeliveries(webhook.id, {
          limit,
          ...(status ? { status } : {}),
          ...(cursor ? { cursor } : {}),
        }),
        deliveryView,
      );
    },
  }),
  'POST /v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry': operation({
    summary: 'Re-drive a DEAD delivery (sent by the next retry sweep)',
    response: webhookDeliverySchema,
    body: emptyBody,
    status: 202,
    run: async (request) => {
      const webhook = await visibleWebhook(request);
      const delivery = await findDelivery(pathId(request.params, 'deliveryId', 'whd', 'The delivery'));
      if (!delivery || delivery.webhookId !== webhook.id) throw notFound('The delivery');
      return deliveryView(await redriveDelivery(delivery, request.now));
    },
  }),
};

export const handler = apiHandler('webhooks', operations);
