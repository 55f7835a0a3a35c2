import * as z from 'zod';
import { isoDate, isoTime, minor } from './common';

/** Loyalty programs, members, points, rewards, promotions and the loyalty report (functions/api/loyalty.ts, members.ts). */
const tierSchema = z.object({
  name: z.string(),
  minPoints: z.number().int(),
  earnMultiplierPercent: z.number().int(),
});

export const loyaltyProgramSchema = z.object({
  id: z.string(),
  name: z.string(),
  cardProgramIds: z.array(z.string()),
  currency: z.string(),
  minorPerUnit: z.number().int(),
  earn: z.object({
    pointsPerUnitRedeemed: z.number().int(),
    pointsPerUnitLoaded: z.number().int(),
    activationBonus: z.number().int(),
    firstUseBonus: z.number().int(),
    campaigns: z.array(
      z.object({ name: z.string(), from: isoTime, to: isoTime, extraPointsPerUnit: z.number().int() }),
    ),
    dailyCapPoints: z.number().int(),
  }),
  tiers: z.array(tierSchema),
  tierWindowDays: z.number().int(),
  expireAfterMonths: z.number().int().optional(),
  pointValueMilliMinor: z.number().int(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const memberSchema = z.object({
  id: z.string(),
  loyaltyProgramId: z.string(),
  status: z.enum(['ACTIVE', 'DELETED']),
  channel: z.enum(['EMAIL', 'SMS']),
  contact: z.string().optional(),
  consent: z.object({ termsVersion: z.string(), acceptedAt: isoTime, marketing: z.boolean() }).optional(),
  tier: z.string(),
  tierEarnedPoints: z.number().int(),
  pointsBalance: z.number().int(),
  createdAt: isoTime,
});

export const pointsEntrySchema = z.object({
  id: z.string(),
  seq: z.number().int(),
  type: z.enum(['EARN', 'SPEND', 'REVERSE_EARN', 'EXPIRE', 'ADJUST']),
  points: z.number().int(),
  balanceAfter: z.number().int(),
  sourceId: z.string().optional(),
  reason: z.string().optional(),
  createdAt: isoTime,
});

export const linkedCardSchema = z.object({ cardId: z.string(), last4: z.string(), linkedAt: isoTime });

export const memberExportSchema = z.object({
  member: memberSchema,
  points: z.object({ balance: z.number().int(), entries: z.array(pointsEntrySchema) }),
  cards: z.array(linkedCardSchema),
  exportedAt: isoTime,
});

export const signInStartedSchema = z.object({ challengeId: z.string(), expiresAt: isoTime });
export const sessionSchema = z.object({ token: z.string(), expiresAt: isoTime, memberId: z.string() });
export const revokedSchema = z.object({ revoked: z.number().int() });

export const rewardSchema = z.object({
  id: z.string(),
  loyaltyProgramId: z.string(),
  name: z.string(),
  pointsCost: z.number().int(),
  valueMinor: minor,
  active: z.boolean(),
  createdAt: isoTime,
});

export const rewardRedemptionSchema = z.object({
  rewardId: z.string(),
  cardId: z.string(),
  transactionId: z.string(),
  pointsSpent: z.number().int(),
  valueMinor: minor,
  currency: z.string(),
  pointsBalanceAfter: z.number().int(),
  cardBalanceAfter: minor,
  createdAt: isoTime,
});

export const rewardReversalSchema = z.object({
  status: z.enum(['REVERSED', 'ALREADY_REVERSED', 'NOTHING_TO_REVERSE']),
  transactionId: z.string().optional(),
  reversalTransactionId: z.string().optional(),
  pointsReturned: z.number().int().optional(),
});

const countsSchema = z.object({
  examined: z.number().int(),
  targeted: z.number().int(),
  delivered: z.number().int(),
  messages: z.number().int(),
  capped: z.number().int(),
  withoutCards: z.number().int(),
});

export const promotionSchema = z.object({
  id: z.string(),
  loyaltyProgramId: z.string(),
  header: z.string(),
  body: z.string(),
  target: z.object({
    tiers: z.array(z.string()).optional(),
    activeWithinDays: z.number().int().optional(),
    minPointsBalance: z.number().int().optional(),
  }),
  maxPerMemberPerDay: z.number().int(),
  status: z.enum(['QUEUED', 'SENDING', 'SENT']),
  counts: countsSchema,
  pagesDone: z.number().int(),
  createdAt: isoTime,
  startedAt: isoTime.optional(),
  sentAt: isoTime.optional(),
});

const loyaltyDaySchema = z.object({
  day: isoDate,
  earned: z.number().int(),
  spent: z.number().int(),
  expired: z.number().int(),
  reversed: z.number().int(),
  adjusted: z.number().int(),
  outstandingPoints: z.number().int(),
  outstandingValueMinor: minor,
});

export const loyaltyReportSchema = z.object({
  items: z.array(
    z.object({
      loyaltyProgramId: z.string(),
      currency: z.string(),
      days: z.array(loyaltyDaySchema),
      outstandingPoints: z.number().int(),
      outstandingValueMinor: minor,
    }),
  ),
});
