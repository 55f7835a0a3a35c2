import * as z from 'zod';
import { CARD_STATES } from '../../core/card-policy';
import { CHANNELS, ENTRY_TYPES } from '../../core/ledger';
import { isoTime, minor } from './common';

export { pageSchema } from './common';

/** Cards, their ledger entries and holds: the views of functions/http/views.ts. */

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
  actor: z.object({
    type: z.enum(['merchant', 'staff', 'system', 'holder']),
    id: z.string().nullable().describe("null on another merchant's entry"),
  }),
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

export const transferSchema = cardChangeSchema.extend({ destination: cardChangeSchema });

export const issuedCardSchema = z.object({
  card: cardSchema,
  code: z.string().describe('the full code: shown only here'),
  transactions: z.array(transactionSchema),
});

/** A reversal's outcome: NOTHING_TO_REVERSE has no entries and no card. */
export const reversalSchema = z.object({
  status: z.enum(['REVERSED', 'ALREADY_REVERSED', 'NOTHING_TO_REVERSE']),
  reversed: transactionSchema.nullable(),
  reversal: transactionSchema.nullable(),
  card: cardSchema.nullable().describe('the card after the reversal (REVERSED only)'),
});

/** Customer care's view of a card's PIN: never the PIN or its hash. */
export const pinStateSchema = z.object({
  set: z.boolean(),
  failures: z.number().int(),
  maxFailures: z.number().int(),
  locked: z.boolean(),
  updatedAt: isoTime.nullable(),
});

export const walletRegistrationsSchema = z.object({
  apple: z.object({ passIssued: z.boolean(), devices: z.number().int() }),
  google: z.object({ objectSaved: z.boolean() }),
});
