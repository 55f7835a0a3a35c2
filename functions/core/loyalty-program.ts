import { type FieldError, validationFailed } from './errors';

/**
 * A loyalty program: which gift card programs feed it, how points are earned (earn rules), the tiers
 * that change the earn rate, when points expire, and what a point is worth (the liability's value).
 * Pure configuration; core/earn-rules.ts and core/tiers.ts apply it.
 */
export interface CampaignWindow {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** Extra points per currency unit redeemed inside the window (added to the base rate). */
  readonly extraPointsPerUnit: number;
}

export interface EarnRules {
  /** Points per whole currency unit (100 minor units in a 2-decimal currency) redeemed on a linked card. */
  readonly pointsPerUnitRedeemed: number;
  /** Points per unit loaded onto a linked card (0: loads earn nothing). */
  readonly pointsPerUnitLoaded: number;
  /** Once per card, when a linked card is activated. */
  readonly activationBonus: number;
  /** Once per card, on its first redemption while linked. */
  readonly firstUseBonus: number;
  readonly campaigns: readonly CampaignWindow[];
  /** The most points a member may earn in one UTC day (0: no cap). */
  readonly dailyCapPoints: number;
}

export interface Tier {
  readonly name: string;
  /** Points earned in the rolling window from which the tier applies. */
  readonly minPoints: number;
  /** Earn rate multiplier in percent (100: the base rate; 150: half again). */
  readonly earnMultiplierPercent: number;
}

export interface LoyaltyProgram {
  readonly id: string;
  readonly name: string;
  /** Gift card programs whose cards members may link and earn on. */
  readonly cardProgramIds: readonly string[];
  /** The currency of the linked cards and of the points' value. */
  readonly currency: string;
  /** Minor units per whole currency unit (100 for EUR, 1 for JPY). */
  readonly minorPerUnit: number;
  readonly earn: EarnRules;
  /** Lowest first; the first has minPoints 0. */
  readonly tiers: readonly Tier[];
  readonly tierWindowDays: number;
  /** Points expire this many months after they were earned (absent: never). */
  readonly expireAfterMonths?: number;
  /** What one point is worth in minor units, in thousandths (the liability's value): 10 = 0.01 minor. */
  readonly pointValueMilliMinor: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type LoyaltyProgramInput = Omit<LoyaltyProgram, 'id' | 'createdAt' | 'updatedAt'>;

export const DEFAULT_TIERS: readonly Tier[] = [{ name: 'BASE', minPoints: 0, earnMultiplierPercent: 100 }];

const MAX_RATE = 10_000;

function checkCampaigns(campaigns: readonly CampaignWindow[], errors: FieldError[]): void {
  campaigns.forEach((campaign, index) => {
    const from = Date.parse(campaign.from);
    const to = Date.parse(campaign.to);
    if (Number.isNaN(from) || Number.isNaN(to) || from >= to) {
      errors.push({ field: `earn.campaigns.${index}`, message: 'from must be an instant before to' });
    }
  });
}

function checkTiers(tiers: readonly Tier[], errors: FieldError[]): void {
  if (tiers.length === 0 || tiers[0]?.minPoints !== 0) {
    errors.push({ field: 'tiers', message: 'the first tier starts at 0 points' });
  }
  for (let i = 1; i < tiers.length; i++) {
    if ((tiers[i]?.minPoints ?? 0) <= (tiers[i - 1]?.minPoints ?? 0)) {
      errors.push({ field: `tiers.${i}.minPoints`, message: 'tiers go up in points' });
    }
  }
  if (new Set(tiers.map((tier) => tier.name)).size !== tiers.length) {
    errors.push({ field: 'tiers', message: 'tier names are unique' });
  }
}

/** Rules that span fields (each field's own range is checked by the request schema). */
export function checkLoyaltyProgram(input: LoyaltyProgramInput): LoyaltyProgramInput {
  const errors: FieldError[] = [];
  if (input.cardProgramIds.length === 0) {
    errors.push({ field: 'cardProgramIds', message: 'at least one gift card program' });
  }
  const rates = [input.earn.pointsPerUnitRedeemed, input.earn.pointsPerUnitLoaded];
  if (rates.some((rate) => rate < 0 || rate > MAX_RATE)) {
    errors.push({ field: 'earn', message: `rates from 0 to ${MAX_RATE} points a unit` });
  }
  checkCampaigns(input.earn.campaigns, errors);
  checkTiers(input.tiers, errors);
  if (errors.length > 0) throw validationFailed(errors);
  return input;
}

/** The value of `points` in minor units, rounded down (the liability never overstates by a fraction). */
export function pointsValueMinor(
  program: Pick<LoyaltyProgram, 'pointValueMilliMinor'>,
  points: number,
): number {
  return Math.floor((points * program.pointValueMilliMinor) / 1000);
}
