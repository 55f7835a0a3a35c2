import {
  decideEarn,
  type EarnDecision,
  type EarnSource,
  type PlannedEarn,
  utcDayStart,
  withinDailyCap,
} from '../core/earn-rules';
import { DomainError } from '../core/errors';
import type { LoyaltyProgram } from '../core/loyalty-program';
import type { Member } from '../core/member';
import { emptyPointsAccount, type PointsEntry, planEarn } from '../core/points';
import { earnedInWindow, tierFor, tierNamed, tierWindowStart } from '../core/tiers';
import { findCardLink } from '../store/card-links';
import { findLoyaltyProgram } from '../store/loyalty-programs';
import { findMember, setMemberTier } from '../store/members';
import {
  commitPoints,
  findPointsAccount,
  findPointsSource,
  type PointsCommitted,
  pointsEntriesAfter,
} from '../store/points-ledger';
import { takeBackEarn } from './points';

/**
 * Points from the card ledger stream (functions/streams/loyalty.ts calls it for each new entry).
 * Primary course: find the member the entry's card is linked to, let core/earn-rules.ts decide what the
 * entry earns (or takes back) at the member's tier, write each earn through the points ledger under its
 * source marker (the card entry id, or a once-per-card bonus id), so retries and replays of the record
 * earn nothing more; then recompute the member's tier. Entries of unlinked cards, or made before the
 * link, earn nothing.
 */
export type EarnOutcome =
  | { readonly kind: 'unlinked' | 'nothing' }
  | { readonly kind: 'earned'; readonly entries: readonly PointsEntry[]; readonly replayed: number }
  | { readonly kind: 'taken-back'; readonly entry: PointsEntry | undefined };

export async function applyCardEntry(entry: EarnSource, now = new Date()): Promise<EarnOutcome> {
  const link = await findCardLink(entry.cardId);
  if (!link) return { kind: 'unlinked' };
  const program = await findLoyaltyProgram(link.loyaltyProgramId, { cached: true });
  const member = await findMember(link.memberId);
  if (!program || !member || member.status !== 'ACTIVE') return { kind: 'nothing' };
  const decision = decideEarn(entry, program, tierNamed(program, member.tier));
  if (decision.kind === 'none') return { kind: 'nothing' };
  if (decision.kind === 'take-back') {
    const taken = await takeBack(decision, member.id);
    await recomputeTier(member, program, now);
    return { kind: 'taken-back', entry: taken };
  }
  // An entry from before the card was linked belongs to nobody's points.
  if (entry.createdAt < link.linkedAt) return { kind: 'nothing' };
  const entries: PointsEntry[] = [];
  let replayed = 0;
  for (const planned of decision.earns) {
    const committed = await earnOnce(member.id, planned, program);
    if (committed.entry) entries.push(committed.entry);
    if (committed.replayed) replayed += 1;
  }
  await recomputeTier(member, program, now);
  return { kind: 'earned', entries, replayed };
}

/** The earned points of the day so far that count towards the cap (bonuses do not). */
async function cappedEarnedToday(memberId: string, seq: number, now: Date): Promise<number> {
  const today = await pointsEntriesAfter(memberId, seq, new Date(utcDayStart(now).getTime() - 1));
  return today
    .filter(
      (e) => (e.type === 'EARN' || e.type === 'REVERSE_EARN') && !(e.sourceId ?? '').startsWith('bonus-'),
    )
    .reduce((sum, e) => sum + e.points, 0);
}

/**
 * One earn under its source marker. A source already recorded answers its earn (replayed) without a
 * write. The points depend on the day's cap, so a duplicate racing the first may plan other points: the
 * marker's refusal then says the source already earned, which is the answer.
 */
async function earnOnce(
  memberId: string,
  planned: PlannedEarn,
  program: LoyaltyProgram,
): Promise<PointsCommitted> {
  const existing = await findPointsSource(planned.sourceId);
  if (existing) return { entry: undefined, replayed: true };
  try {
    return await commitPoints(
      memberId,
      async (account, now) => {
        const current = account ?? emptyPointsAccount(memberId, now);
        const earnedToday = planned.capped ? await cappedEarnedToday(memberId, current.seq, now) : 0;
        const points = planned.capped
          ? withinDailyCap(planned.points, earnedToday, program.earn.dailyCapPoints)
          : planned.points;
        if (points <= 0) return undefined;
        return planEarn(current, points, planned.sourceId, now);
      },
      { once: { kind: 'earn', sourceId: planned.sourceId, sourceAmountMinor: planned.sourceAmountMinor } },
    );
  } catch (error) {
    if (error instanceof DomainError && error.code === 'IDEMPOTENCY_KEY_REUSED') {
      const marker = await findPointsSource(planned.sourceId);
      if (marker?.memberId === memberId) return { entry: undefined, replayed: true };
    }
    throw error;
  }
}

/**
 * Takes back a refund's share or a reversal's rest of what a source earned, once per refund or
 * reversal entry; a source that earned nothing (or for another member) takes nothing.
 */
async function takeBack(
  decision: Extract<EarnDecision, { kind: 'take-back' }>,
  memberId: string,
): Promise<PointsEntry | undefined> {
  const marker = await findPointsSource(decision.sourceId);
  if (!marker || marker.memberId !== memberId) return undefined;
  const committed = await takeBackEarn(decision.sourceId, decision.takeBack, {
    takeBackId: decision.takeBackId,
  });
  return committed.entry;
}

/** Recomputes the member's tier from the points earned in the rolling window. */
export async function recomputeTier(
  member: Member,
  program: LoyaltyProgram,
  now = new Date(),
): Promise<string> {
  const account = await findPointsAccount(member.id);
  const windowStart = tierWindowStart(program, now);
  const entries = account ? await pointsEntriesAfter(member.id, account.seq, windowStart) : [];
  const earned = earnedInWindow(entries, windowStart);
  const tier = tierFor(program, earned);
  if (tier.name !== member.tier || earned !== member.tierEarnedPoints) {
    await setMemberTier(member.id, tier.name, earned, now);
  }
  return tier.name;
}
