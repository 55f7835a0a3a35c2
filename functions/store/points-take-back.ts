import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../core/errors';
import type { EarnSettlement, PointsAccount, PointsChange } from '../core/points';
import { requestClock } from '../core/request-clock';
import { tick } from './card-queue';
import { db, tableName } from './dynamo-client';
import { pointsTakeBackKey } from './keys';
import {
  accountUpdate,
  entryPut,
  type PointsSourceMarker,
  type PointsTakeBackRecord,
  takeBackMarkerUpdate,
  takeBackRecordPut,
  toTakeBackRecord,
} from './points-items';
import {
  accountSince,
  findPointsSource,
  inMemberLane,
  noteAccount,
  POINTS_COMMIT_ATTEMPTS,
  type PointsCommitted,
  requireEntry,
} from './points-ledger';
import { backoff, writeAtomically } from './transact';

/**
 * The commit engine of take-backs: a refund's share of an earn, or a reversal's rest. One
 * TransactWriteItems holds the account (on its version) and the REVERSE_EARN entry when points move,
 * the earn's source marker with its new running totals (on the totals the share was planned on), and
 * the take-back's own exactly-once record (the refund or reversal card entry's id). Two refunds of one
 * redemption racing: one commits, the other fails the marker's condition and plans again on the new
 * totals. A replayed refund finds its record and writes nothing. It decides nothing: core/points.ts
 * computes the share, functions/app/points.ts plans.
 */

/** A planned take-back: the entry (none when the share is 0 points) and the marker's totals after it. */
export interface TakeBackPlanned {
  readonly change: PointsChange | undefined;
  readonly after: EarnSettlement;
}

/** Plans on the account and the marker as read. Undefined: nothing to take or record. */
export type TakeBackPlan = (
  account: PointsAccount | undefined,
  marker: PointsSourceMarker,
  now: Date,
) => TakeBackPlanned | undefined;

export interface TakeBackCommitOptions {
  /** The refund or reversal card entry taking back: its record makes it happen once. */
  readonly takeBackId?: string | undefined;
  readonly now?: Date | undefined;
  readonly singleFlight?: boolean | undefined;
}

export async function commitTakeBack(
  memberId: string,
  sourceId: string,
  plan: TakeBackPlan,
  options: TakeBackCommitOptions = {},
): Promise<PointsCommitted> {
  return inMemberLane(memberId, options.singleFlight, (arrivedAt) =>
    takeBackWithRetries(memberId, sourceId, arrivedAt, plan, options),
  );
}

async function takeBackWithRetries(
  memberId: string,
  sourceId: string,
  arrivedAt: number,
  plan: TakeBackPlan,
  options: TakeBackCommitOptions,
): Promise<PointsCommitted> {
  const clock = requestClock(options.now);
  const { takeBackId } = options;
  for (let attempt = 0; attempt < POINTS_COMMIT_ATTEMPTS; attempt++) {
    const earlier = await earlierTakeBack(memberId, sourceId, takeBackId);
    if (earlier) return earlier;
    const marker = await findPointsSource(sourceId);
    if (!marker || marker.memberId !== memberId) {
      throw new Error(`The earn of ${sourceId} is not ${memberId}'s`);
    }
    // A reversal not named by a card entry happens once: the marker's reversal is its record.
    if (takeBackId === undefined && marker.reversedSeq !== undefined) {
      return { entry: await requireEntry(memberId, marker.reversedSeq), replayed: true };
    }
    const account = await accountSince(memberId, attempt === 0 ? arrivedAt : tick());
    const now = clock();
    const planned = plan(account, marker, now);
    // Nothing left to take: unless another delivery of this take-back took it after the record was
    // looked up above (the marker read here already holds its totals), in which case that is the answer.
    if (!planned)
      return (await earlierTakeBack(memberId, sourceId, takeBackId)) ?? { entry: undefined, replayed: false };
    const entry = planned.change?.entry;
    if (entry && entry.memberId !== memberId)
      throw new Error(`A take-back of ${memberId} planned on another`);
    const at = now.toISOString();
    const record: PointsTakeBackRecord | undefined = takeBackId
      ? { takeBackId, sourceId, memberId, points: entry?.points ?? 0, ...(entry ? { seq: entry.seq } : {}) }
      : undefined;
    const items = [
      ...(planned.change ? [accountUpdate(planned.change), entryPut(planned.change.entry)] : []),
      takeBackMarkerUpdate(marker, planned.after, entry, at),
      ...(record ? [takeBackRecordPut(record, at)] : []),
    ];
    const sentAt = tick();
    const outcome = await writeAtomically(items, { claim: undefined, result: undefined, now });
    if (outcome.kind === 'committed') {
      if (planned.change) noteAccount(planned.change.account, sentAt);
      return { entry, replayed: false };
    }
    // The account, the marker's totals or the record moved on: read them again and plan again (or
    // answer the record another delivery of this take-back wrote).
    await backoff(attempt, 5, 250);
  }
  throw new DomainError('CONFLICT', 'The member is busy with other points changes; retry the request.');
}

/** The answer a take-back already recorded: its entry, or none when its share was 0 points. */
async function earlierTakeBack(
  memberId: string,
  sourceId: string,
  takeBackId: string | undefined,
): Promise<PointsCommitted | undefined> {
  if (takeBackId === undefined) return undefined;
  const record = await findTakeBackRecord(takeBackId);
  if (!record) return undefined;
  if (record.memberId !== memberId || record.sourceId !== sourceId) {
    throw new DomainError(
      'IDEMPOTENCY_KEY_REUSED',
      `Take-back ${takeBackId} already took from another earn.`,
    );
  }
  const entry = record.seq === undefined ? undefined : await requireEntry(memberId, record.seq);
  return { entry, replayed: true };
}

export async function findTakeBackRecord(takeBackId: string): Promise<PointsTakeBackRecord | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: tableName(), Key: pointsTakeBackKey(takeBackId), ConsistentRead: true }),
  );
  return out.Item ? toTakeBackRecord(out.Item) : undefined;
}
