import type { Card, OperationContext } from '../core/card';
import { planOperation } from '../core/card';
import { DomainError, notFound } from '../core/errors';
import { emptyPointsAccount, planAdjust, planSpend } from '../core/points';
import { REWARD_REVERSED_REASON, type Reward, type RewardRedemption, rewardReference } from '../core/reward';
import { type CardPlan, type Committed, commitCardChanges } from '../store/card-commit';
import { findCardLink } from '../store/card-links';
import { entryWithReturns } from '../store/card-reads';
import { type IdempotencyClaim, keyState, spendKey } from '../store/idempotency';
import { getLoyaltyProgram } from '../store/loyalty-programs';
import { getMember } from '../store/members';
import { accountUpdate, entryPut } from '../store/points-items';
import { findPointsAccount } from '../store/points-ledger';
import { getProgram } from '../store/programs';
import { getReward } from '../store/rewards';
import type { TransactItem } from '../store/transact';

/**
 * Rewards: points become value on a linked gift card. Primary course: the member names a reward and
 * one of their linked cards; the card commit engine plans the card's LOAD (the card policy's rules:
 * active, unexpired, max balance) and, in the same TransactWriteItems, the points SPEND (account on
 * its version with enough points, and the entry) and the Idempotency-Key record with the redemption.
 * Both happen or neither. A timeout reversal by the same key undoes both, again in one transaction.
 */
export interface RewardHooks {
  /** Tests: runs after a plan and before its write (to change what the write's conditions find). */
  readonly beforeWrite?: (attempt: number) => Promise<void>;
}

/**
 * The card change of a reward is the system's, not the holder's: the card policy lets no holder load or
 * reverse (a member reaches this only through the reward routes, which load exactly the reward's value
 * onto the member's own linked card, or reverse exactly that load). The member is named by the points
 * SPEND entry, whose sourceId is the card entry's id.
 */
export const REWARD_ACTOR_ID = 'loyalty-rewards';

const rewardContext = (rewardId: string, now: Date, currency: string): OperationContext => ({
  actor: { type: 'system', id: REWARD_ACTOR_ID },
  request: { channel: 'PORTAL', reference: rewardReference(rewardId) },
  currency,
  now,
});

/** The member's own linked card, or NOT_FOUND (another member's card is not theirs to name). */
async function ownLinkedCard(memberId: string, cardId: string): Promise<void> {
  const link = await findCardLink(cardId);
  if (!link || link.memberId !== memberId) throw notFound('The card');
}

async function pointsItems(
  memberId: string,
  plan: (account: ReturnType<typeof emptyPointsAccount>, now: Date) => ReturnType<typeof planSpend>,
  now: Date,
) {
  const account = (await findPointsAccount(memberId)) ?? emptyPointsAccount(memberId, now);
  const change = plan(account, now);
  const items: TransactItem[] = [accountUpdate(change), entryPut(change.entry)];
  return { change, items };
}

export async function redeemReward(
  memberId: string,
  rewardId: string,
  cardId: string,
  claim: IdempotencyClaim | undefined,
  now: Date,
  hooks: RewardHooks = {},
): Promise<Committed<RewardRedemption>> {
  const member = await getMember(memberId);
  const program = await getLoyaltyProgram(member.loyaltyProgramId, { cached: true });
  const reward: Reward = await getReward(program.id, rewardId);
  if (!reward.active) throw notFound('The reward');
  await ownLinkedCard(memberId, cardId);
  let attempt = 0;
  const plan: CardPlan<RewardRedemption> = {
    plan: async (cards: ReadonlyMap<string, Card>, at: Date) => {
      const card = cards.get(cardId);
      if (!card) throw notFound('The card');
      const cardProgram = await getProgram(card.programId, { cached: true });
      const context = rewardContext(rewardId, at, program.currency);
      const planned = planOperation(card, cardProgram, { type: 'LOAD', amount: reward.valueMinor }, context);
      const points = await pointsItems(
        memberId,
        (account, when) =>
          planSpend(account, reward.pointsCost, when, {
            sourceId: planned.entry.id,
            reason: `reward ${rewardId}`,
          }),
        at,
      );
      const result: RewardRedemption = {
        rewardId,
        memberId,
        cardId,
        transactionId: planned.entry.id,
        pointsSeq: points.change.entry.seq,
        pointsSpent: reward.pointsCost,
        valueMinor: reward.valueMinor,
        currency: planned.card.currency,
        pointsBalanceAfter: points.change.account.balance,
        cardBalanceAfter: planned.card.balance,
        createdAt: at.toISOString(),
      };
      await hooks.beforeWrite?.(attempt++);
      return { changes: [planned], result, alongside: points.items };
    },
  };
  return commitCardChanges([cardId], { claim, now }, plan);
}

