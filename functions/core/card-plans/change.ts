import { cohortOf } from '../breakage-counters';
import type { Card, CardChange, OperationContext, WriteGuard } from '../card-model';
import { appliesLimit, type CardVerb } from '../card-policy';
import { DomainError } from '../errors';
import type { Channel, EntryType, LedgerEntry } from '../ledger';
import { transactionId } from '../ledger';
import { chainEntry } from '../ledger-chain';
import { MAX_AMOUNT } from '../money';
import type { Program } from '../program';
import { checkLoadAmount, checkMaxBalance } from '../program';

/** The card as a change leaves it, before its entry number and time are set. */
export type NextCard = Omit<Card, 'seq' | 'updatedAt' | 'chainHash'>;

export function requireCurrency(card: Card, currency: string | undefined): void {
  if (currency !== undefined && currency !== card.currency) {
    throw new DomainError('CURRENCY_MISMATCH', `The card holds ${card.currency}, not ${currency}.`);
  }
}

export function requireAmount(amount: number, allowZero = false): void {
  if (!Number.isSafeInteger(amount) || amount < (allowZero ? 0 : 1) || amount > MAX_AMOUNT) {
    throw new DomainError('VALIDATION_FAILED', 'The amount must be a positive integer of minor units.', [
      { field: 'amount', message: 'must be a positive integer of minor units' },
    ]);
  }
}

/** The program limits the policy names for the verb: value coming in, and the balance it leaves. */
export function checkLimits(
  verb: CardVerb,
  program: Program,
  incoming: number,
  balanceAfter: number,
  options: { readonly load?: boolean } = {},
): void {
  if ((options.load ?? true) && incoming > 0 && appliesLimit(verb, 'LOAD'))
    checkLoadAmount(program, incoming);
  if (incoming > 0 && appliesLimit(verb, 'MAX_BALANCE')) checkMaxBalance(program, balanceAfter);
}

/**
 * An entry's time: the request's, but never before the card's previous entry (the card's updatedAt), so
 * a card's entries are in time order as they are in number order. Two requests racing on one card may
 * take their clocks in one order and commit in the other; without this, a month end falling between
 * them would count the later-numbered entry in one month and the earlier in the next (finance exports
 * read the balance as of a cutoff from the last entry at or before it).
 */
function entryTime(card: Card, now: Date): string {
  const at = now.toISOString();
  return card.seq > 0 && card.updatedAt > at ? card.updatedAt : at;
}

function entryFor(
  card: Card,
  next: NextCard,
  type: EntryType,
  amount: number,
  context: OperationContext,
  reason: string | undefined,
): LedgerEntry {
  const seq = card.seq + 1;
  const channel: Channel = context.request.channel ?? (context.actor.type === 'staff' ? 'CONSOLE' : 'API');
  return {
    id: transactionId(card.id, seq),
    cardId: card.id,
    programId: card.programId,
    issueMonth: cohortOf(card.createdAt),
    seq,
    type,
    amount,
    currency: card.currency,
    balanceAfter: next.balance,
    availableAfter: next.available,
    actor: context.actor,
    ...(context.actor.type === 'merchant' ? { merchantId: context.actor.id } : {}),
    ...(reason ? { reason } : {}),
    ...(context.request.reference ? { reference: context.request.reference } : {}),
    channel,
    ...(context.request.locationId ? { locationId: context.request.locationId } : {}),
    ...(context.request.terminalId ? { terminalId: context.request.terminalId } : {}),
    createdAt: entryTime(card, context.now),
  };
}

/**
 * The change as the store writes it: the new card, its entry and the guard. Asserts the ledger's
 * invariants where they must hold: the entry's balance is the previous balance plus its amount, and
 * available stays within [0, balance].
 */
export function change(
  card: Card,
  next: NextCard,
  type: EntryType,
  amount: number,
  context: OperationContext,
  guard: Omit<WriteGuard, 'expectedSeq' | 'currency'>,
  reason?: string,
  related?: string,
): CardChange {
  if (next.balance > MAX_AMOUNT) {
    throw new DomainError('LIMIT_EXCEEDED', 'The balance would exceed the largest amount a card can hold.');
  }
  if (next.balance !== card.balance + amount || next.available < 0 || next.available > next.balance) {
    throw new Error(`Ledger invariant broken planning ${type} on ${card.id}`);
  }
  const unlinked = entryFor(card, next, type, amount, context, reason);
  // Chained last, over the entry as it is written: the hash covers every field, the link included.
  const entry = chainEntry(
    related ? { ...unlinked, relatedTransactionId: related } : unlinked,
    card.chainHash,
  );
  return {
    card: { ...next, seq: entry.seq, chainHash: entry.hash, updatedAt: entry.createdAt },
    entry,
    guard: { expectedSeq: card.seq, currency: card.currency, ...guard },
  };
}
