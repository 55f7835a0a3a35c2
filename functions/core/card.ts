import { DomainError } from './errors';
import type { Actor, Channel, EntryType, LedgerEntry, RequestContext } from './ledger';
import { transactionId } from './ledger';
import { MAX_AMOUNT } from './money';
import type { Program } from './program';
import { checkLoadAmount, checkMaxBalance, expiryAfter } from './program';

/** PENDING (issued, not sold) -> ACTIVE <-> BLOCKED -> DEACTIVATED (final). Expiry is a date. */
export type CardStatus = 'PENDING' | 'ACTIVE' | 'BLOCKED' | 'DEACTIVATED';
export type CardType = 'DIGITAL' | 'PHYSICAL';

export interface Recipient {
  readonly name?: string;
  readonly email?: string;
  readonly message?: string;
}

export type Metadata = Readonly<Record<string, string | number | boolean>>;

export interface Card {
  readonly id: string;
  readonly programId: string;
  /** The merchant that issued it, when a merchant did. */
  readonly merchantId?: string;
  readonly type: CardType;
  readonly status: CardStatus;
  readonly currency: string;
  readonly balance: number;
  /** Balance minus active holds; never below zero. */
  readonly available: number;
  readonly last4: string;
  /** Number of the card's last ledger entry. */
  readonly seq: number;
  readonly expiresAt?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly activatedAt?: string;
  readonly customerId?: string;
  readonly recipient?: Recipient;
  readonly metadata?: Metadata;
  readonly statusReason?: string;
}

/** What a write must still find true of the stored card when it lands (the store turns it into conditions). */
export interface WriteGuard {
  readonly expectedSeq: number;
  readonly status?: CardStatus;
  readonly notExpiredAt?: string;
  readonly currency: string;
  readonly minAvailable?: number;
}

export interface CardChange {
  readonly card: Card;
  readonly entry: LedgerEntry;
  readonly guard: WriteGuard;
}

export type CardOperation =
  | { readonly type: 'ACTIVATE'; readonly amount: number }
  | { readonly type: 'LOAD'; readonly amount: number }
  | { readonly type: 'REDEEM'; readonly amount: number; readonly allowPartial?: boolean }
  | { readonly type: 'ADJUST'; readonly amount: number; readonly reason: string }
  | { readonly type: 'BLOCK'; readonly reason?: string }
  | { readonly type: 'UNBLOCK'; readonly reason?: string }
  | { readonly type: 'DEACTIVATE'; readonly reason?: string };

export interface OperationContext {
  readonly actor: Actor;
  readonly request: RequestContext;
  /** The currency the caller believes the card holds, when it says. */
  readonly currency?: string;
  readonly now: Date;
}

export const isExpired = (card: Pick<Card, 'expiresAt'>, now: Date): boolean =>
  card.expiresAt !== undefined && card.expiresAt <= now.toISOString();

/** The status shown to callers: an expired card behaves as EXPIRED. */
export function displayStatus(card: Card, now: Date): CardStatus | 'EXPIRED' {
  if (card.status !== 'DEACTIVATED' && isExpired(card, now)) return 'EXPIRED';
  return card.status;
}

function requireUsable(card: Card, now: Date): void {
  if (card.status === 'BLOCKED') throw new DomainError('CARD_BLOCKED', 'The card is blocked.');
  if (card.status !== 'ACTIVE')
    throw new DomainError('CARD_NOT_ACTIVE', `The card is ${card.status}, not ACTIVE.`);
  if (isExpired(card, now)) throw new DomainError('CARD_EXPIRED', 'The card has expired.');
}

function requireCurrency(card: Card, currency: string | undefined): void {
  if (currency !== undefined && currency !== card.currency) {
    throw new DomainError('CURRENCY_MISMATCH', `The card holds ${card.currency}, not ${currency}.`);
  }
}

function requireAmount(amount: number, allowZero = false): void {
  if (!Number.isSafeInteger(amount) || amount < (allowZero ? 0 : 1) || amount > MAX_AMOUNT) {
    throw new DomainError('VALIDATION_FAILED', 'The amount must be a positive integer of minor units.', [
      { field: 'amount', message: 'must be a positive integer of minor units' },
    ]);
  }
}

function entryFor(
  card: Card,
  next: Omit<Card, 'seq' | 'updatedAt'>,
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
    createdAt: context.now.toISOString(),
  };
}

function change(
  card: Card,
  next: Omit<Card, 'seq' | 'updatedAt'>,
  type: EntryType,
  amount: number,
  context: OperationContext,
  guard: Omit<WriteGuard, 'expectedSeq' | 'currency'>,
  reason?: string,
): CardChange {
  const entry = entryFor(card, next, type, amount, context, reason);
  return {
    card: { ...next, seq: entry.seq, updatedAt: entry.createdAt },
    entry,
    guard: { expectedSeq: card.seq, currency: card.currency, ...guard },
  };
}

/**
 * Primary course: check the card's state and the program's rules, then describe the new card, its
 * ledger entry and what the write must still find true. Pure: the store performs the write.
 */
