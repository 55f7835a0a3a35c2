import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { changeCard } from '../app/card-change';
import { config } from '../config';
import { FAILED_CHECKS_WINDOW_MINUTES } from '../core/check-limits';
import { DomainError } from '../core/errors';
import { alertIdOf, type CardAction, type FraudAlert } from '../core/fraud-alert';
import {
  counterNeeds,
  evaluateFailedChecks,
  evaluateFraudRules,
  FRAUD_ENTRY_TYPES,
  type FraudHit,
} from '../core/fraud-rules';
import type { LedgerEntry } from '../core/ledger';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { METRIC } from '../observability/metric-names';
import { countMetric } from '../observability/metrics';
import { findCard } from '../store/card-reads';
import { callerCountsOf, FAILED_CHECKS_PK_PREFIX } from '../store/failed-checks';
import { createAlert, recordCardAction } from '../store/fraud-alerts';
import { claimQuietPeriod, countEntry, findActivation, readCounters } from '../store/fraud-counters';
import { withoutLayout } from '../store/keys';
import { getProgram } from '../store/programs';

/**
 * The fraud rules consumer. For each new ledger entry a rule looks at (TX# INSERTs, filtered by type
 * in the registry), in stream order: count it in the windowed counters (once, however often the record
 * comes), read the windows, evaluate the card's program's rules (functions/core/fraud-rules.ts), and for
 * each hit write an alert (its id derives from rule and entry: written once) and, when the hit says so,
 * block the card with a BLOCK ledger entry (reason SUSPECTED_FRAUD) by the system actor `fraud-rules`.
 * For failed-check counters (FRAUD#caller#, written by the API on failed lookups and PIN checks) it
 * alerts once when a caller's window crosses the threshold.
 *
 * Any failure (table, program read, block) fails that record, reported as a partial batch failure:
 * Lambda retries from it, then sends it to the consumer's DLQ; nothing is caught and dropped. Later
 * records of the same card in the batch fail with it, so the retry sees them in order again.
 */

const SYSTEM_ACTOR = { type: 'system', id: 'fraud-rules' } as const;
const RELEVANT = new Set<string>(FRAUD_ENTRY_TYPES);

async function blockCard(alert: FraudAlert, cardId: string): Promise<void> {
  const classify = (status: string, reason: string | undefined): CardAction | 'ACTIVE' => {
    if (status === 'ACTIVE') return 'ACTIVE';
    // Blocked by this alert on an earlier delivery whose record of it was lost.
    if (status === 'BLOCKED') return reason?.includes(alert.id) ? 'BLOCKED' : 'ALREADY_BLOCKED';
    return 'NOT_ACTIVE';
  };
  const card = await findCard(cardId);
  if (!card) throw new Error(`card ${cardId} of a ledger entry was not found`);
  const before = classify(card.status, card.statusReason);
  if (before !== 'ACTIVE') {
    await recordCardAction(alert.id, before, undefined);
    return;
  }
  try {
    const { result } = await changeCard(
      cardId,
      { type: 'BLOCK', reason: `SUSPECTED_FRAUD: ${alert.rule} (alert ${alert.id})` },
      { actor: SYSTEM_ACTOR, request: { channel: 'SYSTEM' }, now: new Date() },
      () => true,
    );
    await recordCardAction(alert.id, 'BLOCKED', result.transaction.id);
    countMetric(METRIC.fraudBlocks);
  } catch (error) {
    if (!(error instanceof DomainError && error.code === 'CONFLICT')) throw error;
    // Another change landed first (or the card stayed busy): decide on the card as it now is.
    const now = await findCard(cardId);
    const after = now ? classify(now.status, now.statusReason) : 'ACTIVE';
    if (after === 'ACTIVE') throw error;
    await recordCardAction(alert.id, after, undefined);
  }
}

async function raise(hit: FraudHit, entry: LedgerEntry): Promise<void> {
  if (hit.quiet) {
    const mayAlert = await claimQuietPeriod(
      hit.quiet.subject,
      hit.rule,
      entry.id,
      entry.createdAt,
      hit.quiet.until,
    );
    if (!mayAlert) return;
  }
  const now = new Date().toISOString();
  const { created, alert } = await createAlert({
    id: alertIdOf(hit.rule, entry.id),
    rule: hit.rule,
    severity: hit.severity,
    status: 'OPEN',
    detail: hit.detail,
    block: hit.block,
    cardId: entry.cardId,
    programId: entry.programId,
    ...(entry.merchantId ? { merchantId: entry.merchantId } : {}),
    transactionId: entry.id,
    transactionAt: entry.createdAt,
    createdAt: now,
    updatedAt: now,
  });
  if (created) {
    countMetric(METRIC.fraudAlerts);
    logger.info('Fraud alert', {
      alertId: alert.id,
      rule: alert.rule,
      cardId: entry.cardId,
      block: hit.block,
    });
  }
  if (hit.block && alert.cardAction === undefined) await blockCard(alert, entry.cardId);
}

