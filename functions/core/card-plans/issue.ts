import type { Card, CardType, Metadata, OperationContext, Recipient } from '../card-model';
import { DomainError } from '../errors';
import type { LedgerEntry } from '../ledger';
import type { Program } from '../program';
import { checkLoadAmount, checkMaxBalance, expiryAfter } from '../program';
import { change, requireAmount } from './change';
import { planActivate } from './value';

export interface IssueInput {
  readonly cardId: string;
  readonly last4: string;
  readonly type: CardType;
  readonly amount: number;
  readonly activate: boolean;
  readonly customerId?: string;
  readonly recipient?: Recipient;
  readonly metadata?: Metadata;
  readonly pepperId?: string;
}

/** A new card and its first entries: ISSUE (with any pre-loaded value) and, when sold at once, ACTIVATE. */
export function planIssue(
  program: Program,
  input: IssueInput,
  context: OperationContext,
): { card: Card; entries: LedgerEntry[] } {
  requireAmount(input.amount, true);
  if (context.currency !== undefined && context.currency !== program.currency) {
    throw new DomainError(
      'CURRENCY_MISMATCH',
      `The program issues ${program.currency}, not ${context.currency}.`,
    );
  }
  if (input.amount > 0) checkLoadAmount(program, input.amount);
  checkMaxBalance(program, input.amount);
  const nowIso = context.now.toISOString();
  const expiresAt = expiryAfter(program.expiryPolicy, 'ISSUE', context.now, undefined);
  const blank: Card = {
    id: input.cardId,
    programId: program.id,
    ...(context.actor.type === 'merchant' ? { merchantId: context.actor.id } : {}),
    type: input.type,
    status: 'PENDING',
    currency: program.currency,
    balance: 0,
    available: 0,
    last4: input.last4,
    seq: 0,
    ...(expiresAt ? { expiresAt } : {}),
    createdAt: nowIso,
    updatedAt: nowIso,
    ...(input.customerId ? { customerId: input.customerId } : {}),
    ...(input.recipient ? { recipient: input.recipient } : {}),
    ...(input.metadata ? { metadata: input.metadata } : {}),
    ...(input.pepperId ? { pepperId: input.pepperId } : {}),
  };
  // Sold at once: the value arrives with the activation; otherwise it is pre-loaded on the pending card.
  const issuedValue = input.activate ? 0 : input.amount;
  const issued = { ...blank, balance: issuedValue, available: issuedValue };
  const issue = change(blank, issued, 'ISSUE', issuedValue, context, {});
  if (!input.activate) return { card: issue.card, entries: [issue.entry] };
  const activation = planActivate(issue.card, program, input.amount, context);
  return { card: activation.card, entries: [issue.entry, activation.entry] };
}
