import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { auditOfChange } from '../core/audit';
import { DomainError, notFound } from '../core/errors';
import {
  type AlertAction,
  type AlertStatus,
  type AlertStep,
  type CardAction,
  type FraudAlert,
  planAlertStep,
} from '../core/fraud-alert';
import { auditInsert } from './audit';
import { db, tableName } from './dynamo-client';
import { findReplay, type IdempotencyClaim } from './idempotency';
import { listByIndex } from './listing';
import type { Page } from './pagination';
import { keyInProgress, writeAtomically } from './transact';

/**
 * Fraud alerts in the single table (layout in table-definition.ts):
 *
 *   FRAUDALERT#<id> / FRAUDALERT   the alert   GSI1: FRAUDALERTS#<status> / <createdAt>#<id>  (by status)
 *                                              GSI2: FRAUDALERTS / <createdAt>#<id>           (all)
 *                                              GSI3: CARD#<cardId>#FRAUDALERTS / <createdAt>#<id>
 *
 * Lists are newest first. An alert is written once (its id derives from the rule and the entry that
 * tripped it); support steps are conditional on the status they were planned from.
 */
const alertKey = (id: string) => ({ PK: `FRAUDALERT#${id}`, SK: 'FRAUDALERT' });
const statusPk = (status: AlertStatus) => `FRAUDALERTS#${status}`;
const ALL_PK = 'FRAUDALERTS';
const cardAlertsPk = (cardId: string) => `CARD#${cardId}#FRAUDALERTS`;
const listSk = (alert: Pick<FraudAlert, 'createdAt' | 'id'>) => `${alert.createdAt}#${alert.id}`;

const LAYOUT = ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK'];

function toAlert(item: Record<string, unknown>): FraudAlert {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of LAYOUT) delete copy[attribute];
  return copy as unknown as FraudAlert;
}

function alertItem(alert: FraudAlert) {
  return {
    ...alertKey(alert.id),
    GSI1PK: statusPk(alert.status),
    GSI1SK: listSk(alert),
    GSI2PK: ALL_PK,
    GSI2SK: listSk(alert),
    ...(alert.cardId ? { GSI3PK: cardAlertsPk(alert.cardId), GSI3SK: listSk(alert) } : {}),
    ...alert,
  };
}

/** Writes a new alert once: an alert with its id already there is returned as stored. */
export async function createAlert(alert: FraudAlert): Promise<{ created: boolean; alert: FraudAlert }> {
  try {
    await db().send(
      new PutCommand({
        TableName: tableName(),
        Item: alertItem(alert),
        // Guarantees: a replayed stream record never raises the same alert twice.
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return { created: true, alert };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = await findAlert(alert.id);
    if (!existing) throw error;
    return { created: false, alert: existing };
  }
}

/** Records once what the consumer did to the card for a blocking hit. */
export async function recordCardAction(
  alertId: string,
  action: CardAction,
  blockTransactionId: string | undefined,
): Promise<void> {
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: alertKey(alertId),
        UpdateExpression: `SET cardAction = :action${blockTransactionId ? ', blockTransactionId = :tx' : ''}`,
        ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(cardAction)',
        ExpressionAttributeValues: {
          ':action': action,
          ...(blockTransactionId ? { ':tx': blockTransactionId } : {}),
        },
      }),
    );
  } catch (error) {
    // An earlier delivery recorded it already: the first record stands.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

export async function findAlert(id: string): Promise<FraudAlert | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: alertKey(id), ConsistentRead: true }),
  );
  return out.Item ? toAlert(out.Item) : undefined;
}

export interface AlertFilter {
  readonly status?: AlertStatus;
  readonly cardId?: string;
  readonly limit: number;
  readonly cursor?: string;
}

/**
 * Alerts newest first: of one status (GSI1), of one card (GSI3, the status checked on the items), or
 * all (GSI2). The index lags the item by a moment: an alert is never shown under a status it has left.
 */
export async function listAlerts(filter: AlertFilter): Promise<Page<FraudAlert>> {
  const [indexName, partition] = filter.cardId
    ? (['GSI3', cardAlertsPk(filter.cardId)] as const)
    : filter.status
      ? (['GSI1', statusPk(filter.status)] as const)
      : (['GSI2', ALL_PK] as const);
  const page = await listByIndex(
    indexName,
    partition,
    { limit: filter.limit, ...(filter.cursor ? { cursor: filter.cursor } : {}), newestFirst: true },
    toAlert,
  );
  // A status index entry can lag the alert's change: keep only alerts in the status asked for.
  return filter.status
    ? { ...page, items: page.items.filter((alert) => alert.status === filter.status) }
    : page;
}

const alertState = (alert: FraudAlert) => ({
  status: alert.status,
  acknowledged: alert.acknowledged ?? null,
  resolved: alert.resolved ?? null,
});

/**
 * Acknowledge or resolve: planned on the alert as read, written on the condition that its status is
 * still the one planned from (and, with an Idempotency-Key, together with the idempotency record).
 */
export async function stepAlert(
  id: string,
  action: AlertAction,
  step: AlertStep,
  claim: IdempotencyClaim | undefined,
): Promise<FraudAlert> {
  const current = await findAlert(id);
  if (!current) throw notFound('The alert');
  let next: FraudAlert;
  try {
    next = planAlertStep(current, action, step);
  } catch (error) {
    if (claim) {
      // A retry of a step that went through answers as the first time did.
      const earlier = await findReplay<FraudAlert>(claim, new Date(step.at));
      if (earlier) return earlier;
    }
    throw error;
  }
  const stepField = action === 'ACKNOWLEDGE' ? 'acknowledged' : 'resolved';
  const outcome = await writeAtomically(
    [
      {
        Update: {
          TableName: tableName(),
          Key: alertKey(id),
          UpdateExpression: `SET #status = :next, GSI1PK = :statusPk, updatedAt = :at, #step = :step`,
          ConditionExpression: '#status = :seen',
          ExpressionAttributeNames: { '#status': 'status', '#step': stepField },
          ExpressionAttributeValues: {
            ':next': next.status,
            ':statusPk': statusPk(next.status),
            ':at': step.at,
            ':step': step,
            ':seen': current.status,
          },
        },
      },
      // The step's note is its reason; the audit record is written with the step or not at all.
      auditInsert(
        auditOfChange(
          { actor: step.by, reason: step.note },
          {
            action: `fraudAlert.${action.toLowerCase()}`,
            subjectType: 'fraudAlert',
            subjectId: id,
            ...(current.cardId ? { cardId: current.cardId } : {}),
            ...(current.programId ? { programId: current.programId } : {}),
            ...(current.merchantId ? { merchantId: current.merchantId } : {}),
            at: new Date(step.at),
            before: alertState(current),
            after: alertState(next),
          },
        ),
      ),
    ],
    { claim, result: next, now: new Date(step.at) },
  );
  if (outcome.kind === 'replayed') return outcome.result;
  if (outcome.kind === 'key-busy') throw keyInProgress();
  if (outcome.kind === 'cancelled') {
    throw new DomainError('CONFLICT', 'The alert changed while it was being updated; read it and retry.');
  }
  return next;
}
