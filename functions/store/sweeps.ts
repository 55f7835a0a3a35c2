import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { db, tableName } from './dynamo-client';
import { EXPIRY_SWEEP_SHARDS, expiringCardsIndexPk, HOLD_SWEEP_SHARDS, openHoldsIndexPk } from './keys';

/** Everything due in one index partition: keys whose sort key (`<time>#<id>`) is at or before now. */
export async function* due(indexName: 'GSI1' | 'GSI4', partition: string, now: Date) {
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        IndexName: indexName,
        KeyConditionExpression: '#pk = :pk AND #sk <= :now',
        ExpressionAttributeNames: { '#pk': `${indexName}PK`, '#sk': `${indexName}SK` },
        ExpressionAttributeValues: { ':pk': partition, ':now': `${now.toISOString()}#~` },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) yield { PK: String(item.PK), SK: String(item.SK) };
    start = out.LastEvaluatedKey;
  } while (start);
}

/** Every index partition of the open holds (GSI1) and of the cards with value to expire (GSI4). */
export const holdSweepPartitions = (): string[] =>
  Array.from({ length: HOLD_SWEEP_SHARDS }, (_, shard) => openHoldsIndexPk(shard));
export const expirySweepPartitions = (): string[] =>
  Array.from({ length: EXPIRY_SWEEP_SHARDS }, (_, shard) => expiringCardsIndexPk(shard));
