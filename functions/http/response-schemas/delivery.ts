import * as z from 'zod';
import { DELIVERY_STATUSES } from '../../core/delivery/delivery';
import { cardSchema } from './cards';
import { isoTime } from './common';
import { holderCardSchema } from './wallet';

/** E-gift deliveries (issue #19): the order's answer, a card's delivery status, the claim page. */
export const deliverySchema = z.object({
  cardId: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  recipient: z
    .object({ name: z.string().nullable(), email: z.string(), phone: z.string().nullable() })
    .nullable(),
  senderName: z.string(),
  message: z.string().nullable(),
  designId: z.string().nullable(),
  sendAt: isoTime,
  timeZone: z.string(),
  sends: z.number().int().min(0),
  sentAt: isoTime.nullable(),
  deliveredAt: isoTime.nullable(),
  bouncedAt: isoTime.nullable(),
  claimedAt: isoTime.nullable(),
  cancelledAt: isoTime.nullable(),
  problem: z.string().nullable(),
  linkExpiresAt: isoTime.nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const egiftOrderSchema = z.object({ card: cardSchema, delivery: deliverySchema });

export const claimedCardSchema = z.object({
  card: holderCardSchema,
  code: z.string().describe('the card code, shown to the holder of the claim link'),
  from: z.string(),
  message: z.string().nullable(),
  walletToken: z.string().describe('for the wallet buttons: /v1/portal/wallet/{apple|google}/{walletToken}'),
});
