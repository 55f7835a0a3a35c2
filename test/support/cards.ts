import type { CardRequest, CardResult, CardVisibility } from '../../functions/app/card-change';
import { changeCard } from '../../functions/app/card-change';
import { type IssuedCard, issueCard as issue } from '../../functions/app/card-issue';
import { type TransferResult, transferValue } from '../../functions/app/card-transfer';
import { reverseTransaction as reverse } from '../../functions/app/reversals';
import type { IssueInput, OperationContext } from '../../functions/core/card';
import type { Program } from '../../functions/core/program';
import type { EarlyCardRead } from '../../functions/store/card-reads';
import type { IdempotencyClaim } from '../../functions/store/idempotency';

/**
 * The card use cases (functions/app) in the shape the store tests call them: claim as an argument,
 * the result itself back (`replayed` is asserted through the HTTP tests and the `*Committed` calls).
 */
export { getCard, getTransaction, lookupCard } from '../../functions/app/card-lookup';
export { reverseByIdempotencyKey } from '../../functions/app/reversals';
export { allEntries, cardHistory, findCard, findHold, listCards } from '../../functions/store/card-reads';

export async function operateOnCard(
  cardId: string,
  request: CardRequest,
  context: OperationContext,
  claim: IdempotencyClaim | undefined,
  visible: CardVisibility,
  options: { readonly pin?: string; readonly early?: EarlyCardRead } = {},
): Promise<CardResult> {
  return (await changeCard(cardId, request, context, visible, { ...options, claim })).result;
}

export async function issueCard(
  programId: string,
  input: Omit<IssueInput, 'cardId' | 'last4' | 'pepperId'>,
  context: OperationContext,
  claim: IdempotencyClaim | undefined,
  programVisible: (program: Program) => boolean,
): Promise<IssuedCard> {
  return (await issue(programId, input, context, claim, programVisible)).result;
}

export async function transferBetweenCards(
  fromId: string,
  toId: string,
  amount: number | undefined,
  context: OperationContext,
  claim: IdempotencyClaim | undefined,
  visible: CardVisibility,
  pin?: string,
): Promise<TransferResult> {
  return (await transferValue(fromId, toId, amount, context, visible, { claim, pin })).result;
}

export async function reverseTransaction(
  transactionId: string,
  context: OperationContext,
  visible: CardVisibility,
  options: { readonly repeatIsSuccess?: boolean; readonly claim?: IdempotencyClaim } = {},
) {
  return (await reverse(transactionId, context, visible, options)).result;
}
