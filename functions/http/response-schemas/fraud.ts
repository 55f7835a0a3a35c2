import * as z from 'zod';
import { ALERT_STATUSES } from '../../core/fraud-alert';
import { FRAUD_RULES, FRAUD_SEVERITIES } from '../../core/fraud-rules';
import { actorSchema, isoTime } from './common';

/** A fraud alert and the steps support took on it. */
const alertStepSchema = z.object({ at: isoTime, by: actorSchema, note: z.string() });

export const fraudAlertSchema = z.object({
  id: z.string(),
  rule: z.enum(FRAUD_RULES),
  severity: z.enum(FRAUD_SEVERITIES),
  status: z.enum(ALERT_STATUSES),
  detail: z.string(),
  cardId: z.string().nullable(),
  programId: z.string().nullable(),
  merchantId: z.string().nullable(),
  transactionId: z.string().nullable(),
  transactionAt: isoTime.nullable(),
  caller: z.string().nullable().describe('FAILED_CHECKS_KEY: whose checks failed'),
  block: z.boolean(),
  cardAction: z.enum(['BLOCKED', 'ALREADY_BLOCKED', 'NOT_ACTIVE']).nullable(),
  blockTransactionId: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
  acknowledged: alertStepSchema.nullable(),
  resolved: alertStepSchema.nullable(),
});
