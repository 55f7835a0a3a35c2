import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { LedgerEntry } from '../core/ledger';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { METRIC } from '../observability/metric-names';
import { dimensionedMetrics } from '../observability/metrics';
import { withIssueMonths } from '../store/cohort-counters';
import { withoutLayout } from '../store/keys';
import { countEntries } from '../store/reports';

/**
 * The reporting consumer: adds each new ledger entry to the finance aggregates of its program, merchant,
 * currency and UTC day (functions/core/report.ts says what each entry type adds; functions/store/
 * reports.ts how it is counted once), and to its card's breakage cohort (functions/core/breakage-counters.ts). The whole batch is counted first, in as few transactions as fit;
 * the records of entries that could not be counted are then reported as partial batch failures, so
 * Lambda retries them (and the records after them, which their markers make harmless) and finally sends
 * them to the consumer's DLQ. Nothing is caught and dropped.
 */
const entryOf = (record: DynamoDBRecord): LedgerEntry | undefined => {
  const image = record.dynamodb?.NewImage;
  if (!image || record.eventName !== 'INSERT') return undefined;
  return withoutLayout<LedgerEntry>(unmarshall(image as Record<string, AttributeValue>));
};

/** Redemptions (REDEEM and CAPTURE) and their value per currency, for the dashboard's per-minute figures. */
function countRedemptions(counted: readonly LedgerEntry[]): void {
  const byCurrency = new Map<string, { count: number; valueMinor: number }>();
  for (const entry of counted) {
    if (entry.type !== 'REDEEM' && entry.type !== 'CAPTURE') continue;
    const total = byCurrency.get(entry.currency) ?? { count: 0, valueMinor: 0 };
    total.count += 1;
    total.valueMinor += Math.abs(entry.amount);
    byCurrency.set(entry.currency, total);
  }
  for (const [currency, total] of byCurrency) {
    dimensionedMetrics({ currency }, [
      { name: METRIC.redemptions, value: total.count },
      { name: METRIC.redeemedValueMinor, value: total.valueMinor },
    ]);
  }
}

async function handle(event: DynamoDBStreamEvent, context: Context) {
  // Entries written before they carried their card's issue month (the breakage cohort) read it.
  const entries = await withIssueMonths(
    event.Records.flatMap((record) => {
      const entry = entryOf(record);
      return entry ? [entry] : [];
    }),
  );
  const failed = await countEntries(entries);
  if (failed.size > 0) logger.warn('Report counters not written; records retried', { failed: failed.size });
  countRedemptions(entries.filter((entry) => !failed.has(entry.id)));
  // One processor per invocation: the local poller may run invocations side by side in one process.
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  return processPartialResponse(
    event,
    async (record: DynamoDBRecord) => {
      const entry = entryOf(record);
      if (entry && failed.has(entry.id)) throw new Error(`entry ${entry.id} was not counted; retried`);
    },
    processor,
    { context },
  );
}

export const handler = observed(handle);
