import type { Card, OperationContext } from '../core/card';
import { planReissue } from '../core/card';
import { cardIdForCode, generateCode, last4 } from '../core/card-code';
import { notFound } from '../core/errors';
import type { LedgerEntry } from '../core/ledger';
import { type Committed, commitCardChanges } from '../store/card-commit';
import { codeNotIssuedCheck, entryPut, newCardPut } from '../store/card-items';
import { findCard } from '../store/card-reads';
import { countIssuedCard, IssueShards } from '../store/issued-cards';
import { getProgram } from '../store/programs';
import { codePeppers } from '../store/secrets';
import type { CardVisibility, ChangeOptions } from './card-change';

export interface ReissueResult {
  /** The old card, deactivated. */
  readonly card: Card;
  /** The new card and its code (shown once, as at issue). */
  readonly replacement: { readonly card: Card; readonly code: string };
  /** Every entry written: the old card's (TRANSFER_OUT, DEACTIVATE), then the new card's. */
  readonly transactions: readonly LedgerEntry[];
}

/**
 * Replaces a card in one action for customer care, in one transaction: the new card (counted against
 * the program's maxCards, its code checked against older peppers as at issue) with its ISSUE, ACTIVATE
 * and TRANSFER_IN entries, and the old card's TRANSFER_OUT and DEACTIVATE (core/card-plans/reissue.ts),
 * with the idempotency record. Primary course: the commit engine holds the old card's lane and plans on
 * its current state; each attempt draws a fresh code, so a code collision or a full count shard is
 * simply another attempt. A retry after it committed answers the first result (the same new code).
 */
export async function reissueCard(
  cardId: string,
  reason: string,
  context: OperationContext,
  visible: CardVisibility,
  options: Pick<ChangeOptions, 'claim' | 'deadlineMs'> = {},
): Promise<Committed<ReissueResult>> {
  const card = await findCard(cardId);
  if (!card || !visible(card)) throw notFound('The card');
  const program = await getProgram(card.programId, { cached: true });
  const peppers = await codePeppers();
  const shards = new IssueShards(program.id, program.maxCards);
  return commitCardChanges(
    [cardId],
    { ...options, now: context.now },
    {
      plan: async (cards, now) => {
        const old = cards.get(cardId);
        if (!old) throw notFound('The card');
        const code = generateCode(program.codeFormat);
        const newId = cardIdForCode(code, peppers.current.value);
        const planned = planReissue(
          old,
          program,
          { cardId: newId, last4: last4(code), pepperId: peppers.current.id },
          reason,
          { ...context, now },
        );
        const shard = shards.pick() ?? 0;
        const olderIds = [
          ...new Set(peppers.lookupOrder.slice(1).map((pepper) => cardIdForCode(code, pepper.value))),
        ].filter((id) => id !== newId);
        const emptied = planned.old.at(-1)?.card ?? old;
        return {
          changes: [...planned.old],
          alongside: [
            newCardPut(planned.replacement.card),
            countIssuedCard(program.id, shard, program.maxCards),
            ...olderIds.map(codeNotIssuedCheck),
            ...planned.replacement.entries.map(entryPut),
          ],
          result: {
            card: emptied,
            replacement: { card: planned.replacement.card, code },
            transactions: [...planned.old.map((change) => change.entry), ...planned.replacement.entries],
          },
        };
      },
    },
  );
}
