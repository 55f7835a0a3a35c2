import type { EarnSettlement, PointsChange, PointsEntry } from '../core/points';
import { tableName } from './dynamo-client';
import { pointsAccountKey, pointsEntryKey, pointsSourceKey, pointsTakeBackKey } from './keys';
import type { TransactItem } from './transact';

/** The points ledger's items as the table stores them, and the conditions that protect them. */

/**
 * What a source marker holds: the earn it made; the amount of the card entry that earned (absent on
 * markers written before it was kept); the running totals of what refunds and a reversal took back
 * (absent until the first take-back on markers written before they were kept); the reversal's number.
 */
export interface PointsSourceMarker {
  readonly sourceId: string;
  readonly memberId: string;
  readonly earnSeq: number;
  readonly points: number;
  readonly sourceAmountMinor?: number;
  readonly refundedMinor?: number;
  readonly takenBackPoints?: number;
  readonly reversedSeq?: number;
}

/** One take-back's exactly-once record: the earn it took from and the entry it wrote (none for 0 points). */
export interface PointsTakeBackRecord {
  readonly takeBackId: string;
  readonly sourceId: string;
  readonly memberId: string;
  readonly points: number;
  readonly seq?: number;
}

/**
 * The marker's totals as core reads them. A marker written before the totals were kept and already
 * reversed had its whole earn taken back.
 */
export function settlementOf(marker: PointsSourceMarker): EarnSettlement {
  const reversed = marker.reversedSeq !== undefined;
  return {
    refundedMinor: marker.refundedMinor ?? 0,
    takenBackPoints: marker.takenBackPoints ?? (reversed ? marker.points : 0),
    reversed,
  };
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

export function earnSourcePut(
  sourceId: string,
  entry: PointsEntry,
  sourceAmountMinor?: number,
): TransactItem {
  const marker: PointsSourceMarker = {
    sourceId,
    memberId: entry.memberId,
    earnSeq: entry.seq,
    points: entry.points,
    ...(sourceAmountMinor === undefined ? {} : { sourceAmountMinor }),
    refundedMinor: 0,
    takenBackPoints: 0,
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

/**
 * The marker's totals after a take-back (and its reversal's number when a reversal wrote an entry),
 * written only on the totals the take-back was planned on.
 */
export function takeBackMarkerUpdate(
  before: PointsSourceMarker,
  after: EarnSettlement,
  entry: PointsEntry | undefined,
  at: string,
): TransactItem {
  const values: Record<string, unknown> = {
    ':memberId': before.memberId,
    ':refunded': after.refundedMinor,
    ':taken': after.takenBackPoints,
    ':at': at,
  };
  const sets = ['refundedMinor = :refunded', 'takenBackPoints = :taken', 'takenBackAt = :at'];
  if (after.reversed && entry) {
    sets.push('reversedSeq = :seq', 'reversedAt = :at');
    values[':seq'] = entry.seq;
  }
  const conditions = ['attribute_exists(PK)', 'memberId = :memberId', 'attribute_not_exists(reversedSeq)'];
  for (const [name, placeholder, value] of [
    ['refundedMinor', ':refundedBefore', before.refundedMinor],
    ['takenBackPoints', ':takenBefore', before.takenBackPoints],
  ] as const) {
    if (value === undefined) conditions.push(`attribute_not_exists(${name})`);
    else {
      conditions.push(`${name} = ${placeholder}`);
      values[placeholder] = value;
    }
  }
  return {
    Update: {
      TableName: tableName(),
      Key: pointsSourceKey(before.sourceId),
      UpdateExpression: `SET ${sets.join(', ')}`,
      // Guarantees: an earn is taken back only from the member it was earned by, never after its
      // reversal, and only from the totals the share was computed on: two refunds racing cannot both
      // take the same share, and the shares never add up to more than the earn.
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeValues: values,
    },
  };
}

export function takeBackRecordPut(record: PointsTakeBackRecord, at: string): TransactItem {
  return {
    Put: {
      TableName: tableName(),
      Item: { ...record, ...pointsTakeBackKey(record.takeBackId), createdAt: at },
      // Guarantees: a refund or reversal entry takes points back once, whatever the stream's replays.
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

const optionalNumber = (value: unknown): number | undefined =>
  value === undefined || value === null ? undefined : Number(value);

export function toSourceMarker(item: Record<string, unknown>): PointsSourceMarker {
  const sourceAmountMinor = optionalNumber(item.sourceAmountMinor);
  const refundedMinor = optionalNumber(item.refundedMinor);
  const takenBackPoints = optionalNumber(item.takenBackPoints);
  const reversedSeq = optionalNumber(item.reversedSeq);
  return {
    sourceId: String(item.sourceId),
    memberId: String(item.memberId),
    earnSeq: Number(item.earnSeq),
    points: Number(item.points),
    ...(sourceAmountMinor === undefined ? {} : { sourceAmountMinor }),
    ...(refundedMinor === undefined ? {} : { refundedMinor }),
    ...(takenBackPoints === undefined ? {} : { takenBackPoints }),
    ...(reversedSeq === undefined ? {} : { reversedSeq }),
  };
}

export function toTakeBackRecord(item: Record<string, unknown>): PointsTakeBackRecord {
  const seq = optionalNumber(item.seq);
  return {
    takeBackId: String(item.takeBackId),
    sourceId: String(item.sourceId),
    memberId: String(item.memberId),
    points: Number(item.points),
    ...(seq === undefined ? {} : { seq }),
  };
}
