import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { PointsEntry } from '../core/points';
import { observed } from '../observability/invocation';
import { withoutLayout } from '../store/keys';
import { countPointsEntry } from '../store/loyalty-counters';
import { findMember } from '../store/members';

/**
 * The loyalty report's counters: each new points entry adds its points to its loyalty program's day
 * (functions/store/loyalty-counters.ts, once per entry). A failure is a partial batch failure.
 */
async function countRecord(record: DynamoDBRecord): Promise<void> {
  const image = record.dynamodb?.NewImage;
  if (!image || record.eventName !== 'INSERT') return;
  const entry = withoutLayout<PointsEntry>(unmarshall(image as Record<string, AttributeValue>));
  const member = await findMember(entry.memberId);
  // Points of a member that never registered (the ledger's own tests) belong to no program.
  if (!member) return;
  await countPointsEntry(entry, member.loyaltyProgramId);
}

async function handle(event: DynamoDBStreamEvent, context: Context) {
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  return processPartialResponse(event, countRecord, processor, { context });
}

export const handler = observed(handle);
