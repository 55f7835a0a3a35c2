import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { auditOfEntry, needsStatusBefore } from '../core/audit';
import type { LedgerEntry } from '../core/ledger';
import { observed } from '../observability/invocation';
import { cardStatusBefore, recordAudit } from '../store/audit';
import { withoutLayout } from '../store/keys';

/**
 * The audit projection: every ledger entry made by a staff user (the registry filters the stream to
 * them) becomes an immutable audit record with actor, reason, and the card's balance, available and
 * status before and after (functions/core/audit.ts). The entry was written in the same transaction as
 * the change, so the trail cannot miss a change that happened. Records are written once (their id is the
 * entry's), so replays change nothing; a failed write is a partial batch failure, retried, then sent to
 * the consumer's DLQ.
 */
async function projectRecord(record: DynamoDBRecord): Promise<void> {
  const image = record.dynamodb?.NewImage;
  if (!image || record.eventName !== 'INSERT') return;
  const entry = withoutLayout<LedgerEntry>(unmarshall(image as Record<string, AttributeValue>));
  if (entry.actor?.type !== 'staff') return;
  const statusBefore = needsStatusBefore(entry.type)
    ? await cardStatusBefore(entry.cardId, entry.seq)
    : undefined;
  await recordAudit(auditOfEntry(entry, statusBefore));
}

async function handle(event: DynamoDBStreamEvent, context: Context) {
  // One processor per invocation: the local poller may run invocations side by side in one process.
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  return processPartialResponse(event, projectRecord, processor, { context });
}

export const handler = observed(handle);
