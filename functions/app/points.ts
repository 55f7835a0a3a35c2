import { createHash } from 'node:crypto';
import { notFound, validationFailed } from '../core/errors';
import { MAX_AMOUNT } from '../core/money';
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
  type TakeBack,
  takeBackShare,
} from '../core/points';
import type { IdempotencyClaim } from '../store/idempotency';
import { settlementOf } from '../store/points-items';
import {
  commitPoints,
  findPointsEntry,
  findPointsSource,
  type PointsCommitted,
  pointsEntriesAfter,
} from '../store/points-ledger';
import { commitTakeBack } from '../store/points-take-back';

/**
 * The member points use cases. Each plans on the account with core/points.ts and commits with
 * store/points-ledger.ts, in one conditional transaction with what makes it happen once: the source
 * marker of an earn (a stream retry or replay of the same card ledger entry never earns twice), the
 * Idempotency-Key record of a spend, the take-back record of a refund or reversal (with the earn's
 * running totals on its marker). The expiry sweep needs no record: it is planned on the account's
 * version, and after it nothing is left to expire.
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

function requireAmountMinor(amountMinor: number, field: string): number {
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0 || amountMinor > MAX_AMOUNT) {
    throw validationFailed([{ field, message: `a whole number of minor units from 1 to ${MAX_AMOUNT}` }]);
  }
  return amountMinor;
}

/**
 * Primary course: credit the member's points for a source (a card ledger entry id), once ever.
 * `sourceAmountMinor`, the source entry's amount, lets refunds of it take back their share.
 */
export async function earnPoints(
  memberId: string,
  points: number,
  sourceId: string,
  options: PointsOptions & { readonly sourceAmountMinor?: number } = {},
): Promise<PointsCommitted> {
  requireId(memberId, 'memberId');
  requireId(sourceId, 'sourceId');
  requirePoints(points);
  const { sourceAmountMinor } = options;
  if (sourceAmountMinor !== undefined) requireAmountMinor(sourceAmountMinor, 'sourceAmountMinor');
  return commitPoints(
    memberId,
    async (account, now) => planEarn(accountOf(memberId, account, now), points, sourceId, now),
    {
      once: { kind: 'earn', sourceId, sourceAmountMinor },
      now: options.now,
      singleFlight: options.singleFlight,
    },
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
 * Primary course: take back the points a source earned, all that is left of them, once. When the
 * member already spent them the balance floors at 0 and the entry records the rest as its shortfall
 * (core/points.ts planReverseEarn).
 */
export async function reverseEarn(
  sourceId: string,
  options: PointsOptions & { readonly takeBackId?: string } = {},
): Promise<PointsCommitted> {
  return takeBackEarn(sourceId, { kind: 'reversal' }, options);
}

/**
 * Primary course: a refund of part of what a source entry moved takes back its share of the earn
 * (core/points.ts takeBackShare: floor(earn x refunded total / source amount), less what earlier
 * refunds took), a reversal all that is left; once per take-back (`takeBackId`, the refund or reversal
 * card entry), in one conditional transaction with the earn's running totals. Floored at 0 with a
 * shortfall like every take-back.
 */
export async function takeBackEarn(
  sourceId: string,
  takeBack: TakeBack,
  options: PointsOptions & { readonly takeBackId?: string } = {},
): Promise<PointsCommitted> {
  requireId(sourceId, 'sourceId');
  if (options.takeBackId !== undefined) requireId(options.takeBackId, 'takeBackId');
  if (takeBack.kind === 'refund') requireAmountMinor(takeBack.amountMinor, 'amountMinor');
  const marker = await findPointsSource(sourceId);
  if (!marker) throw notFound('The earn of this source');
  const earn = await findPointsEntry(marker.memberId, marker.earnSeq);
  if (!earn) throw new Error(`Earn ${marker.earnSeq} of ${marker.memberId} is missing under its marker`);
  return commitTakeBack(
    marker.memberId,
    sourceId,
    (account, current, now) => {
      const share = takeBackShare(earn.points, current.sourceAmountMinor, settlementOf(current), takeBack);
      if (!share) return undefined;
      const change =
        share.points === 0
          ? undefined
          : planReverseEarn(
              accountOf(marker.memberId, account, now),
              earn,
              now,
              share.points,
              options.takeBackId,
            );
      return { change, after: share.after };
    },
    { takeBackId: options.takeBackId, now: options.now, singleFlight: options.singleFlight },
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
