import type { Member } from './member';
import type { PointsAccount } from './points';

/**
 * A member promotion: a wallet message sent to the passes of the linked cards of the members it
 * targets (by tier, by recent activity, and only those who consented to marketing), at most
 * `maxPerMemberPerDay` promotions a member a UTC day. Created QUEUED; a background run walks the
 * program's members page by page (SENDING, its cursor on the promotion) until SENT. Its counts say what
 * happened so far.
 */
export interface PromotionTarget {
  /** Tiers targeted (absent: every tier). */
  readonly tiers?: readonly string[];
  /** Members whose points changed within this many days (absent: any). */
  readonly activeWithinDays?: number;
  /** Members whose points balance is at least this. */
  readonly minPointsBalance?: number;
}

export interface PromotionCounts {
  /** Members of the program walked so far (targeted or not). */
  readonly examined: number;
  /** Members matching the target. */
  readonly targeted: number;
  /** Members whose cards' passes got the message. */
  readonly delivered: number;
  /** Wallet messages written (one per linked card). */
  readonly messages: number;
  /** Members skipped by the frequency cap. */
  readonly capped: number;
  /** Targeted members without a linked card. */
  readonly withoutCards: number;
}

export interface Promotion {
  readonly id: string;
  readonly loyaltyProgramId: string;
  readonly header: string;
  readonly body: string;
  readonly target: PromotionTarget;
  readonly maxPerMemberPerDay: number;
  readonly status: PromotionStatus;
  readonly counts: PromotionCounts;
  /** Pages of members done: the background run's progress (its cursor is stored beside it). */
  readonly pagesDone: number;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly sentAt?: string;
}

export type PromotionStatus = 'QUEUED' | 'SENDING' | 'SENT';

export const NO_COUNTS: PromotionCounts = {
  examined: 0,
  targeted: 0,
  delivered: 0,
  messages: 0,
  capped: 0,
  withoutCards: 0,
};

/** Whether the member is one the promotion targets (consented to marketing, in tier, active enough). */
export function isTargeted(
  target: PromotionTarget,
  member: Pick<Member, 'status' | 'tier' | 'consent'>,
  points: Pick<PointsAccount, 'balance' | 'updatedAt'> | undefined,
  now: Date,
): boolean {
  if (member.status !== 'ACTIVE' || member.consent?.marketing !== true) return false;
  if (target.tiers && !target.tiers.includes(member.tier)) return false;
  if (target.minPointsBalance !== undefined && (points?.balance ?? 0) < target.minPointsBalance) return false;
  if (target.activeWithinDays !== undefined) {
    const since = now.getTime() - target.activeWithinDays * 86_400_000;
    if (!points || Date.parse(points.updatedAt) < since) return false;
  }
  return true;
}

export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** What one member's turn in a promotion's walk came to. */
export type MemberOutcome =
  | { readonly kind: 'not-targeted' }
  | { readonly kind: 'without-cards' }
  | { readonly kind: 'capped' }
  /** Delivered now, or by an earlier run of the same page (its once-record says how many messages). */
  | { readonly kind: 'delivered'; readonly messages: number };

/** The counts of one page of members, from their outcomes (each member counted once). */
export function countOutcomes(outcomes: readonly MemberOutcome[]): PromotionCounts {
  const counts = { ...NO_COUNTS };
  for (const outcome of outcomes) {
    counts.examined += 1;
    if (outcome.kind === 'not-targeted') continue;
    counts.targeted += 1;
    if (outcome.kind === 'without-cards') counts.withoutCards += 1;
    if (outcome.kind === 'capped') counts.capped += 1;
    if (outcome.kind === 'delivered') {
      counts.delivered += 1;
      counts.messages += outcome.messages;
    }
  }
  return counts;
}
