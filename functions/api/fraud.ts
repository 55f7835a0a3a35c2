import * as z from 'zod';
import { notFound } from '../core/errors';
import { ALERT_STATUSES, type AlertAction, type AlertStep, type FraudAlert } from '../core/fraud-alert';
import { apiHandler, type OperationRequest, type Operations, operation } from '../http/api-handler';
import { actorOf } from '../http/auth';
import { pathId } from '../http/params';
import { pageSchema } from '../http/response-schemas/common';
import { fraudAlertSchema } from '../http/response-schemas/fraud';
import { entityId, listQuery, safeText } from '../http/validation';
import { pageView } from '../http/views';
import { findAlert, listAlerts, stepAlert } from '../store/fraud-alerts';

/**
 * Fraud alerts (staff: support, admin), raised by the fraud rules stream consumer
 * (functions/streams/fraud.ts). Support acknowledges an alert while looking into it and resolves it
 * with what was found. Resolving does not unblock a card the rule blocked: support unblocks it
 * explicitly (POST /v1/cards/{cardId}/unblock), so a wrong click never frees a card.
 */
const stepView = (step: AlertStep | undefined) =>
  step ? { at: step.at, by: { type: step.by.type, id: step.by.id }, note: step.note } : null;

export const alertView = (alert: FraudAlert) => ({
  id: alert.id,
  rule: alert.rule,
  severity: alert.severity,
  status: alert.status,
  detail: alert.detail,
  cardId: alert.cardId ?? null,
  programId: alert.programId ?? null,
  merchantId: alert.merchantId ?? null,
  transactionId: alert.transactionId ?? null,
  transactionAt: alert.transactionAt ?? null,
  caller: alert.caller ?? null,
  block: alert.block,
  cardAction: alert.cardAction ?? null,
  blockTransactionId: alert.blockTransactionId ?? null,
  createdAt: alert.createdAt,
  updatedAt: alert.updatedAt,
  acknowledged: stepView(alert.acknowledged),
  resolved: stepView(alert.resolved),
});

const alertIdOf = (params: Readonly<Record<string, string>>) => pathId(params, 'alertId', 'fa', 'The alert');

const stepBody = z.object({ note: safeText(1000) }).strict();

const step =
  (action: AlertAction) =>
  async ({
    principal,
    params,
    body,
    idempotency,
    now,
  }: OperationRequest<z.infer<typeof stepBody>, unknown>) =>
    alertView(
      await stepAlert(
        alertIdOf(params),
        action,
        { at: now.toISOString(), by: actorOf(principal), note: body.note },
        idempotency,
      ),
    );

export const operations: Operations = {
  'GET /v1/fraud/alerts': operation({
    summary: 'List fraud alerts, newest first (?status=OPEN|ACKNOWLEDGED|RESOLVED, ?cardId=)',
    response: pageSchema(fraudAlertSchema),
    query: z
      .object({ ...listQuery, status: z.enum(ALERT_STATUSES).optional(), cardId: entityId('gc').optional() })
      .strict(),
    run: async ({ query }) =>
      pageView(
        await listAlerts({
          limit: query.limit,
          ...(query.status ? { status: query.status } : {}),
          ...(query.cardId ? { cardId: query.cardId } : {}),
          ...(query.cursor ? { cursor: query.cursor } : {}),
        }),
        alertView,
      ),
  }),
  'GET /v1/fraud/alerts/{alertId}': operation({
    summary: 'Get a fraud alert',
    response: fraudAlertSchema,
    run: async ({ params }) => {
      const alert = await findAlert(alertIdOf(params));
      if (!alert) throw notFound('The alert');
      return alertView(alert);
    },
  }),
  'POST /v1/fraud/alerts/{alertId}/acknowledge': operation({
    summary: 'Acknowledge an OPEN fraud alert (who and when are recorded with the note)',
    response: fraudAlertSchema,
    body: stepBody,
    run: step('ACKNOWLEDGE'),
  }),
  'POST /v1/fraud/alerts/{alertId}/resolve': operation({
    summary: 'Resolve a fraud alert with a note (does not unblock the card)',
    response: fraudAlertSchema,
    body: stepBody,
    run: step('RESOLVE'),
  }),
};

export const handler = apiHandler('fraud', operations);
