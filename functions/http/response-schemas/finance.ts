import * as z from 'zod';
import { AUDIT_SUBJECTS } from '../../core/audit';
import { REPORT_METRICS } from '../../core/report';
import { EXPORT_STATUSES } from '../../store/export-runs';
import { actorSchema, isoDate, isoTime, itemsSchema, minor } from './common';

/** Finance: report rows, the breakage forecast, the audit trail and the exports. */
const counters = Object.fromEntries(REPORT_METRICS.map((metric) => [metric, z.number().int()])) as Record<
  (typeof REPORT_METRICS)[number],
  z.ZodNumber
>;

export const reportRowSchema = z.object({
  currency: z.string(),
  ...counters,
  adjusted: minor.describe('signed net of adjustments'),
  adjustedCount: z.number().int(),
  openingLiability: minor,
  outstandingLiability: minor,
});

export const reportSummarySchema = z.object({
  from: isoDate,
  to: isoDate,
  ...itemsSchema(reportRowSchema).shape,
});
export const reportDailySchema = z.object({
  from: isoDate,
  to: isoDate,
  ...itemsSchema(reportRowSchema.extend({ date: isoDate })).shape,
});

const development = {
  factors: z.array(z.number()),
  observedFactors: z.number().int(),
  tailDecay: z.number().nullable(),
};
const cohortAmounts = {
  loaded: minor,
  withdrawn: minor,
  redeemed: minor,
  expired: minor,
  outstandingLiability: minor,
  expectedNetLoaded: minor,
  expectedRedemptions: minor,
  expectedBreakage: minor,
  recognisedToDate: minor,
  unrecognisedBreakage: minor,
  contractLiability: minor,
};

export const breakageReportSchema = z.object({
  currency: z.string(),
  programId: z.string().nullable(),
  asOf: z.string().describe('yyyy-mm'),
  estimable: z.boolean(),
  horizonMonths: z.number().int(),
  redemptionDevelopment: z.object({ ...development, cumulativePattern: z.array(z.number()) }),
  loadDevelopment: z.object(development),
  cohorts: z.array(
    z.object({
      cohort: z.string().describe('issue month yyyy-mm'),
      monthsObserved: z.number().int(),
      ...cohortAmounts,
      redeemedShare: z.array(z.number()),
      projectedShare: z.array(z.number()),
      breakageRate: z.number(),
    }),
  ),
  totals: z.object({ ...cohortAmounts, breakageRate: z.number() }),
  reportedLiability: minor,
});

export const auditRecordSchema = z.object({
  id: z.string(),
  at: isoTime,
  actor: actorSchema.extend({ role: z.string().nullable() }),
  action: z.string().describe('<subject>.<verb>, e.g. card.block'),
  subjectType: z.enum(AUDIT_SUBJECTS),
  subjectId: z.string(),
  cardId: z.string().nullable(),
  programId: z.string().nullable(),
  merchantId: z.string().nullable(),
  transactionId: z.string().nullable(),
  reason: z.string().nullable(),
  before: z.record(z.string(), z.unknown()).nullable().describe('null: the subject did not exist'),
  after: z.record(z.string(), z.unknown()).nullable().describe('null: the subject was deleted'),
});

export const exportStartedSchema = z.object({
  id: z.string(),
  status: z.enum(EXPORT_STATUSES),
  month: z.string().describe('yyyy-mm'),
  cutoff: isoTime,
});

export const exportRunSchema = exportStartedSchema.extend({
  periodStart: isoTime,
  timeZone: z.string(),
  region: z.string(),
  notBefore: isoTime,
  segments: z.number().int().nullable(),
  segmentsDone: z.number().int(),
  attempt: z.number().int(),
  requestedBy: actorSchema,
  createdAt: isoTime,
  completedAt: isoTime.nullable(),
  error: z.string().nullable(),
  totals: z
    .array(
      z.object({
        currency: z.string(),
        cards: z.number().int(),
        openingLiability: minor,
        closingLiability: minor,
        journalEntries: z.number().int(),
        movements: z.record(z.string(), minor),
      }),
    )
    .nullable(),
  files: z
    .array(
      z.object({
        name: z.string(),
        key: z.string(),
        rows: z.number().int(),
        bytes: z.number().int(),
        sha256: z.string(),
        url: z.string().describe('a download link that lasts 15 minutes'),
      }),
    )
    .describe('once SUCCEEDED'),
});
