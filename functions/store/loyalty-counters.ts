import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LOYALTY_MEASURES, type LoyaltyDay, measureOf } from '../core/loyalty-report';
import type { PointsEntry } from '../core/points';
import { db, tableName } from './dynamo-client';
import { LOYALTY_DAY_PREFIX, loyaltyCountedKey, loyaltyDayKey, loyaltyProgramKey } from './keys';
import { writeAtomically } from './transact';

/**
 * The loyalty report's counters: LOYALTY#<program> / DAY#<yyyy-mm-dd> with one signed sum per measure.
 * Each points entry is counted in one transaction with its marker (LOYCOUNTED#<entry id>), so a stream
 * retry or replay never counts it twice.
 */
export async function countPointsEntry(
  entry: PointsEntry,
  loyaltyProgramId: string,
): Promise<'counted' | 'already'> {
  const measure = measureOf(entry);
  const outcome = await writeAtomically(
    [
      {
        Put: {
          TableName: tableName(),
          Item: { ...loyaltyCountedKey(entry.id), at: entry.createdAt },
          // Guarantees: an entry is counted once.
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      {
        Update: {
          TableName: tableName(),
          Key: loyaltyDayKey(loyaltyProgramId, entry.createdAt.slice(0, 10)),
          UpdateExpression: 'ADD #measure :points SET loyaltyProgramId = :program, #day = :day',
          ExpressionAttributeNames: { '#measure': measure, '#day': 'day' },
          ExpressionAttributeValues: {
            ':points': entry.points,
            ':program': loyaltyProgramId,
            ':day': entry.createdAt.slice(0, 10),
          },
        },
      },
    ],
    { claim: undefined, result: undefined, now: new Date() },
  );
  if (outcome.kind === 'committed') return 'counted';
  if (outcome.kind === 'cancelled' && outcome.reasons[0]?.code === 'ConditionalCheckFailed') return 'already';
  throw new Error(`Points entry ${entry.id} was not counted`);
}

/** Every counted day of the program up to `toDay` (inclusive), oldest first: a program's days are bounded. */
export async function loyaltyDays(loyaltyProgramId: string, toDay: string): Promise<LoyaltyDay[]> {
  const days: LoyaltyDay[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :first AND :last',
        ExpressionAttributeValues: {
          ':pk': loyaltyProgramKey(loyaltyProgramId).PK,
          ':first': LOYALTY_DAY_PREFIX,
          ':last': `${LOYALTY_DAY_PREFIX}${toDay}`,
        },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const day: Record<string, number | string> = { loyaltyProgramId, day: String(item.day) };
      for (const measure of LOYALTY_MEASURES) day[measure] = Number(item[measure] ?? 0);
      days.push(day as unknown as LoyaltyDay);
    }
    start = out.LastEvaluatedKey;
  } while (start && days.length < 20_000);
  return days;
}
