import { newId } from '../core/ids';
import type { Actor } from '../core/ledger';
import { NO_COUNTS, type Promotion, type PromotionTarget } from '../core/promotion';
import type { IdempotencyClaim } from '../store/idempotency';
import { getLoyaltyProgram } from '../store/loyalty-programs';
import { createPromotion } from '../store/promotions';

/**
 * Member promotions through the wallet. Primary course: check the program, record the promotion QUEUED
 * (once per Idempotency-Key) and answer at once; the `promotions` scheduled job walks the program's
 * members in the background, whatever their number (app/promotion-run.ts), and the promotion's counts
 * grow page by page until it is SENT.
 */
export interface PromotionInput {
  readonly header: string;
  readonly body: string;
  readonly target: PromotionTarget;
  readonly maxPerMemberPerDay: number;
}

export async function queuePromotion(
  loyaltyProgramId: string,
  input: PromotionInput,
  actor: Actor,
  claim: IdempotencyClaim | undefined,
  now: Date,
): Promise<{ result: Promotion; replayed: boolean }> {
  const program = await getLoyaltyProgram(loyaltyProgramId);
  const promotion: Promotion = {
    id: newId('promo', now),
    loyaltyProgramId: program.id,
    ...input,
    status: 'QUEUED',
    counts: NO_COUNTS,
    pagesDone: 0,
    createdAt: now.toISOString(),
  };
  const created = await createPromotion(promotion, actor, claim, now);
  return { result: created.promotion, replayed: created.replayed };
}
