import type { Card, CardChange, OperationContext } from './card-model';
import { requireCurrency } from './card-plans/change';
import { planCapture, planHold, planVoid } from './card-plans/holds';
import { planReverse } from './card-plans/reversal';
import { planBlock, planDeactivate, planPinChange, planUnblock } from './card-plans/status';
import {
  planActivate,
  planAdjust,
  planCashOut,
  planExpire,
  planLoad,
  planRedeem,
  planRefund,
} from './card-plans/value';
import { type CardVerb, requireActor, requireOwn, requireReason, requireState } from './card-policy';
import { notFound } from './errors';
import type { EntryReturns, Hold } from './hold';
import type { LedgerEntry } from './ledger';
import type { PinRecord } from './pin';
import type { Program } from './program';

export * from './card-model';
export { type IssueInput, planIssue } from './card-plans/issue';
export { planReissue, type ReissuePlan } from './card-plans/reissue';
export { planTransfer } from './card-plans/transfer';

export type CardOperation =
  | { readonly type: 'ACTIVATE'; readonly amount: number }
  | { readonly type: 'LOAD'; readonly amount: number }
  | { readonly type: 'REDEEM'; readonly amount: number; readonly allowPartial?: boolean }
  | { readonly type: 'ADJUST'; readonly amount: number; readonly reason: string }
  | { readonly type: 'BLOCK'; readonly reason?: string }
  | { readonly type: 'UNBLOCK'; readonly reason?: string }
  | { readonly type: 'DEACTIVATE'; readonly reason?: string }
  | {
      readonly type: 'HOLD';
      readonly amount: number;
      readonly holdId: string;
      readonly expiresInSeconds: number;
    }
  | { readonly type: 'CAPTURE'; readonly hold: Hold; readonly amount?: number }
  | { readonly type: 'VOID'; readonly hold: Hold; readonly expired?: boolean }
  | {
      readonly type: 'REFUND';
      readonly amount: number;
      readonly original?: { readonly entry: LedgerEntry; readonly returns: EntryReturns };
    }
  | { readonly type: 'REVERSE'; readonly original: LedgerEntry; readonly returns: EntryReturns }
  | { readonly type: 'CLEAR_BALANCE'; readonly reason?: string }
  | {
      readonly type: 'PIN_SET' | 'PIN_RESET';
      /** The new PIN's hash; absent on a reset that clears the PIN. */
      readonly hashed?: { readonly hash: string; readonly salt: string };
      readonly existing?: PinRecord;
      readonly reason?: string;
    }
  | { readonly type: 'EXPIRE' };

/** The policy's verb for an operation (cash-out writes a CLEAR_BALANCE entry). */
export const verbOf = (operation: Pick<CardOperation, 'type'>): CardVerb =>
  operation.type === 'CLEAR_BALANCE' ? 'CASH_OUT' : operation.type;

/** The entry or hold an operation acts on: it must be the card's, and (policy) the caller's own. */
function recordActedOn(
  operation: CardOperation,
): { cardId: string; merchantId?: string; what: 'The transaction' | 'The hold' } | undefined {
  const record = (
    item: { readonly cardId: string; readonly merchantId?: string },
    what: 'The transaction' | 'The hold',
  ) => ({ cardId: item.cardId, ...(item.merchantId ? { merchantId: item.merchantId } : {}), what });
  switch (operation.type) {
    case 'CAPTURE':
    case 'VOID':
      return record(operation.hold, 'The hold');
    case 'REFUND':
      return operation.original ? record(operation.original.entry, 'The transaction') : undefined;
    case 'REVERSE':
      return record(operation.original, 'The transaction');
    default:
      return undefined;
  }
}

const reasonOf = (operation: CardOperation): string | undefined =>
  'reason' in operation ? operation.reason : undefined;

/**
 * Primary course: ask the policy (core/card-policy.ts) whether this actor may use the verb, on this
 * entry or hold, in the card's state, with the reason given; then the verb's planner checks amounts and
 * program limits and describes the new card, its ledger entry and what the write must still find true.
 * Pure: the PIN, where the policy applies it, is checked by the use case before planning; the store
 * performs the write.
 */
export function planOperation(
  card: Card,
  program: Program,
  operation: CardOperation,
  context: OperationContext,
): CardChange {
  const verb = verbOf(operation);
  requireActor(verb, context);
  requireCurrency(card, context.currency);
  const record = recordActedOn(operation);
  if (record && record.cardId !== card.id) throw notFound(record.what);
  if (record) requireOwn(verb, context.actor, record, record.what);
  requireState(verb, context.actor, card, context.now);
  requireReason(verb, context.actor, reasonOf(operation));
  return PLANNERS[operation.type](card, program, operation as never, context);
}

/** The operation whose `type` can be T (PIN_SET and PIN_RESET share one shape). */
type OperationOf<T extends CardOperation['type']> = CardOperation extends infer O
  ? O extends { readonly type: infer U }
    ? T extends U
      ? O
      : never
    : never
  : never;

type Planner<T extends CardOperation['type']> = (
  card: Card,
  program: Program,
  operation: OperationOf<T>,
  context: OperationContext,
) => CardChange;

/** One planner per verb, grouped by what they move (core/card-plans/). */
const PLANNERS: { readonly [T in CardOperation['type']]: Planner<T> } = {
  ACTIVATE: (card, program, op, context) => planActivate(card, program, op.amount, context),
  LOAD: (card, program, op, context) => planLoad(card, program, op.amount, context),
  REDEEM: (card, _program, op, context) => planRedeem(card, op.amount, op.allowPartial ?? false, context),
  REFUND: (card, program, op, context) => planRefund(card, program, op.amount, op.original, context),
  ADJUST: (card, program, op, context) => planAdjust(card, program, op.amount, op.reason, context),
  CLEAR_BALANCE: (card, program, op, context) => planCashOut(card, program, op.reason, context),
  EXPIRE: (card, _program, _op, context) => planExpire(card, context),
  HOLD: (card, _program, op, context) => planHold(card, op.amount, op.holdId, op.expiresInSeconds, context),
  CAPTURE: (card, _program, op, context) => planCapture(card, op.hold, op.amount, context),
  VOID: (card, _program, op, context) => planVoid(card, op.hold, op.expired ?? false, context),
  REVERSE: (card, _program, op, context) => planReverse(card, op.original, op.returns, context),
  BLOCK: (card, _program, op, context) => planBlock(card, op.reason, context),
  UNBLOCK: (card, _program, op, context) => planUnblock(card, op.reason, context),
  DEACTIVATE: (card, program, op, context) => planDeactivate(card, program, op.reason, context),
  PIN_SET: (card, _program, op, context) =>
    planPinChange(card, 'PIN_SET', op.hashed, op.existing, op.reason, context),
  PIN_RESET: (card, _program, op, context) =>
    planPinChange(card, 'PIN_RESET', op.hashed, op.existing, op.reason, context),
};