export function planOperation(
  card: Card,
  program: Program,
  operation: CardOperation,
  context: OperationContext,
): CardChange {
  const { now } = context;
  const nowIso = now.toISOString();
  requireCurrency(card, context.currency);

  switch (operation.type) {
    case 'ACTIVATE': {
      requireAmount(operation.amount, true);
      if (card.status !== 'PENDING') {
        throw new DomainError(
          'CONFLICT',
          `Only a PENDING card can be activated; this one is ${card.status}.`,
        );
      }
      if (isExpired(card, now)) throw new DomainError('CARD_EXPIRED', 'The card has expired.');
      if (operation.amount > 0) checkLoadAmount(program, operation.amount);
      const balance = card.balance + operation.amount;
      checkMaxBalance(program, balance);
      const expiresAt =
        operation.amount > 0
          ? expiryAfter(program.expiryPolicy, 'LOAD', now, card.expiresAt)
          : card.expiresAt;
      const next = {
        ...card,
        status: 'ACTIVE' as const,
        balance,
        available: card.available + operation.amount,
        activatedAt: nowIso,
        ...(expiresAt ? { expiresAt } : {}),
      };
      return change(card, next, 'ACTIVATE', operation.amount, context, {
        status: 'PENDING',
        notExpiredAt: nowIso,
      });
    }
    case 'LOAD': {
      requireAmount(operation.amount);
      requireUsable(card, now);
      checkLoadAmount(program, operation.amount);
      const balance = card.balance + operation.amount;
      checkMaxBalance(program, balance);
      const expiresAt = expiryAfter(program.expiryPolicy, 'LOAD', now, card.expiresAt);
      const next = {
        ...card,
        balance,
        available: card.available + operation.amount,
        ...(expiresAt ? { expiresAt } : {}),
      };
      return change(card, next, 'LOAD', operation.amount, context, {
        status: 'ACTIVE',
        notExpiredAt: nowIso,
      });
    }
    case 'REDEEM': {
      requireAmount(operation.amount);
      requireUsable(card, now);
      const amount = operation.allowPartial ? Math.min(operation.amount, card.available) : operation.amount;
      if (amount <= 0 || amount > card.available) {
        throw new DomainError('INSUFFICIENT_FUNDS', 'The card does not hold enough available funds.');
      }
      const next = { ...card, balance: card.balance - amount, available: card.available - amount };
      return change(card, next, 'REDEEM', -amount, context, {
        status: 'ACTIVE',
        notExpiredAt: nowIso,
        minAvailable: amount,
      });
    }
    case 'ADJUST': {
      if (
        !Number.isSafeInteger(operation.amount) ||
        operation.amount === 0 ||
        Math.abs(operation.amount) > MAX_AMOUNT
      ) {
        throw new DomainError(
          'VALIDATION_FAILED',
          'The adjustment must be a non-zero integer of minor units.',
          [{ field: 'amount', message: 'must be a non-zero integer of minor units' }],
        );
      }
      if (card.status === 'DEACTIVATED') throw new DomainError('CARD_NOT_ACTIVE', 'The card is DEACTIVATED.');
      if (operation.amount < 0 && card.available < -operation.amount) {
        throw new DomainError(
          'INSUFFICIENT_FUNDS',
          'The adjustment would take the available balance below zero.',
        );
      }
      const next = {
        ...card,
        balance: card.balance + operation.amount,
        available: card.available + operation.amount,
      };
      const type = operation.amount > 0 ? 'ADJUST_INCREMENT' : 'ADJUST_DECREMENT';
      const guard = operation.amount < 0 ? { minAvailable: -operation.amount } : {};
      return change(card, next, type, operation.amount, context, guard, operation.reason);
    }
    case 'BLOCK': {
      if (card.status !== 'ACTIVE') {
        throw new DomainError('CONFLICT', `Only an ACTIVE card can be blocked; this one is ${card.status}.`);
      }
      const next = {
        ...card,
        status: 'BLOCKED' as const,
        ...(operation.reason ? { statusReason: operation.reason } : {}),
      };
      return change(card, next, 'BLOCK', 0, context, { status: 'ACTIVE' }, operation.reason);
    }
    case 'UNBLOCK': {
      if (card.status !== 'BLOCKED') {
        throw new DomainError(
          'CONFLICT',
          `Only a BLOCKED card can be unblocked; this one is ${card.status}.`,
        );
      }
      const { statusReason: _dropped, ...rest } = card;
      const next = { ...rest, status: 'ACTIVE' as const };
      return change(card, next, 'UNBLOCK', 0, context, { status: 'BLOCKED' }, operation.reason);
    }
    case 'DEACTIVATE': {
      if (card.status === 'DEACTIVATED')
        throw new DomainError('CONFLICT', 'The card is already DEACTIVATED.');
      // The balance stays on record (it is still a liability) until a later cash-out or transfer.
      const next = {
        ...card,
        status: 'DEACTIVATED' as const,
        ...(operation.reason ? { statusReason: operation.reason } : {}),
      };
      return change(card, next, 'DEACTIVATE', 0, context, {}, operation.reason);
    }
  }
}

export interface IssueInput {
  readonly cardId: string;
  readonly last4: string;
  readonly type: CardType;
  readonly amount: number;
  readonly activate: boolean;
  readonly customerId?: string;
  readonly recipient?: Recipient;
  readonly metadata?: Metadata;
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
  };
  // Sold at once: the value arrives with the activation; otherwise it is pre-loaded on the pending card.
  const issuedValue = input.activate ? 0 : input.amount;
  const issued = { ...blank, balance: issuedValue, available: issuedValue };
  const issue = change(blank, issued, 'ISSUE', issuedValue, context, {});
  if (!input.activate) return { card: issue.card, entries: [issue.entry] };
  const activation = planOperation(issue.card, program, { type: 'ACTIVATE', amount: input.amount }, context);
  return { card: activation.card, entries: [issue.entry, activation.entry] };
}
