import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { applyCardEntry } from '../app/loyalty-earn';
import type { LedgerEntry } from '../core/ledger';
import { observed } from '../observability/invocation';
import { withoutLayout } from '../store/keys';

/**
 * Loyalty earning: each new card ledger entry of the types that earn or take back points (the registry
 * filters them) is applied to the member its card is linked to (functions/app/loyalty-earn.ts). Each
 * earn is written under its source marker, so a retried or replayed record earns nothing more. Records
 * are handled one after another, in stream order (a reversal after the redemption it undoes); a failure
 * is a partial batch failure, retried, then sent to the consumer's DLQ.
 */
async function earnRecord(record: DynamoDBRecord): Promise<void> {
  const image = record.dynamodb?.NewImage;
  if (!image || record.eventName !== 'INSERT') return;
  const entry = withoutLayout<LedgerEntry>(unmarshall(image as Record<string, AttributeValue>));
  await applyCardEntry(entry);
}

async function handle(event: DynamoDBStreamEvent, context: Context) {
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  return processPartialResponse(event, earnRecord, processor, { context, processInParallel: false });
}

export const handler = observed(handle);
