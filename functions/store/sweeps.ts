import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../core/errors';
import type { Actor } from '../core/ledger';
import { operateOnCard } from './cards';
import { db, tableName } from './dynamo-client';
import { EXPIRY_SWEEP_SHARDS, expiringCardsIndexPk, HOLD_SWEEP_SHARDS, openHoldsIndexPk } from './keys';

export interface SweepReport {
  readonly examined: number;
  readonly changed: number;
  /** Skipped because something else settled them first (captured, voided, emptied). */
  readonly skipped: number;
  readonly failed: number;
}

/** Everything due in one index partition: keys whose sort key (`<time>#<id>`) is at or before now. */
async function* due(indexName: 'GSI1' | 'GSI4', partition: string, now: Date) {
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

async function sweep(
  partitions: string[],
  indexName: 'GSI1' | 'GSI4',
  now: Date,
  act: (key: { PK: string; SK: string }) => Promise<unknown>,
): Promise<SweepReport> {
  let examined = 0;
  let changed = 0;
  let skipped = 0;
  let failed = 0;
  for (const partition of partitions) {
    for await (const key of due(indexName, partition, now)) {
      examined += 1;
      try {
        await act(key);
        changed += 1;
      } catch (error) {
        // A refusal means the item was settled meanwhile; anything else is retried by the next run.
        if (error instanceof DomainError) skipped += 1;
        else failed += 1;
      }
    }
  }
  return { examined, changed, skipped, failed };
}

const systemContext = (job: string, now: Date) => ({
  actor: { type: 'system', id: job } satisfies Actor,
  request: { channel: 'SYSTEM' as const },
  now,
});

/**
 * The time a sweep's change is made at: the run's fixed time when given (tests move the clock), else the
 * clock when the change is planned, so an entry written minutes into a long run is not dated at its start
 * (finance exports rely on entries committing within the card write budget of their createdAt).
 */
const changeTime = (fixed: Date | undefined): Date => fixed ?? new Date();

/** Releases holds past their expiry with a VOID entry. Safe to run any number of times. */
export function releaseExpiredHolds(now?: Date): Promise<SweepReport> {
  const partitions = Array.from({ length: HOLD_SWEEP_SHARDS }, (_, shard) => openHoldsIndexPk(shard));
  return sweep(partitions, 'GSI1', changeTime(now), ({ PK, SK }) =>
    operateOnCard(
      PK.slice('CARD#'.length),
      { type: 'VOID', holdId: SK.slice('HOLD#'.length), expired: true },
      systemContext('hold-expiry', changeTime(now)),
      undefined,
      () => true,
    ),
  );
}

/** Moves the remaining value of expired cards to breakage with an EXPIRE entry, once per card. */
export function expireCards(now?: Date): Promise<SweepReport> {
  const partitions = Array.from({ length: EXPIRY_SWEEP_SHARDS }, (_, shard) => expiringCardsIndexPk(shard));
  return sweep(partitions, 'GSI4', changeTime(now), ({ PK }) =>
    operateOnCard(
      PK.slice('CARD#'.length),
      { type: 'EXPIRE' },
      systemContext('expiry-sweep', changeTime(now)),
      undefined,
      () => true,
    ),
  );
}