async function processEntry(entry: LedgerEntry): Promise<void> {
  if (!RELEVANT.has(entry.type)) return;
  const program = await getProgram(entry.programId, { cached: true });
  const rules = program.fraudRules;
  const needs = counterNeeds(entry, rules);
  const activation =
    needs.activation && entry.type !== 'ACTIVATE' ? await findActivation(entry.cardId) : undefined;
  const counted = await countEntry(entry, needs, activation);
  const counters = await readCounters(entry, needs, activation, counted);
  for (const hit of evaluateFraudRules(entry, counters, rules)) await raise(hit, entry);
}

async function processFailedChecks(record: DynamoDBRecord): Promise<void> {
  const item = (image: Record<string, AttributeValue> | undefined) =>
    image ? unmarshall(image as Record<string, AttributeValue>) : undefined;
  const next = item(record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined);
  if (!next) return;
  const previous = item(record.dynamodb?.OldImage as Record<string, AttributeValue> | undefined);
  const before = previous ? callerCountsOf(previous) : new Map<string, number>();
  // A caller is stopped once its count reaches its limit: the alert comes no later than that.
  const limit = Number(next.callerLimit ?? Number.POSITIVE_INFINITY);
  const threshold = Math.min(config().FRAUD_FAILED_CHECKS_PER_CALLER, limit - 1);
  for (const [caller, count] of callerCountsOf(next)) {
    const hit = evaluateFailedChecks(before.get(caller) ?? 0, count, threshold, FAILED_CHECKS_WINDOW_MINUTES);
    if (hit) await raiseFailedChecks(hit, caller, next);
  }
}

async function raiseFailedChecks(
  hit: FraudHit,
  caller: string,
  next: Record<string, unknown>,
): Promise<void> {
  const windowStart = String(next.windowStart);
  const now = new Date().toISOString();
  const merchantKey = /^key#(key_[0-9a-z]{26})$/.exec(caller);
  const { created, alert } = await createAlert({
    id: alertIdOf(hit.rule, `${caller}#${windowStart}`),
    rule: hit.rule,
    severity: hit.severity,
    status: 'OPEN',
    detail: hit.detail,
    block: false,
    caller,
    ...(typeof next.merchantId === 'string' ? { merchantId: next.merchantId } : {}),
    transactionAt: windowStart,
    createdAt: now,
    updatedAt: now,
  });
  if (created) {
    countMetric(METRIC.fraudAlerts);
    logger.info('Fraud alert', { alertId: alert.id, rule: alert.rule, apiKeyId: merchantKey?.[1] });
  }
}

const isFailedChecks = (record: DynamoDBRecord): boolean =>
  record.dynamodb?.Keys?.PK?.S?.startsWith(FAILED_CHECKS_PK_PREFIX) === true;

async function handleRecord(record: DynamoDBRecord, failedCards: Set<string>): Promise<void> {
  if (isFailedChecks(record)) return processFailedChecks(record);
  const image = record.dynamodb?.NewImage;
  if (!image || record.eventName !== 'INSERT') return;
  const entry = withoutLayout<LedgerEntry>(unmarshall(image as Record<string, AttributeValue>));
  if (failedCards.has(entry.cardId)) {
    throw new Error(`an earlier entry of card ${entry.cardId} failed in this batch; retried in order`);
  }
  try {
    await processEntry(entry);
  } catch (error) {
    failedCards.add(entry.cardId);
    throw error;
  }
}

async function handle(event: DynamoDBStreamEvent, context: Context) {
  const failedCards = new Set<string>();
  // One processor per invocation: the local poller may run invocations side by side in one process.
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  return processPartialResponse(
    event,
    (record: DynamoDBRecord) => handleRecord(record, failedCards),
    processor,
    {
      context,
      processInParallel: false,
    },
  );
}

export const handler = observed(handle);
