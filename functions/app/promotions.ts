import { DomainError } from '../core/errors';
import { newId } from '../core/ids';
import type { Actor } from '../core/ledger';
import {
  isTargeted,
  NO_COUNTS,
  type Promotion,
  type PromotionCounts,
  type PromotionTarget,
  utcDay,
} from '../core/promotion';
import { linkedCards } from '../store/card-links';
import type { IdempotencyClaim } from '../store/idempotency';
import { getLoyaltyProgram } from '../store/loyalty-programs';
import { countMembersUpTo, listMembers } from '../store/members';
import { findPointsAccount } from '../store/points-ledger';
import { claimDelivery, createPromotion, finishPromotion } from '../store/promotions';
import { recordWalletMessage } from '../store/wallet-messages';

/**
 * Member promotions through the wallet. Primary course: record the promotion (once per Idempotency-Key),
 * walk the program's members page by page, and for each targeted one claim the delivery (once per
 * promotion, within the day's frequency cap), then write a wallet message to each of their linked cards:
 * the wallet-sync consumer pushes it to those cards' Apple and Google passes, as for any card message.
 * The walk runs in the request and is bounded: a program with more than MAX_PROMOTION_MEMBERS members
 * is refused before anything is written (LIMIT_EXCEEDED, 422), never sent to a part of its members. A
 * larger program needs a background fan-out (the export's Step Functions pattern; not built yet).
 */
export const MAX_PROMOTION_MEMBERS = 5_000;

export interface PromotionOptions {
  /** Tests: a lower bound than MAX_PROMOTION_MEMBERS. */
  readonly maxMembers?: number;
}

export interface PromotionInput {
  readonly header: string;
  readonly body: string;
  readonly target: PromotionTarget;
  readonly maxPerMemberPerDay: number;
}

export async function sendPromotion(
  loyaltyProgramId: string,
  input: PromotionInput,
  actor: Actor,
  claim: IdempotencyClaim | undefined,
  now: Date,
  options: PromotionOptions = {},
): Promise<{ result: Promotion; replayed: boolean }> {
  const program = await getLoyaltyProgram(loyaltyProgramId);
  const bound = options.maxMembers ?? MAX_PROMOTION_MEMBERS;
  if ((await countMembersUpTo(program.id, bound)) > bound) {
    throw new DomainError(
      'LIMIT_EXCEEDED',
      `This program has more than ${bound} members: promotions are sent in the request to at most ${bound} members.`,
    );
  }
  const draft: Promotion = {
    id: newId('promo', now),
    loyaltyProgramId: program.id,
    ...input,
    status: 'SENDING',
    counts: NO_COUNTS,
    createdAt: now.toISOString(),
  };
  const created = await createPromotion(draft, claim, now);
  if (created.replayed) return { result: created.promotion, replayed: true };
  const counts = await deliver(draft, actor, now, bound);
  await finishPromotion(draft, counts, new Date());
  return { result: { ...draft, status: 'SENT', counts, sentAt: new Date().toISOString() }, replayed: false };
}

async function deliver(
  promotion: Promotion,
  actor: Actor,
  now: Date,
  bound: number,
): Promise<PromotionCounts> {
  const counts = { ...NO_COUNTS };
  let cursor: string | undefined;
  let seen = 0;
  do {
    const page = await listMembers(promotion.loyaltyProgramId, 100, cursor);
    for (const member of page.items) {
      seen += 1;
      const points = await findPointsAccount(member.id);
      if (!isTargeted(promotion.target, member, points, now)) continue;
      counts.targeted += 1;
      const cards = await linkedCards(member.id);
      if (cards.length === 0) {
        counts.withoutCards += 1;
        continue;
      }
      const claimed = await claimDelivery(
        member.id,
        promotion.id,
        utcDay(now),
        promotion.maxPerMemberPerDay,
        now,
      );
      if (claimed === 'capped') counts.capped += 1;
      if (claimed !== 'claimed') continue;
      for (const card of cards) {
        await recordWalletMessage(
          { cardId: card.cardId },
          { header: promotion.header, body: promotion.body },
          actor,
          { now },
        );
        counts.messages += 1;
      }
      counts.delivered += 1;
    }
    cursor = page.nextCursor ?? undefined;
    // Members who registered since the count are few; the walk still stops at the bound (plus a page).
  } while (cursor && seen < bound + 100);
  return counts;
}
