import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { LedgerEntry } from '../core/ledger';
import { ledgerContinuityProblems } from '../core/ledger-integrity';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { METRIC } from '../observability/metric-names';
import { countMetric } from '../observability/metrics';
import { db, tableName } from '../store/dynamo-client';
import { entryKey, withoutLayout } from '../store/keys';

/**
 * Checks each new ledger entry against the card's previous entry: numbering without gaps and
 * balance arithmetic. A broken rule is logged as an error with metric-friendly fields (an alarm
 * watches for them); a failed read fails only that record, which Lambda retries.
 */
const processor = new BatchProcessor(EventType.DynamoDBStreams);

async function checkRecord(record: DynamoDBRecord): Promise<void> {
  const image = record.dynamodb?.NewImage;
  if (!image) return;
  const entry = withoutLayout<LedgerEntry>(unmarshall(image as Record<string, AttributeValue>));
  let previous: LedgerEntry | undefined;
  if (entry.seq > 1) {
    const out = await db().send(
      new GetCommand({
        TableName: tableName(),
        Key: entryKey(entry.cardId, entry.seq - 1),
        ConsistentRead: true,
      }),
    );
    previous = out.Item ? withoutLayout<LedgerEntry>(out.Item) : undefined;
  }
  const problems = ledgerContinuityProblems(entry, previous);
  if (problems.length > 0) {
    logger.error('Ledger integrity violation', {
      metric: METRIC.ledgerIntegrityViolation,
      transactionId: entry.id,
      cardId: entry.cardId,
      problems,
    });
    countMetric(METRIC.ledgerIntegrityViolation);
  }
}

const handle = (event: DynamoDBStreamEvent, context: Context) =>
  processPartialResponse(event, checkRecord, processor, { context });

export const handler = observed(handle);
