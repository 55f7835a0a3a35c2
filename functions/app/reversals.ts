import type { Card, OperationContext } from '../core/card';
import { DomainError } from '../core/errors';
import type { Hold } from '../core/hold';
import type { LedgerEntry } from '../core/ledger';
import { parseTransactionId } from '../core/ledger';
import type { Committed } from '../store/card-commit';
import { entryWithReturns, findHold } from '../store/card-reads';
import { type IdempotencyClaim, keyState, spendKey } from '../store/idempotency';
import { type CardResult, type CardVisibility, changeCard } from './card-change';
import type { IssuedCard } from './card-issue';
import { getTransaction } from './card-lookup';

export type TimeoutReversal =
  | {
      readonly status: 'REVERSED';
      readonly reversed: LedgerEntry;
      readonly reversal: LedgerEntry;
      readonly card: Card;
    }
  | { readonly status: 'ALREADY_REVERSED'; readonly reversed: LedgerEntry; readonly reversal: LedgerEntry }
  | { readonly status: 'NOTHING_TO_REVERSE' };

/** The entry a committed request produced that a timeout reversal undoes (the value-moving one). */
function entryOf(result: unknown): LedgerEntry | undefined {
  const candidate = result as Partial<CardResult> & Partial<Pick<IssuedCard, 'transactions'>>;
  if (candidate.transactions) return candidate.transactions.find((entry) => entry.type === 'ACTIVATE');
  return candidate.transaction;
}

/**
 * The POS timeout reversal: the till never got an answer for `key`, so undo whatever that request did.
 * Primary course: if the request committed, undo its entry: a hold is voided; a redemption, capture,
 * load or activation is reversed (once; a repeat answers with the same reversal). If nothing committed,
 * spend the key first, so the original, should it still arrive, can never commit. A request that did
 * something final (a reversal, a void, a transfer) is refused with what it did, never answered as if
 * nothing had happened. Idempotent in every branch.
 */
export async function reverseByIdempotencyKey(
  claim: Omit<IdempotencyClaim, 'requestHash'>,
  context: OperationContext,
  visible: CardVisibility,
): Promise<TimeoutReversal> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const state = await keyState<unknown>(claim, context.now);
    if (state.kind === 'spent') return { status: 'NOTHING_TO_REVERSE' };
    if (state.kind === 'unused') {
      if (await spendKey(claim, context.now)) return { status: 'NOTHING_TO_REVERSE' };
      continue; // The original committed a moment ago: reverse it.
    }
    const entry = entryOf(state.result);
    if (!entry) return { status: 'NOTHING_TO_REVERSE' };
    const hold = (state.result as Partial<CardResult>).hold;
    if (entry.type === 'HOLD' && hold) return voidHold(hold, context, visible);
    if (!['REDEEM', 'CAPTURE', 'LOAD', 'ACTIVATE'].includes(entry.type)) {
      throw new DomainError(
        'CONFLICT',
        `The request under this key committed a ${entry.type} (${entry.id}), which a timeout reversal does not undo.`,
      );
    }
    return (await reverseTransaction(entry.id, context, visible, { repeatIsSuccess: true })).result;
  }
  throw new DomainError('CONFLICT', 'The request under this key is still changing; retry the reversal.');
}

/** A hold placed by the lost request is undone by voiding it (once; a repeat finds it voided). */
async function voidHold(
  hold: Hold,
  context: OperationContext,
  visible: CardVisibility,
): Promise<TimeoutReversal> {
  const current = await findHold(hold.cardId, hold.id);
  const placed = await getTransaction(hold.transactionId, visible, context.actor);
  if (current?.status === 'VOIDED' && current.closingTransactionId) {
    return {
      status: 'ALREADY_REVERSED',
      reversed: placed,
      reversal: await getTransaction(current.closingTransactionId, visible, context.actor),
    };
  }
  const { result } = await changeCard(hold.cardId, { type: 'VOID', holdId: hold.id }, context, visible);
  return { status: 'REVERSED', reversed: placed, reversal: result.transaction, card: result.card };
}

/**
 * Undoes one REDEEM, CAPTURE, LOAD or ACTIVATE exactly once, under the caller's Idempotency-Key: the
 * retry of a committed reversal gets the first answer back.
 */
export async function reverseTransaction(
  transactionId: string,
  context: OperationContext,
  visible: CardVisibility,
  options: {
    readonly repeatIsSuccess?: boolean;
    readonly claim?: IdempotencyClaim;
    readonly deadlineMs?: number;
  } = {},
): Promise<Committed<TimeoutReversal & { status: 'REVERSED' | 'ALREADY_REVERSED' }>> {
  const parsed = parseTransactionId(transactionId);
  if (!parsed) throw new DomainError('NOT_FOUND', 'The transaction was not found.');
  const original = await getTransaction(transactionId, visible, context.actor);
  if (options.repeatIsSuccess) {
    const { returns } = await entryWithReturns(parsed.cardId, transactionId);
    if (returns.reversed && returns.reversalId) {
      const reversal = await getTransaction(returns.reversalId, visible, undefined);
      return { result: { status: 'ALREADY_REVERSED', reversed: original, reversal }, replayed: false };
    }
  }
  const { result, replayed } = await changeCard(
    parsed.cardId,
    { type: 'REVERSE', transactionId },
    context,
    visible,
    options,
  );
  return {
    result: { status: 'REVERSED', reversed: original, reversal: result.transaction, card: result.card },
    replayed,
  };
}
