import type { Member } from '../core/member';
import type { PointsAccount, PointsEntry } from '../core/points';

/** What a member (and care) sees of a member: never the contact's hash or session records. */
export const memberView = (member: Member, account: PointsAccount | undefined) => ({
  id: member.id,
  loyaltyProgramId: member.loyaltyProgramId,
  status: member.status,
  channel: member.channel,
  ...(member.contact ? { contact: member.contact } : {}),
  ...(member.consent ? { consent: member.consent } : {}),
  tier: member.tier,
  tierEarnedPoints: member.tierEarnedPoints,
  pointsBalance: account?.balance ?? 0,
  createdAt: member.createdAt,
});

export const pointsEntryView = (entry: PointsEntry) => ({
  id: entry.id,
  seq: entry.seq,
  type: entry.type,
  points: entry.points,
  balanceAfter: entry.balanceAfter,
  ...(entry.sourceId ? { sourceId: entry.sourceId } : {}),
  ...(entry.reason ? { reason: entry.reason } : {}),
  createdAt: entry.createdAt,
});
