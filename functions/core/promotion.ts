import type { Member } from './member';
import type { PointsAccount } from './points';

/**
 * A member promotion: a wallet message sent to the passes of the linked cards of the members it
 * targets (by tier, by recent activity, and only those who consented to marketing), at most
 * `maxPerMemberPerDay` promotions a member a UTC day. Its counts say what happened.
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
  readonly status: 'SENDING' | 'SENT';
  readonly counts: PromotionCounts;
  readonly createdAt: string;
  readonly sentAt?: string;
}

export const NO_COUNTS: PromotionCounts = {
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