export type RewardReversal =
  | {
      readonly status: 'REVERSED';
      readonly redemption: RewardRedemption;
      readonly reversalTransactionId: string;
    }
  | { readonly status: 'ALREADY_REVERSED'; readonly redemption: RewardRedemption }
  | { readonly status: 'NOTHING_TO_REVERSE' };

/**
 * The timeout reversal of a reward redemption whose answer never arrived, by its Idempotency-Key.
 * Primary course: when it committed, reverse the card's LOAD and give the points back (an ADJUST entry)
 * in one transaction; the card refuses a second reversal of the same entry, so the points come back once.
 * When nothing committed, spend the key so the original can never commit later. Idempotent.
 */
export async function reverseReward(
  memberId: string,
  claim: Omit<IdempotencyClaim, 'requestHash'>,
  now: Date,
  hooks: RewardHooks = {},
): Promise<RewardReversal> {
  for (let tries = 0; tries < 3; tries++) {
    const state = await keyState<RewardRedemption>(claim, now);
    if (state.kind === 'spent') return { status: 'NOTHING_TO_REVERSE' };
    if (state.kind === 'unused') {
      if (await spendKey(claim, now)) return { status: 'NOTHING_TO_REVERSE' };
      continue;
    }
    const redemption = state.result;
    if (redemption.memberId !== memberId || !redemption.transactionId)
      return { status: 'NOTHING_TO_REVERSE' };
    return undoRedemption(redemption, now, hooks);
  }
  throw new DomainError('CONFLICT', 'The redemption under this key is still changing; retry the reversal.');
}

async function undoRedemption(
  redemption: RewardRedemption,
  now: Date,
  hooks: RewardHooks,
): Promise<RewardReversal> {
  const { cardId, memberId } = redemption;
  let attempt = 0;
  const plan: CardPlan<string> = {
    plan: async (cards, at) => {
      const card = cards.get(cardId);
      if (!card) throw notFound('The card');
      const cardProgram = await getProgram(card.programId, { cached: true });
      const { entry, returns } = await entryWithReturns(cardId, redemption.transactionId);
      const context = rewardContext(redemption.rewardId, at, card.currency);
      const planned = planOperation(
        card,
        cardProgram,
        { type: 'REVERSE', original: entry, returns },
        context,
      );
      const points = await pointsItems(
        memberId,
        (account, when) => planAdjust(account, redemption.pointsSpent, REWARD_REVERSED_REASON, when),
        at,
      );
      await hooks.beforeWrite?.(attempt++);
      return { changes: [planned], result: planned.entry.id, alongside: points.items };
    },
  };
  try {
    const committed = await commitCardChanges([cardId], { now }, plan);
    return { status: 'REVERSED', redemption, reversalTransactionId: committed.result };
  } catch (error) {
    // The card's entry was reversed already: by this reversal's earlier run, with its points.
    if (error instanceof DomainError && error.code === 'CONFLICT' && /already reversed/.test(error.message)) {
      return { status: 'ALREADY_REVERSED', redemption };
    }
    throw error;
  }
}
