import type { LedgerEntry } from './ledger';
import type { EarnRules, LoyaltyProgram, Tier } from './loyalty-program';
import type { TakeBack } from './points';
import { REWARD_REFERENCE_PREFIX } from './reward';

/**
 * What a card ledger entry earns under a loyalty program's rules, and what it takes back. Pure: the
 * stream consumer (functions/streams/loyalty.ts) applies it to each new entry of a linked card, and the
 * points ledger makes each earn happen once (functions/app/loyalty-earn.ts).
 */
export type EarnSource = Pick<
  LedgerEntry,
  'id' | 'cardId' | 'type' | 'amount' | 'currency' | 'relatedTransactionId' | 'createdAt' | 'reference'
>;

/** One credit an entry earns: its source id is what makes it happen once (a card entry or a bonus). */
export interface PlannedEarn {
  readonly sourceId: string;
  readonly kind: 'REDEEM' | 'LOAD' | 'ACTIVATION_BONUS' | 'FIRST_USE_BONUS';
  readonly points: number;
  /** Whether the day cap applies (bonuses are once per card and are not capped). */
  readonly capped: boolean;
  /** A value earn: the entry's amount (minor units), whose refunds take back their share of the points. */
  readonly sourceAmountMinor?: number;
}

export type EarnDecision =
  | { readonly kind: 'earn'; readonly earns: readonly PlannedEarn[] }
  /**
   * The entry (`takeBackId`) takes back what an earlier entry (`sourceId`) earned: a refund its share,
   * a reversal all that is left (core/points.ts takeBackShare).
   */
  | {
      readonly kind: 'take-back';
      readonly sourceId: string;
      readonly takeBackId: string;
      readonly takeBack: TakeBack;
    }
  | { readonly kind: 'none' };

/** The card ledger entry types the loyalty stream consumer reads (functions/streams/registry.ts). */
export const LOYALTY_ENTRY_TYPES = ['REDEEM', 'CAPTURE', 'LOAD', 'ACTIVATE', 'REVERSAL', 'REFUND'] as const;

export const activationBonusSource = (cardId: string) => `bonus-activation-${cardId}`;
export const firstUseBonusSource = (cardId: string) => `bonus-first-use-${cardId}`;

/** Extra points per unit of the campaigns running at `at` (windows are [from, to)). */
export function campaignExtra(rules: EarnRules, at: string): number {
  const time = Date.parse(at);
  return rules.campaigns
    .filter((campaign) => Date.parse(campaign.from) <= time && time < Date.parse(campaign.to))
    .reduce((sum, campaign) => sum + campaign.extraPointsPerUnit, 0);
}

/** Whole units of |amount| times the rate, times the tier's multiplier, rounded down. */
export function pointsFor(amountMinor: number, minorPerUnit: number, rate: number, tier: Tier): number {
  const units = Math.floor(Math.abs(amountMinor) / minorPerUnit);
  return Math.floor((units * rate * tier.earnMultiplierPercent) / 100);
}

function valueEarn(entry: EarnSource, program: LoyaltyProgram, tier: Tier): PlannedEarn | undefined {
  const redeemed = entry.type === 'REDEEM' || entry.type === 'CAPTURE';
  const rate = redeemed
    ? program.earn.pointsPerUnitRedeemed + campaignExtra(program.earn, entry.createdAt)
    : program.earn.pointsPerUnitLoaded;
  const points = pointsFor(entry.amount, program.minorPerUnit, rate, tier);
  if (points <= 0) return undefined;
  return {
    sourceId: entry.id,
    kind: redeemed ? 'REDEEM' : 'LOAD',
    points,
    capped: true,
    sourceAmountMinor: Math.abs(entry.amount),
  };
}

/**
 * Primary course: a redemption (REDEEM, CAPTURE) earns at the redemption rate plus running campaigns,
 * and a first-use bonus once per card; a load (LOAD, ACTIVATE with value) at the load rate; an
 * activation the activation bonus once per card. A REFUND naming an earlier entry takes back its
 * share of what that entry earned, a REVERSAL all that is left of it. Entries in another currency than
 * the program's earn nothing.
 */
export function decideEarn(entry: EarnSource, program: LoyaltyProgram, tier: Tier): EarnDecision {
  if ((entry.type === 'REVERSAL' || entry.type === 'REFUND') && entry.relatedTransactionId) {
    const takeBack: TakeBack =
      entry.type === 'REFUND'
        ? { kind: 'refund', amountMinor: Math.abs(entry.amount) }
        : { kind: 'reversal' };
    return { kind: 'take-back', sourceId: entry.relatedTransactionId, takeBackId: entry.id, takeBack };
  }
  if (entry.currency !== program.currency) return { kind: 'none' };
  // A reward's own load is paid with points: it earns none.
  if (entry.reference?.startsWith(REWARD_REFERENCE_PREFIX)) return { kind: 'none' };
  const earns: PlannedEarn[] = [];
  if (
    entry.type === 'REDEEM' ||
    entry.type === 'CAPTURE' ||
    entry.type === 'LOAD' ||
    entry.type === 'ACTIVATE'
  ) {
    const value = entry.amount === 0 ? undefined : valueEarn(entry, program, tier);
    if (value) earns.push(value);
  }
  if (entry.type === 'ACTIVATE' && program.earn.activationBonus > 0) {
    const points = program.earn.activationBonus;
    earns.push({
      sourceId: activationBonusSource(entry.cardId),
      kind: 'ACTIVATION_BONUS',
      points,
      capped: false,
    });
  }
  if ((entry.type === 'REDEEM' || entry.type === 'CAPTURE') && program.earn.firstUseBonus > 0) {
    const points = program.earn.firstUseBonus;
    earns.push({
      sourceId: firstUseBonusSource(entry.cardId),
      kind: 'FIRST_USE_BONUS',
      points,
      capped: false,
    });
  }
  return earns.length === 0 ? { kind: 'none' } : { kind: 'earn', earns };
}

/** The points a capped earn may still add today: all of them without a cap, never below 0. */
export function withinDailyCap(points: number, earnedTodayPoints: number, dailyCapPoints: number): number {
  if (dailyCapPoints <= 0) return points;
  return Math.max(0, Math.min(points, dailyCapPoints - earnedTodayPoints));
}

/** The start of the UTC day of `at`. */
export function utcDayStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}
