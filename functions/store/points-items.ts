import type { PointsChange, PointsEntry } from '../core/points';
import { tableName } from './dynamo-client';
import { pointsAccountKey, pointsEntryKey, pointsSourceKey } from './keys';
import type { TransactItem } from './transact';

/** The points ledger's items as the table stores them, and the conditions that protect them. */

/** What a source marker holds: the earn it made and, once taken back, the reversal's number. */
export interface PointsSourceMarker {
  readonly sourceId: string;
  readonly memberId: string;
  readonly earnSeq: number;
  readonly points: number;
  readonly reversedSeq?: number;
}

/** The account write: lands only on the version it was planned on, and a spend only on enough points. */
export function accountUpdate(change: PointsChange): TransactItem {
  const { account, expectedSeq, minBalance } = change;
  const conditions = [expectedSeq === 0 ? 'attribute_not_exists(PK)' : 'seq = :expectedSeq'];
  const values: Record<string, unknown> = {
    ':balance': account.balance,
    ':seq': account.seq,
    ':memberId': account.memberId,
    ':createdAt': account.createdAt,
    ':updatedAt': account.updatedAt,
  };
  if (expectedSeq !== 0) values[':expectedSeq'] = expectedSeq;
  if (minBalance !== undefined) {
    conditions.push('balance >= :minBalance');
    values[':minBalance'] = minBalance;
  }
  return {
    Update: {
      TableName: tableName(),
      Key: pointsAccountKey(account.memberId),
      UpdateExpression:
        'SET balance = :balance, seq = :seq, memberId = :memberId, updatedAt = :updatedAt, createdAt = if_not_exists(createdAt, :createdAt)',
      // Guarantees: no read-modify-write race: the balance changes only from the state it was planned
      // on (its version), so no two changes interleave and a spend never takes points that are not there.
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeValues: values,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

export function entryPut(entry: PointsEntry): TransactItem {
  return {
    Put: {
      TableName: tableName(),
      Item: { ...entry, ...pointsEntryKey(entry.memberId, entry.seq) },
      // Guarantees: an entry number is written once; the ledger is append-only.
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

export function earnSourcePut(sourceId: string, entry: PointsEntry): TransactItem {
  const marker: PointsSourceMarker = {
    sourceId,
    memberId: entry.memberId,
    earnSeq: entry.seq,
    points: entry.points,
  };
  return {
    Put: {
      TableName: tableName(),
      Item: { ...marker, ...pointsSourceKey(sourceId), createdAt: entry.createdAt },
      // Guarantees: a source earns points once, whatever the retries and replays of its stream record.
      ConditionExpression: 'attribute_not_exists(PK)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

export function reversalSourceUpdate(sourceId: string, entry: PointsEntry): TransactItem {
  return {
    Update: {
      TableName: tableName(),
      Key: pointsSourceKey(sourceId),
      UpdateExpression: 'SET reversedSeq = :seq, reversedAt = :at',
      // Guarantees: an earn is taken back once, and only from the member it was earned by.
      ConditionExpression:
        'attribute_exists(PK) AND memberId = :memberId AND attribute_not_exists(reversedSeq)',
      ExpressionAttributeValues: { ':seq': entry.seq, ':at': entry.createdAt, ':memberId': entry.memberId },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

export function toSourceMarker(item: Record<string, unknown>): PointsSourceMarker {
  return {
    sourceId: String(item.sourceId),
    memberId: String(item.memberId),
    earnSeq: Number(item.earnSeq),
    points: Number(item.points),
    ...(item.reversedSeq === undefined ? {} : { reversedSeq: Number(item.reversedSeq) }),
  };
}
