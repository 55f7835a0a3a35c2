import * as z from 'zod';
import { CARD_STATES } from '../../core/card-policy';
import { CHANNELS, ENTRY_TYPES } from '../../core/ledger';
import { actorSchema, isoTime, minor } from './common';

/** Wallet passes (messages, links, Apple's web service) and the card holder's portal. */
export const walletMessageSchema = z.object({
  id: z.string(),
  cardId: z.string().nullable(),
  programId: z.string().nullable(),
  header: z.string(),
  body: z.string(),
  actor: actorSchema,
  createdAt: isoTime,
});

export const googleSaveLinkSchema = z.object({
  saveUrl: z.string().describe('a Save to Google Wallet link (a signed JWT)'),
});

/** Apple's PassKit web service: the passes of a device updated since a tag. */
export const applePassUpdatesSchema = z.object({
  serialNumbers: z.array(z.string()),
  lastUpdated: z.string().describe('the tag to send as passesUpdatedSince next time'),
});

/** What a holder sees of their card: no ids of merchants, actors or staff reasons. */
export const holderCardSchema = z.object({
  last4: z.string(),
  status: z.enum(CARD_STATES),
  currency: z.string(),
  balance: minor,
  available: minor,
  expiresAt: isoTime.nullable(),
  programName: z.string(),
});

export const portalBalanceSchema = z.object({
  card: holderCardSchema,
  transactions: z.array(
    z.object({
      type: z.enum(ENTRY_TYPES),
      amount: minor,
      balanceAfter: minor,
      channel: z.enum(CHANNELS),
      createdAt: isoTime,
    }),
  ),
  walletToken: z.string().describe('for the wallet links; lasts 15 minutes'),
});

export const portalTransferSchema = z.object({
  card: holderCardSchema,
  destination: holderCardSchema,
  amount: minor.describe('moved'),
});
