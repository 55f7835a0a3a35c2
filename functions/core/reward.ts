/**
 * A loyalty reward: value loaded onto a member's linked gift card for points. Redeeming one spends the
 * points and loads the card in one transaction (functions/app/loyalty-rewards.ts).
 */
export interface Reward {
  readonly id: string;
  readonly loyaltyProgramId: string;
  readonly name: string;
  readonly pointsCost: number;
  /** Minor units loaded onto the card, in the loyalty program's currency. */
  readonly valueMinor: number;
  readonly active: boolean;
  readonly createdAt: string;
}

/** What a reward redemption answers, and what its Idempotency-Key record keeps for a timeout reversal. */
export interface RewardRedemption {
  readonly rewardId: string;
  readonly memberId: string;
  readonly cardId: string;
  /** The card's LOAD entry. */
  readonly transactionId: string;
  /** The points ledger's SPEND entry number. */
  readonly pointsSeq: number;
  readonly pointsSpent: number;
  readonly valueMinor: number;
  readonly currency: string;
  readonly pointsBalanceAfter: number;
  readonly cardBalanceAfter: number;
  readonly createdAt: string;
}

/** Card entries of rewards carry this reference prefix: they earn no points themselves. */
export const REWARD_REFERENCE_PREFIX = 'loyalty-reward:';
export const rewardReference = (rewardId: string) => `${REWARD_REFERENCE_PREFIX}${rewardId}`;
/** The points entry's reason when a reward's timeout reversal gives its points back. */
export const REWARD_REVERSED_REASON = 'reward reversed';
