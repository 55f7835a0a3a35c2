import type { LoyaltyProgram, Tier } from './loyalty-program';
import { DEFAULT_TIERS } from './loyalty-program';
import type { PointsEntry } from './points';

/**
 * Tiers by points earned in a rolling window: earns less what reversals took back of them, counted
 * from the entries made inside the window. The highest tier whose threshold the member reaches applies;
 * recomputed after each change of the member's points (functions/app/loyalty-earn.ts) and by the sweep.
 */
export function earnedInWindow(entriesInWindow: readonly PointsEntry[], windowStart: Date): number {
  const startIso = windowStart.toISOString();
  return entriesInWindow.reduce((sum, entry) => {
    if (entry.createdAt <= startIso) return sum;
    if (entry.type === 'EARN') return sum + entry.points;
    // A take-back counts against the window only when the earn it takes back was made inside it.
    if (entry.type === 'REVERSE_EARN' && (entry.relatedEarnedAt ?? '') > startIso) return sum + entry.points;
    return sum;
  }, 0);
}

export function tierFor(program: Pick<LoyaltyProgram, 'tiers'>, earnedPoints: number): Tier {
  const tiers = program.tiers.length > 0 ? program.tiers : DEFAULT_TIERS;
  let chosen = tiers[0] as Tier;
  for (const tier of tiers) if (earnedPoints >= tier.minPoints) chosen = tier;
  return chosen;
}

export function tierNamed(program: Pick<LoyaltyProgram, 'tiers'>, name: string | undefined): Tier {
  const tiers = program.tiers.length > 0 ? program.tiers : DEFAULT_TIERS;
  return tiers.find((tier) => tier.name === name) ?? (tiers[0] as Tier);
}

export const tierWindowStart = (program: Pick<LoyaltyProgram, 'tierWindowDays'>, now: Date): Date =>
  new Date(now.getTime() - program.tierWindowDays * 86_400_000);
