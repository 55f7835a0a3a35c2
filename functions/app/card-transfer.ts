import type { OperationContext } from '../core/card';
import { planTransfer } from '../core/card';
import { DomainError, notFound } from '../core/errors';
import { type Committed, commitCardChanges } from '../store/card-commit';
import { findCard } from '../store/card-reads';
import { getProgram } from '../store/programs';
import {
  type CardResult,
  type CardVisibility,
  type ChangeOptions,
  checkBeforeLane,
  mayNeedPin,
  replayOf,
} from './card-change';

export interface TransferResult extends CardResult {
  readonly counterpart: CardResult;
}

/**
 * Moves value between two cards of the same currency in one transaction: TRANSFER_OUT and TRANSFER_IN
 * entries, each guarded by its card's sequence number. Primary course: the source card's PIN where the
 * policy and its program want it (checked once, before the lanes), then both cards locked in a fixed
 * order and the transfer planned on their current state.
 */
export async function transferValue(
  fromId: string,
  toId: string,
  amount: number | undefined,
  context: OperationContext,
  visible: CardVisibility,
  options: Omit<ChangeOptions, 'early'> = {},
): Promise<Committed<TransferResult>> {
  if (fromId === toId) {
    throw new DomainError('VALIDATION_FAILED', 'A card cannot transfer to itself.', [
      { field: 'toCardId', message: 'must be another card' },
    ]);
  }
  if (mayNeedPin('TRANSFER', context)) {
    try {
      await checkBeforeLane('TRANSFER', await findCard(fromId), visible, context, options.pin);
    } catch (error) {
      const earlier = await replayOf<TransferResult>(options.claim);
      if (earlier) return earlier;
      throw error;
    }
  }
  return commitCardChanges(
    [fromId, toId],
    { ...options, now: context.now },
    {
      plan: async (cards, now) => {
        const from = cards.get(fromId);
        const to = cards.get(toId);
        if (!from || !visible(from)) throw notFound('The card');
        if (!to || !visible(to)) throw notFound('The destination card');
        const toProgram = await getProgram(to.programId, { cached: true });
        const planned = planTransfer(from, to, toProgram, amount, { ...context, now });
        return {
          changes: [planned.out, planned.in],
          result: {
            transaction: planned.out.entry,
            card: planned.out.card,
            counterpart: { transaction: planned.in.entry, card: planned.in.card },
          },
        };
      },
    },
  );
}
