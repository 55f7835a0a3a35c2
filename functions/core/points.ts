import { DomainError, validationFailed } from './errors';
import { addMonths } from './program';

/**
 * A member's loyalty points ledger, with the money ledger's guarantees: every change is one immutable
 * entry written in one conditional transaction with the account it changes (store/points-ledger.ts).
 * Invariants: account.balance = sum of entry points; entries are numbered 1, 2, 3... per member without
 * gaps (account.seq is the last number and the account's version); the balance is never negative.
 * Points are integers.
 */
export const POINTS_ENTRY_TYPES = ['EARN', 'SPEND', 'REVERSE_EARN', 'EXPIRE', 'ADJUST'] as const;
export type PointsEntryType = (typeof POINTS_ENTRY_TYPES)[number];

/** The most points one entry may move: far above any program's, far below float trouble. */
export const MAX_POINTS_PER_ENTRY = 1_000_000_000;

export interface PointsAccount {
  readonly memberId: string;
  readonly balance: number;
  /** The last entry's number: the account's version, which every write expects. */
  readonly seq: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface PointsEntry {
  readonly id: string;
  readonly memberId: string;
  readonly seq: number;
  readonly type: PointsEntryType;
  /** Signed: + adds to the balance, - takes from it. */
  readonly points: number;
  readonly balanceAfter: number;
  /** EARN: what earned the points (a card ledger entry id); REVERSE_EARN: the earn's source. */
  readonly sourceId?: string;
  /** REVERSE_EARN: the number of the earn it takes back, and when that earn was made. */
  readonly relatedSeq?: number;
  readonly relatedEarnedAt?: string;
  /** REVERSE_EARN: points of the earn not taken back because the member had spent them (see planReverseEarn). */
  readonly shortfall?: number;
  /** REVERSE_EARN: the card ledger entry (a refund or reversal) that took the points back. */
  readonly takenBackBy?: string;
  /** EXPIRE: points earned at or before this instant expired. */
  readonly expiredBefore?: string;
  readonly reason?: string;
  readonly createdAt: string;
}

/** A planned change: the account after it, its entry, and what the write must still find true. */
export interface PointsChange {
  readonly account: PointsAccount;
  readonly entry: PointsEntry;
  /** The account version the change was planned on (0: no account yet). */
  readonly expectedSeq: number;
  /** The balance the account must still hold (spends): stated in the write's condition too. */
  readonly minBalance?: number;
}

export const pointsEntryId = (memberId: string, seq: number): string => `pts_${memberId}_${seq}`;

export function emptyPointsAccount(memberId: string, now: Date): PointsAccount {
  const at = now.toISOString();
  return { memberId, balance: 0, seq: 0, createdAt: at, updatedAt: at };
}

/** Points in a request: a positive integer within the per-entry bound. */
export function requirePoints(points: number, field = 'points'): number {
  if (!Number.isSafeInteger(points) || points <= 0 || points > MAX_POINTS_PER_ENTRY) {
    throw validationFailed([{ field, message: `a whole number from 1 to ${MAX_POINTS_PER_ENTRY}` }]);
  }
  return points;
}

type EntryDetails = Partial<
  Pick<
    PointsEntry,
    'sourceId' | 'relatedSeq' | 'relatedEarnedAt' | 'shortfall' | 'takenBackBy' | 'reason' | 'expiredBefore'
  >
>;

/** Appends one entry to the account, asserting the ledger's invariants. */
function append(
  account: PointsAccount,
  type: PointsEntryType,
  points: number,
  now: Date,
  details: EntryDetails = {},
): PointsChange {
  const balanceAfter = account.balance + points;
  const seq = account.seq + 1;
  if (!Number.isSafeInteger(points) || !Number.isSafeInteger(balanceAfter)) {
    throw new Error(`Points entry ${seq} of ${account.memberId} is not a whole number of points`);
  }
  if (balanceAfter < 0) throw new Error(`Points entry ${seq} of ${account.memberId} would go below zero`);
  const at = now.toISOString();
  const entry: PointsEntry = {
    id: pointsEntryId(account.memberId, seq),
    memberId: account.memberId,
    seq,
    type,
    points,
    balanceAfter,
    ...details,
    createdAt: at,
  };
  const next: PointsAccount = { ...account, balance: balanceAfter, seq, updatedAt: at };
  // Invariant: the new balance is the previous balance plus the entry's points, and the entry says so.
  if (next.balance !== account.balance + entry.points || entry.balanceAfter !== next.balance) {
    throw new Error(`Points entry ${seq} of ${account.memberId} does not follow its account`);
  }
  return { account: next, entry, expectedSeq: account.seq };
}

export function planEarn(account: PointsAccount, points: number, sourceId: string, now: Date): PointsChange {
  return append(account, 'EARN', requirePoints(points), now, { sourceId });
}

export function planSpend(
  account: PointsAccount,
  points: number,
  now: Date,
  details: Pick<EntryDetails, 'sourceId' | 'reason'> = {},
): PointsChange {
  requirePoints(points);
  if (account.balance < points) {
    throw new DomainError('INSUFFICIENT_FUNDS', 'The member does not hold enough points.');
  }
  return { ...append(account, 'SPEND', -points, now, details), minBalance: points };
}

/**
 * Takes back `share` points of one earn (all of them by default). Rule when the member already spent
 * some of them: the balance floors at 0; the entry takes what is there and records the rest as
 * `shortfall` (the points the member kept by spending them first), so the ledger never goes negative
 * and finance sees the gap.
 */
export function planReverseEarn(
  account: PointsAccount,
  earn: PointsEntry,
  now: Date,
  share: number = earn.points,
  takenBackBy?: string,
): PointsChange {
  if (earn.type !== 'EARN' || earn.memberId !== account.memberId) {
    throw new Error(`Entry ${earn.id} is not an earn of ${account.memberId}`);
  }
  if (!Number.isSafeInteger(share) || share <= 0 || share > earn.points) {
    throw new Error(`A take-back of ${share} points does not fit earn ${earn.id} of ${earn.points}`);
  }
  const taken = Math.min(share, account.balance);
  return append(account, 'REVERSE_EARN', 0 - taken, now, {
    ...(earn.sourceId === undefined ? {} : { sourceId: earn.sourceId }),
    relatedSeq: earn.seq,
    relatedEarnedAt: earn.createdAt,
    shortfall: share - taken,
    ...(takenBackBy === undefined ? {} : { takenBackBy }),
  });
}

/**
 * What refunds and a reversal have settled of one earn so far (kept on the earn's source marker and
 * written with each take-back, conditioned on its previous value). `takenBackPoints` counts the points
 * of the earn settled: those taken from the balance plus the shortfalls, so a later take-back never
 * asks again for points the member had already spent.
 */
export interface EarnSettlement {
  readonly refundedMinor: number;
  readonly takenBackPoints: number;
  readonly reversed: boolean;
}

/** A card entry that takes back (part of) an earn: a refund of some minor units, or a reversal. */
export type TakeBack =
  | { readonly kind: 'refund'; readonly amountMinor: number }
  | { readonly kind: 'reversal' };

export interface TakeBackShare {
  /** Points of the earn this take-back settles now (0: nothing to take yet). */
  readonly points: number;
  readonly after: EarnSettlement;
}

/** floor(points x part / whole), exact for any amounts (the product may pass 2^53). */
export function proportionalPoints(points: number, partMinor: number, wholeMinor: number): number {
  if (wholeMinor <= 0 || partMinor < 0 || points < 0) {
    throw new Error(`No share of ${points} points for ${partMinor} of ${wholeMinor}`);
  }
  if (partMinor >= wholeMinor) return points;
  return Number((BigInt(points) * BigInt(partMinor)) / BigInt(wholeMinor));
}

/**
 * The share of an earn a refund or reversal takes back. A refund brings the refunded total to
 * `refundedMinor + amount` (at most the earning entry's amount) and settles the earn up to
 * floor(earn x refunded total / earning amount), less what earlier take-backs settled: the shares of
 * several refunds add up to at most the earn, and the refund that reaches the whole amount settles
 * exactly the rest. A reversal settles everything left. Without the earning amount (earns recorded
 * before it was kept) any refund settles everything left. After a reversal nothing is left.
 * Undefined when there is nothing to record: the earn was reversed, or the take-back settles no point
 * and moves no total (a reversal of an earn refunds already settled). A refund whose share rounds to
 * 0 points still moves the refunded total, which the next refund's share counts.
 */
export function takeBackShare(
  earnPoints: number,
  sourceAmountMinor: number | undefined,
  settled: EarnSettlement,
  takeBack: TakeBack,
): TakeBackShare | undefined {
  if (settled.reversed) return undefined;
  if (settled.takenBackPoints < 0 || settled.takenBackPoints > earnPoints) {
    throw new Error(`Settled ${settled.takenBackPoints} points of an earn of ${earnPoints}`);
  }
  let refundedMinor = settled.refundedMinor;
  let target = earnPoints;
  if (takeBack.kind === 'refund') {
    if (!Number.isSafeInteger(takeBack.amountMinor) || takeBack.amountMinor <= 0) {
      throw new Error(`A refund of ${takeBack.amountMinor} minor units takes nothing back`);
    }
    refundedMinor += takeBack.amountMinor;
    if (sourceAmountMinor !== undefined && sourceAmountMinor > 0) {
      refundedMinor = Math.min(refundedMinor, sourceAmountMinor);
      target = proportionalPoints(earnPoints, refundedMinor, sourceAmountMinor);
    }
  } else if (sourceAmountMinor !== undefined) {
    refundedMinor = Math.max(refundedMinor, sourceAmountMinor);
  }
  const points = Math.max(0, target - settled.takenBackPoints);
  if (points === 0 && (takeBack.kind === 'reversal' || refundedMinor === settled.refundedMinor)) {
    return undefined;
  }
  const after: EarnSettlement = {
    refundedMinor,
    takenBackPoints: settled.takenBackPoints + points,
    reversed: takeBack.kind === 'reversal',
  };
  // Invariant: what is settled of an earn never passes the earn.
  if (after.takenBackPoints > earnPoints) throw new Error('A take-back would settle more than its earn');
  return { points, after };
}

/** A staff correction: signed points with a reason; never below zero. */
export function planAdjust(account: PointsAccount, points: number, reason: string, now: Date): PointsChange {
  requirePoints(Math.abs(points));
  if (reason.trim() === '') throw validationFailed([{ field: 'reason', message: 'required' }]);
  if (account.balance + points < 0) {
    throw new DomainError('INSUFFICIENT_FUNDS', 'The member does not hold enough points.');
  }
  return append(account, 'ADJUST', points, now, { reason });
}

/** An expiry rule of a program: points earned more than `expireAfterMonths` months ago expire. */
export interface PointsExpiryRule {
  readonly expireAfterMonths: number;
}

export function expiryCutoff(rule: PointsExpiryRule, now: Date): Date {
  const months = rule.expireAfterMonths;
  if (!Number.isSafeInteger(months) || months < 1 || months > 1200) {
    throw validationFailed([{ field: 'expireAfterMonths', message: 'a whole number from 1 to 1200' }]);
  }
  return addMonths(now, -months);
}

/**
 * The points still fresh at the cutoff, from the entries made after it: credits (earns, positive
 * adjustments) less what reversals took back of those same credits.
 */
export function freshPoints(entriesAfterCutoff: readonly PointsEntry[], cutoff: Date): number {
  const cutoffIso = cutoff.toISOString();
  return entriesAfterCutoff.reduce((fresh, entry) => {
    if ((entry.type === 'EARN' || entry.type === 'ADJUST') && entry.points > 0) return fresh + entry.points;
    if (entry.type === 'REVERSE_EARN' && (entry.relatedEarnedAt ?? '') > cutoffIso)
      return fresh + entry.points;
    return fresh;
  }, 0);
}

/**
 * Points expire first in, first out: every debit (spend, expiry, negative adjustment) uses the oldest
 * points first, so what remains is the newest credits. What expires is then the balance beyond the
 * fresh points; after an expiry the balance equals them, so a second run expires nothing. Undefined
 * when nothing expires (no entry is written).
 */
export function planExpire(
  account: PointsAccount,
  entriesAfterCutoff: readonly PointsEntry[],
  cutoff: Date,
  now: Date,
): PointsChange | undefined {
  const cutoffIso = cutoff.toISOString();
  if (entriesAfterCutoff.some((entry) => entry.createdAt <= cutoffIso || entry.seq > account.seq)) {
    throw new Error(`Expiry of ${account.memberId} was given entries outside its window`);
  }
  const expiring = Math.max(0, account.balance - freshPoints(entriesAfterCutoff, cutoff));
  if (expiring === 0) return undefined;
  return append(account, 'EXPIRE', -expiring, now, { expiredBefore: cutoffIso });
}

export const sumOfPoints = (entries: readonly Pick<PointsEntry, 'points'>[]): number =>
  entries.reduce((sum, entry) => sum + entry.points, 0);
