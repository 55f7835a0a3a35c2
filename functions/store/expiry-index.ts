import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { expiryIndexKeys } from './card-items';
import { findCard } from './card-reads';
import { db, tableName } from './dynamo-client';
import { EXPIRY_SWEEP_SHARDS, expiringCardsIndexPk } from './keys';

/**
 * Repairs the expiry (breakage) index, GSI4: before the fix in store/card-items.ts a card kept the
 * index keys it was read with, so spent cards and cards whose expiry moved stayed in `EXPIRING#` and
 * the daily sweep re-read them every day. This walks each index partition, compares each entry with
 * the keys its card should have now, and moves or removes it with one conditional update (on the card's
 * entry counter: a card that changed meanwhile was rewritten with the right keys already).
 *
 * Idempotent: a repaired entry is gone from the partition, or correct. Resumable: the position in each
 * partition is checkpointed after every page (`JOB#expiry-index-backfill`), and a run after a crash goes
 * on from there; `restart` walks everything again.
 */
export interface BackfillProgress {
  readonly shard: number;
  readonly examined: number;
  readonly removed: number;
  readonly moved: number;
  readonly unchanged: number;
  readonly done: boolean;
}

const CHECKPOINT_PK = 'JOB#expiry-index-backfill';
const PAGE_SIZE = 200;

const checkpointKey = (shard: number) => ({ PK: CHECKPOINT_PK, SK: `SHARD#${shard}` });

async function readCheckpoint(shard: number): Promise<{ start?: Record<string, unknown>; done: boolean }> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: checkpointKey(shard), ConsistentRead: true }),
  );
  const item = out.Item as { start?: Record<string, unknown>; done?: boolean } | undefined;
  return { ...(item?.start ? { start: item.start } : {}), done: item?.done === true };
}

async function writeCheckpoint(shard: number, start: Record<string, unknown> | undefined): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...checkpointKey(shard),
        ...(start ? { start } : {}),
        done: start === undefined,
        updatedAt: new Date().toISOString(),
      },
    }),
  );
}

type Repair = 'removed' | 'moved' | 'unchanged';

/** Puts one card's index keys right, if the card is still as read. */
async function repair(
  cardKey: { PK: string; SK: string },
  indexed: { GSI4PK: string; GSI4SK: string },
): Promise<Repair> {
  const card = await findCard(cardKey.PK.slice('CARD#'.length));
  if (!card) return 'unchanged';
  const want = expiryIndexKeys(card);
  if (want && want.GSI4PK === indexed.GSI4PK && want.GSI4SK === indexed.GSI4SK) return 'unchanged';
  try {
    await db().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: cardKey,
        UpdateExpression: want ? 'SET GSI4PK = :pk, GSI4SK = :sk' : 'REMOVE GSI4PK, GSI4SK',
        // Guarantees: only the card as read is touched; a card written since carries keys of its own.
        ConditionExpression: 'seq = :seq',
        ExpressionAttributeValues: {
          ':seq': card.seq,
          ...(want ? { ':pk': want.GSI4PK, ':sk': want.GSI4SK } : {}),
        },
      }),
    );
    return want ? 'moved' : 'removed';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'unchanged';
    throw error;
  }
}

export async function backfillExpiryIndex(
  options: {
    readonly restart?: boolean;
    readonly pageSize?: number;
    readonly onProgress?: (progress: BackfillProgress) => void;
  } = {},
): Promise<BackfillProgress[]> {
  const totals: BackfillProgress[] = [];
  for (let shard = 0; shard < EXPIRY_SWEEP_SHARDS; shard++) {
    const checkpoint = options.restart ? { done: false } : await readCheckpoint(shard);
    const counts = { shard, examined: 0, removed: 0, moved: 0, unchanged: 0, done: checkpoint.done };
    let start = 'start' in checkpoint ? checkpoint.start : undefined;
    while (!counts.done) {
      const page = await db().send(
        new QueryCommand({
          TableName: tableName(),
          IndexName: 'GSI4',
          KeyConditionExpression: 'GSI4PK = :pk',
          ExpressionAttributeValues: { ':pk': expiringCardsIndexPk(shard) },
          Limit: options.pageSize ?? PAGE_SIZE,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const outcome = await repair(
          { PK: String(item.PK), SK: String(item.SK) },
          { GSI4PK: String(item.GSI4PK), GSI4SK: String(item.GSI4SK) },
        );
        counts.examined += 1;
        counts[outcome] += 1;
      }
      start = page.LastEvaluatedKey;
      await writeCheckpoint(shard, start);
      counts.done = start === undefined;
      options.onProgress?.({ ...counts });
    }
    totals.push({ ...counts });
  }
  return totals;
}
