import type { Card, OperationContext } from '../core/card';
import { DomainError } from '../core/errors';
import type { Hold } from '../core/hold';
import type { LedgerEntry } from '../core/ledger';
import { parseTransactionId } from '../core/ledger';
import {
  type CardResult,
  type CardVisibility,
  entryWithReturns,
  findHold,
  getTransaction,
  operateOnCard,
} from './cards';
import { type IdempotencyClaim, keyState, spendKey } from './idempotency';

export type TimeoutReversal =
  | {
      readonly status: 'REVERSED';
      readonly reversed: LedgerEntry;
      readonly reversal: LedgerEntry;
      readonly card: Card;
    }
  | { readonly status: 'ALREADY_REVERSED'; readonly reversed: LedgerEntry; readonly reversal: LedgerEntry }
  | { readonly status: 'NOTHING_TO_REVERSE' };

/** The entry a committed request produced that a reversal undoes (the value-moving one). */
function reversibleEntryOf(result: unknown): LedgerEntry | undefined {
  const candidate = result as Partial<CardResult> & { transactions?: LedgerEntry[] };
  if (candidate.transactions) return candidate.transactions.find((entry) => entry.type === 'ACTIVATE');
  return candidate.transaction;
}

/**
 * The POS timeout reversal: the till never got an answer for `key`, so undo whatever that request did.
 * Primary course: if the request committed, reverse its entry (once; a repeat answers with the same
 * reversal). If nothing committed, spend the key first, so the original, should it still arrive,
 * can never commit. Idempotent in every branch.
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
    const hold = (state.result as Partial<CardResult>).hold;
    if (hold) return voidHold(hold, context, visible);
    const original = reversibleEntryOf(state.result);
    if (!original) {
      return { status: 'NOTHING_TO_REVERSE' };
    }
    return reverseTransaction(original.id, context, visible, { repeatIsSuccess: true });
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
  const placed = await getTransaction(hold.transactionId, visible);
  if (current?.status === 'VOIDED' && current.closingTransactionId) {
    return {
      status: 'ALREADY_REVERSED',
      reversed: placed,
      reversal: await getTransaction(current.closingTransactionId, visible),
    };
  }
  const result = await operateOnCard(
    hold.cardId,
    { type: 'VOID', holdId: hold.id },
    context,
    undefined,
    visible,
  );
  return { status: 'REVERSED', reversed: placed, reversal: result.transaction, card: result.card };
}

/** Undoes one REDEEM, CAPTURE, LOAD or ACTIVATE exactly once. */
export async function reverseTransaction(
  transactionId: string,
  context: OperationContext,
  visible: CardVisibility,
  options: { repeatIsSuccess?: boolean } = {},
): Promise<TimeoutReversal & { status: 'REVERSED' | 'ALREADY_REVERSED' }> {
  const parsed = parseTransactionId(transactionId);
  if (!parsed) throw new DomainError('NOT_FOUND', 'The transaction was not found.');
  const original = await getTransaction(transactionId, visible);
  if (options.repeatIsSuccess) {
    const { returns } = await entryWithReturns(parsed.cardId, transactionId);
    if (returns.reversed && returns.reversalId) {
      return {
        status: 'ALREADY_REVERSED',
        reversed: original,
        reversal: await getTransaction(returns.reversalId, visible),
      };
    }
  }
  const result = await operateOnCard(
    parsed.cardId,
    { type: 'REVERSE', transactionId },
    context,
    undefined,
    visible,
  );
  return { status: 'REVERSED', reversed: original, reversal: result.transaction, card: result.card };
}
