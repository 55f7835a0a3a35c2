import { createHash } from 'node:crypto';
import { notFound, validationFailed } from '../core/errors';
import {
  emptyPointsAccount,
  expiryCutoff,
  type PointsAccount,
  type PointsEntry,
  type PointsExpiryRule,
  planEarn,
  planExpire,
  planReverseEarn,
  planSpend,
  requirePoints,
} from '../core/points';
import type { IdempotencyClaim } from '../store/idempotency';
import {
  commitPoints,
  findPointsEntry,
  findPointsSource,
  type PointsCommitted,
  pointsEntriesAfter,
} from '../store/points-ledger';

/**
 * The member points use cases. Each plans on the account with core/points.ts and commits with
 * store/points-ledger.ts, in one conditional transaction with what makes it happen once: the source
 * marker of an earn (a stream retry or replay of the same card ledger entry never earns twice), the
 * Idempotency-Key record of a spend, the marker's reversal of a reverse earn. The expiry sweep needs no
 * record: it is planned on the account's version, and after it nothing is left to expire.
 */

export interface PointsOptions {
  /** The request's time (tests and jobs may set another). */
  readonly now?: Date;
  /** Queue this process's changes to the member (default); see store/points-ledger.ts. */
  readonly singleFlight?: boolean;
}

const MAX_ID_LENGTH = 200;

function requireId(value: string, field: string): string {
  if (value.length === 0 || value.length > MAX_ID_LENGTH || /[#\s]/.test(value)) {
    throw validationFailed([{ field, message: `1 to ${MAX_ID_LENGTH} characters, no '#' or spaces` }]);
  }
  return value;
}

const accountOf = (memberId: string, account: PointsAccount | undefined, now: Date): PointsAccount =>
  account ?? emptyPointsAccount(memberId, now);

/** Primary course: credit the member's points for a source (a card ledger entry id), once ever. */
export async function earnPoints(
  memberId: string,
  points: number,
  sourceId: string,
  options: PointsOptions = {},
): Promise<PointsCommitted> {
  requireId(memberId, 'memberId');
  requireId(sourceId, 'sourceId');
  requirePoints(points);
  return commitPoints(
    memberId,
    async (account, now) => planEarn(accountOf(memberId, account, now), points, sourceId, now),
    { once: { kind: 'earn', sourceId }, now: options.now, singleFlight: options.singleFlight },
  );
}

/**
 * Primary course: take points from the member, refused (INSUFFICIENT_FUNDS) when the balance is short.
 * The same Idempotency-Key with the same request answers the first result; with another, 422.
 */
export async function spendPoints(
  memberId: string,
  points: number,
  idempotencyKey: string,
  options: PointsOptions & { readonly scope?: string } = {},
): Promise<PointsCommitted> {
  requireId(memberId, 'memberId');
  requirePoints(points);
  if (idempotencyKey.length === 0 || idempotencyKey.length > 255) {
    throw validationFailed([{ field: 'Idempotency-Key', message: '1 to 255 characters' }]);
  }
  const claim: IdempotencyClaim = {
    // Keys are the caller's; without a caller named, each member's keys are their own.
    scope: options.scope ?? `points-member-${memberId}`,
    key: idempotencyKey,
    requestHash: createHash('sha256')
      .update(JSON.stringify(['points.spend', memberId, points]))
      .digest('hex'),
  };
  return commitPoints(
    memberId,
    async (account, now) => planSpend(accountOf(memberId, account, now), points, now),
    { once: { kind: 'key', claim }, now: options.now, singleFlight: options.singleFlight },
  );
}

/**
 * Primary course: take back the points a source earned, once. When the member already spent them the
 * balance floors at 0 and the entry records the rest as its shortfall (core/points.ts planReverseEarn).
 */
export async function reverseEarn(sourceId: string, options: PointsOptions = {}): Promise<PointsCommitted> {
  requireId(sourceId, 'sourceId');
  const marker = await findPointsSource(sourceId);
  if (!marker) throw notFound('The earn of this source');
  const earn = await findPointsEntry(marker.memberId, marker.earnSeq);
  if (!earn) throw new Error(`Earn ${marker.earnSeq} of ${marker.memberId} is missing under its marker`);
  return commitPoints(
    marker.memberId,
    async (account, now) => planReverseEarn(accountOf(marker.memberId, account, now), earn, now),
    { once: { kind: 'reverse', sourceId }, now: options.now, singleFlight: options.singleFlight },
  );
}

export interface PointsExpiryResult {
  readonly expiredPoints: number;
  readonly entry: PointsEntry | undefined;
}

/**
 * Primary course: expire the member's points older than the rule's months, oldest first. Idempotent:
 * planned on the account's version with the entries it holds, so a second run (or a concurrent one)
 * finds only fresh points left and writes nothing.
 */
export async function expireMemberPoints(
  memberId: string,
  rule: PointsExpiryRule,
  options: PointsOptions = {},
): Promise<PointsExpiryResult> {
  requireId(memberId, 'memberId');
  expiryCutoff(rule, options.now ?? new Date());
  const committed = await commitPoints(
    memberId,
    async (account, now) => {
      if (!account || account.balance === 0) return undefined;
      const cutoff = expiryCutoff(rule, now);
      return planExpire(account, await pointsEntriesAfter(memberId, account.seq, cutoff), cutoff, now);
    },
    { now: options.now, singleFlight: options.singleFlight },
  );
  return { expiredPoints: committed.entry ? -committed.entry.points : 0, entry: committed.entry };
}
