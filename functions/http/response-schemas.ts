import * as z from 'zod';
import { CARD_STATES } from '../core/card-policy';
import { CHANNELS, ENTRY_TYPES } from '../core/ledger';

/**
 * The answers' schemas, for the OpenAPI document (and through it the web apps' typed client): each
 * mirrors a view in functions/http/views.ts (test/integration/card-reissue.test.ts parses real answers'
 * views with them and compares their keys).
 */
const isoTime = z.string().describe('ISO 8601 UTC');
const minor = z.number().int().describe('minor units');

export const cardSchema = z.object({
  id: z.string(),
  programId: z.string(),
  type: z.enum(['DIGITAL', 'PHYSICAL']),
  status: z.enum(CARD_STATES),
  currency: z.string(),
  balance: minor,
  available: minor,
  last4: z.string(),
  expiresAt: isoTime.nullable(),
  createdAt: isoTime,
  activatedAt: isoTime.nullable(),
  updatedAt: isoTime,
  customerId: z.string().nullable(),
  merchantId: z.string().nullable(),
  statusReason: z.string().nullable(),
  recipient: z.record(z.string(), z.unknown()).nullable(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

export const transactionSchema = z.object({
  id: z.string(),
  cardId: z.string(),
  type: z.enum(ENTRY_TYPES),
  amount: minor,
  currency: z.string(),
  balanceAfter: minor,
  availableAfter: minor,
  merchantId: z.string().nullable(),
  actor: z.object({ type: z.string(), id: z.string().nullable() }),
  reason: z.string().nullable(),
  reference: z.string().nullable(),
  relatedTransactionId: z.string().nullable(),
  channel: z.enum(CHANNELS),
  locationId: z.string().nullable(),
  terminalId: z.string().nullable(),
  createdAt: isoTime,
});

export const holdSchema = z.object({
  id: z.string(),
  cardId: z.string(),
  amount: minor,
  currency: z.string(),
  status: z.string(),
  expiresAt: isoTime,
  createdAt: isoTime,
  transactionId: z.string(),
  capturedAmount: minor.nullable(),
  closedAt: isoTime.nullable(),
  closingTransactionId: z.string().nullable(),
  reference: z.string().nullable(),
});

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** What a card verb answers: the entry it wrote and the card after it (and the hold, for holds). */
export const cardChangeSchema = z.object({
  transaction: transactionSchema,
  card: cardSchema,
  hold: holdSchema.optional(),
});

export const reissueSchema = z.object({
  card: cardSchema.describe('the old card, deactivated'),
  replacement: z.object({
    card: cardSchema,
    code: z.string().describe('the new card’s code: shown only here'),
  }),
  transactions: z.array(transactionSchema).describe('every entry written, old card first'),
});
