import * as z from 'zod';
import { MERCHANT_SCOPES } from '../../core/access';
import { CODE_ALPHABETS } from '../../core/card-code';
import { MERCHANT_USAGE_PLANS } from '../../core/usage-plans';
import { isoTime, minor } from './common';

/** Programs (the rules of their cards), merchants and their API keys, as staff see them. */
const ruleSwitch = { enabled: z.boolean(), block: z.boolean() };
const velocity = z.object({
  ...ruleSwitch,
  windowMinutes: z.number().int(),
  maxCount: z.number().int(),
  maxAmount: minor,
});

const checkLimitsSchema = z.object({
  failuresPerCaller: z.number().int().optional(),
  failuresPerMerchant: z.number().int().optional(),
});

export const programSchema = z.object({
  id: z.string(),
  name: z.string(),
  currency: z.string(),
  codeFormat: z.object({
    alphabet: z.enum(CODE_ALPHABETS as ['NUMERIC_LUHN', 'UNAMBIGUOUS']),
    length: z.number().int(),
    prefix: z.string(),
  }),
  maxCards: z.number().int(),
  pinPolicy: z.enum(['NEVER', 'ALWAYS', 'ONLINE_ONLY']),
  minLoad: minor,
  maxLoad: minor,
  maxBalance: minor,
  expiryPolicy: z.discriminatedUnion('type', [
    z.object({ type: z.literal('NONE') }),
    z.object({ type: z.literal('MONTHS_AFTER_ISSUE'), months: z.number().int() }),
    z.object({ type: z.literal('MONTHS_AFTER_LAST_LOAD'), months: z.number().int() }),
    z.object({ type: z.literal('US_CARD_ACT') }),
  ]),
  cashOut: z.object({ enabled: z.boolean(), maxBalance: minor.optional() }),
  deactivation: z.enum(['ALLOW_WITH_BALANCE', 'REQUIRE_ZERO_BALANCE']),
  fraudRules: z.object({
    REDEMPTION_VELOCITY_CARD: velocity,
    REDEMPTION_VELOCITY_MERCHANT: velocity,
    DRAIN_AFTER_ACTIVATION: z.object({
      ...ruleSwitch,
      withinMinutes: z.number().int(),
      percent: z.number().int(),
    }),
    LARGE_LOAD: z.object({ ...ruleSwitch, threshold: minor }),
    MANY_MERCHANTS: z.object({
      ...ruleSwitch,
      windowHours: z.number().int(),
      maxMerchants: z.number().int(),
    }),
  }),
  checkLimits: checkLimitsSchema.optional(),
  designs: z.array(z.string()).optional().describe('the e-gift design ids orders and bulk rows may name'),
  createdAt: isoTime,
  updatedAt: isoTime,
});

/** What staff see of a merchant: its usage tier, never its usage identifier. */
export const merchantSchema = z.object({
  id: z.string(),
  name: z.string(),
  programIds: z.array(z.string()),
  usagePlan: z.enum(MERCHANT_USAGE_PLANS),
  checkLimits: checkLimitsSchema.optional(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

/** An API key's record: never the key, except once when it is made (apiKeyCreatedSchema). */
export const apiKeySchema = z.object({
  id: z.string(),
  merchantId: z.string(),
  scopes: z.array(z.enum(MERCHANT_SCOPES as ['cards:read', 'cards:issue', 'cards:transact'])),
  description: z.string().optional(),
  createdAt: isoTime,
  lastUsedAt: isoTime.optional(),
  revokedAt: isoTime.optional(),
  expiresAt: isoTime.optional().describe('a rotated key works until then'),
  rotatedFrom: z.string().optional(),
  rotatedTo: z.string().optional(),
});

export const apiKeyCreatedSchema = apiKeySchema.extend({
  apiKey: z.string().describe('the key itself: shown only here'),
});
