import * as z from 'zod';
import { actorSchema, count, isoTime, minor } from './common';

/** Physical card production: printers, orders, their printer files, cartons, shipments, store inventory. */
const packaging = z.enum(['ORDERED', 'PRINTED', 'SHIPPED', 'RECEIVED']);
const cartonStatus = z.enum(['ORDERED', 'PRINTED', 'SHIPPED', 'RECEIVED', 'LOST']);
const step = <S extends z.ZodType>(status: S) => z.object({ status, by: actorSchema, at: isoTime });

export const printerSchema = z.object({
  id: z.string(),
  name: z.string(),
  fingerprint: z.string().describe('of the OpenPGP public key files are encrypted to'),
  createdAt: isoTime,
});

export const productionOrderSchema = z.object({
  id: z.string(),
  programId: z.string(),
  count,
  denomination: minor.nullable().describe('null: open value, the amount is paid at activation'),
  withPin: z.boolean(),
  artworkRef: z.string(),
  printerId: z.string(),
  recipientFingerprint: z.string(),
  layout: z.enum(['CSV', 'FIXED_WIDTH']),
  cartonCards: count,
  cartons: count,
  magstripe: z.object({ serviceCode: z.string(), discretionaryData: z.string().optional() }).nullable(),
  qrUrlTemplate: z.string().nullable(),
  generation: z.enum(['QUEUED', 'RUNNING', 'DONE', 'FAILED']),
  progress: z.object({ chunks: count, chunksDone: count, cards: count, cardsDone: count }),
  status: packaging,
  history: z.array(step(packaging)),
  createdBy: actorSchema,
  createdAt: isoTime,
  completedAt: isoTime.nullable(),
  error: z.string().nullable(),
});

export const printerFileLinksSchema = z.object({
  orderId: z.string(),
  recipientFingerprint: z.string(),
  expiresAt: isoTime,
  files: z.array(
    z.object({
      name: z.string(),
      firstSequence: count,
      lastSequence: count,
      rows: count,
      bytes: count,
      sha256: z.string(),
      url: z.string().describe('a presigned GET, valid for minutes'),
    }),
  ),
});

export const cartonSchema = z.object({
  orderId: z.string(),
  carton: count,
  firstSequence: count,
  lastSequence: count,
  status: cartonStatus,
  history: z.array(step(cartonStatus)),
  shipmentId: z.string().nullable(),
  storeId: z.string().nullable(),
});

export const cartonDeactivationSchema = z.object({
  carton: cartonSchema,
  deactivated: count.describe('cards still PENDING, now DEACTIVATED'),
  alreadyLive: count.describe('cards already sold (ACTIVE or BLOCKED), left as they are'),
});

export const shipmentSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  storeId: z.string(),
  cartons: z.array(count),
  status: z.enum(['SHIPPED', 'RECEIVED']),
  history: z.array(step(z.enum(['SHIPPED', 'RECEIVED']))),
  createdAt: isoTime,
});

export const storeInventorySchema = z.object({
  storeId: z.string(),
  cartons: z.object({ shipped: count, received: count, lost: count }),
  cards: z.object({ received: count, activated: count, pending: count, deactivated: count }),
});
