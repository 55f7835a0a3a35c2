import * as z from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../../core/webhook-events';
import { DELIVERY_STATUSES } from '../../core/webhook-model';
import { cardSchema, transactionSchema } from './cards';
import { isoTime } from './common';

/** Merchants' webhook endpoints and their deliveries. */
export const webhookSchema = z.object({
  id: z.string(),
  merchantId: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  createdAt: isoTime,
  updatedAt: isoTime,
  secretRotatedAt: isoTime.nullable(),
  previousSecretExpiresAt: isoTime.nullable(),
});

export const webhookCreatedSchema = webhookSchema.extend({
  secret: z.string().describe('the signing secret: shown only here'),
});

export const webhookSecretSchema = z.object({
  secret: z.string().describe('the new signing secret: shown only here'),
  previousSecretExpiresAt: isoTime.describe('the old secret keeps signing until then'),
});

/** The event a delivery carries, as the endpoint receives it. */
export const webhookEventSchema = z.object({
  id: z.string(),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  createdAt: isoTime,
  data: z.object({ card: cardSchema, transaction: transactionSchema }),
});

export const webhookDeliverySchema = z.object({
  id: z.string(),
  webhookId: z.string(),
  eventId: z.string(),
  eventType: z.enum(WEBHOOK_EVENT_TYPES),
  cardId: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  createdAt: isoTime,
  deadline: isoTime,
  nextAttemptAt: isoTime.nullable(),
  lastAttemptAt: isoTime.nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: isoTime.nullable(),
  deadAt: isoTime.nullable(),
  redrivenAt: isoTime.nullable(),
  event: webhookEventSchema,
});
