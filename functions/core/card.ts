import { DomainError } from './errors';
import { type EntryReturns, type Hold, isHoldExpired } from './hold';
import type { Actor, Channel, EntryType, LedgerEntry, RequestContext } from './ledger';
import { transactionId } from './ledger';
import { MAX_AMOUNT } from './money';
import type { PinRecord } from './pin';
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
  /**
   * Which version of the code pepper derived this card's id from its code (absent on cards issued before
   * pepper rotation existed: they were derived with the first pepper). Internal: never shown to callers.
   */
  readonly pepperId?: string;
}

/** What a write must still find true of the stored card when it lands (the store turns it into conditions). */
export interface WriteGuard {
  readonly expectedSeq: number;
  readonly status?: CardStatus;
  readonly notExpiredAt?: string;
  readonly currency: string;
  readonly minAvailable?: number;
  readonly maxBalance?: number;
}

/** A hold written with the change: a new one, or an ACTIVE one that this change ends. */
export interface HoldChange {
  readonly next: Hold;
  readonly expect: 'NEW' | 'ACTIVE';
}

/** The running refund/reversal total of an earlier entry, moved in the same transaction. */
export interface ReturnsChange {
  readonly seq: number;
  readonly before: EntryReturns;
  readonly after: EntryReturns;
}

export interface CardChange {
  readonly card: Card;
  readonly entry: LedgerEntry;
  readonly guard: WriteGuard;
  readonly hold?: HoldChange;
  readonly returns?: ReturnsChange;
  readonly pin?: PinChange;
}

/** The card's PIN written with the change: a new hash, or none (cleared); guarded by the version read. */
export interface PinChange {
  readonly next: PinRecord | null;
  readonly expectVersion: number | null;
}

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
    createdAt: entryTime(card, context.now),
  };
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

function change(
  card: Card,
  next: Omit<Card, 'seq' | 'updatedAt'>,
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
  const entry = entryFor(card, next, type, amount, context, reason);
  return {
    card: { ...next, seq: entry.seq, updatedAt: entry.createdAt },
    entry: related ? { ...entry, relatedTransactionId: related } : entry,
    guard: { expectedSeq: card.seq, currency: card.currency, ...guard },
  };
}

function requireOpenHold(hold: Hold, card: Card, now: Date): void {
  if (hold.cardId !== card.id) throw new DomainError('NOT_FOUND', 'The hold was not found.');
  if (hold.status !== 'ACTIVE') throw new DomainError('CONFLICT', `The hold is already ${hold.status}.`);
  if (isHoldExpired(hold, now))
    throw new DomainError('CONFLICT', 'The hold has expired; its funds were released.');
}

/** Entries whose money can come back to the card by refund or reversal. */
const RETURNABLE: readonly EntryType[] = ['REDEEM', 'CAPTURE'];
const REVERSIBLE: readonly EntryType[] = ['REDEEM', 'CAPTURE', 'LOAD', 'ACTIVATE'];

function requireOwnEntry(card: Card, entry: LedgerEntry): void {
  if (entry.cardId !== card.id) throw new DomainError('NOT_FOUND', 'The transaction was not found.');
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
      const emptyOnly = program.deactivation === 'REQUIRE_ZERO_BALANCE';
      if (emptyOnly && card.balance !== 0) {
        throw new DomainError(
          'CONFLICT',
          'This program deactivates only empty cards: cash out or transfer the balance first.',
        );
      }
      // Otherwise the balance stays on record (still a liability) until a transfer or cash-out moves it.
      const next = {
        ...card,
        status: 'DEACTIVATED' as const,
        ...(operation.reason ? { statusReason: operation.reason } : {}),
      };
      return change(
        card,
        next,
        'DEACTIVATE',
        0,
        context,
        emptyOnly ? { maxBalance: 0 } : {},
        operation.reason,
      );
    }
    case 'HOLD': {
      requireAmount(operation.amount);
      requireUsable(card, now);
      if (operation.amount > card.available) {
        throw new DomainError('INSUFFICIENT_FUNDS', 'The card does not hold enough available funds.');
      }
      const next = { ...card, available: card.available - operation.amount };
      const planned = change(card, next, 'HOLD', 0, context, {
        status: 'ACTIVE',
        notExpiredAt: nowIso,
        minAvailable: operation.amount,
      });
      const hold: Hold = {
        id: operation.holdId,
        cardId: card.id,
        amount: operation.amount,
        currency: card.currency,
        status: 'ACTIVE',
        expiresAt: new Date(now.getTime() + operation.expiresInSeconds * 1000).toISOString(),
        createdAt: nowIso,
        transactionId: planned.entry.id,
        ...(context.actor.type === 'merchant' ? { merchantId: context.actor.id } : {}),
        ...(context.request.reference ? { reference: context.request.reference } : {}),
      };
      return { ...planned, hold: { next: hold, expect: 'NEW' } };
    }
    case 'CAPTURE': {
      const { hold } = operation;
      requireOpenHold(hold, card, now);
      requireUsable(card, now);
      const amount = operation.amount ?? hold.amount;
      requireAmount(amount);
      if (amount > hold.amount) {
        throw new DomainError('LIMIT_EXCEEDED', 'A capture cannot take more than the hold set aside.');
      }
      // The captured part leaves the balance; the uncaptured rest becomes available again.
      const next = {
        ...card,
        balance: card.balance - amount,
        available: card.available + hold.amount - amount,
      };
      const planned = change(
        card,
        next,
        'CAPTURE',
        -amount,
        context,
        { status: 'ACTIVE', notExpiredAt: nowIso },
        undefined,
        hold.transactionId,
      );
      const closed: Hold = {
        ...hold,
        status: 'CAPTURED',
        capturedAmount: amount,
        closedAt: nowIso,
        closingTransactionId: planned.entry.id,
      };
      return { ...planned, hold: { next: closed, expect: 'ACTIVE' } };
    }
    case 'VOID': {
      const { hold } = operation;
      if (hold.cardId !== card.id) throw new DomainError('NOT_FOUND', 'The hold was not found.');
      if (hold.status !== 'ACTIVE') throw new DomainError('CONFLICT', `The hold is already ${hold.status}.`);
      const next = { ...card, available: card.available + hold.amount };
      const planned = change(
        card,
        next,
        'VOID',
        0,
        context,
        {},
        operation.expired ? 'hold expired' : undefined,
        hold.transactionId,
      );
      const closed: Hold = {
        ...hold,
        status: operation.expired ? 'EXPIRED' : 'VOIDED',
        closedAt: nowIso,
        closingTransactionId: planned.entry.id,
      };
      return { ...planned, hold: { next: closed, expect: 'ACTIVE' } };
    }
    case 'REFUND': {
      requireAmount(operation.amount);
      requireUsable(card, now);
      const { original } = operation;
      let returns: ReturnsChange | undefined;
      if (original) {
        requireOwnEntry(card, original.entry);
        if (!RETURNABLE.includes(original.entry.type)) {
          throw new DomainError(
            'CONFLICT',
            `A ${original.entry.type} cannot be refunded; only redemptions and captures.`,
          );
        }
        const left = -original.entry.amount - original.returns.refunded;
        if (operation.amount > left) {
          throw new DomainError(
            'LIMIT_EXCEEDED',
            `At most ${left} minor units of that transaction can still be refunded.`,
          );
        }
        returns = {
          seq: original.entry.seq,
          before: original.returns,
          after: { ...original.returns, refunded: original.returns.refunded + operation.amount },
        };
      }
      // Money back for a named redemption may lift the balance past the program maximum; other money may not.
      if (!original) checkMaxBalance(program, card.balance + operation.amount);
      const next = {
        ...card,
        balance: card.balance + operation.amount,
        available: card.available + operation.amount,
      };
      const planned = change(
        card,
        next,
        'REFUND',
        operation.amount,
        context,
        { status: 'ACTIVE', notExpiredAt: nowIso },
        undefined,
        original?.entry.id,
      );
      return returns ? { ...planned, returns } : planned;
    }
    case 'REVERSE': {
      const { original, returns } = operation;
      requireOwnEntry(card, original);
      if (!REVERSIBLE.includes(original.type)) {
        throw new DomainError(
          'CONFLICT',
          `A ${original.type} cannot be reversed; only ${REVERSIBLE.join(', ')}.`,
        );
      }
      if (returns.reversed) throw new DomainError('CONFLICT', 'That transaction was already reversed.');
      if (card.status === 'DEACTIVATED') throw new DomainError('CARD_NOT_ACTIVE', 'The card is DEACTIVATED.');
      const after = { refunded: returns.refunded, reversed: true };
      const returnsChange: ReturnsChange = { seq: original.seq, before: returns, after };
      if (original.type === 'REDEEM' || original.type === 'CAPTURE') {
        const amount = -original.amount - returns.refunded;
        if (amount <= 0) throw new DomainError('CONFLICT', 'That transaction was already refunded in full.');
        const next = { ...card, balance: card.balance + amount, available: card.available + amount };
        const planned = change(card, next, 'REVERSAL', amount, context, {}, undefined, original.id);
        return {
          ...planned,
          returns: {
            ...returnsChange,
            after: { refunded: -original.amount, reversed: true, reversalId: planned.entry.id },
          },
        };
      }
      // A LOAD or ACTIVATE takes its value back out, if it is still there.
      const amount = original.amount;
      if (amount > card.available) {
        throw new DomainError('INSUFFICIENT_FUNDS', 'The loaded value has already been spent or held.');
      }
      if (original.type === 'ACTIVATE' && card.status !== 'ACTIVE') {
        throw new DomainError(
          'CONFLICT',
          `Only an ACTIVE card can have its activation reversed; this one is ${card.status}.`,
        );
      }
      const base = { ...card, balance: card.balance - amount, available: card.available - amount };
      if (original.type === 'ACTIVATE') {
        const { activatedAt: _undone, ...pending } = base;
        const next = { ...pending, status: 'PENDING' as const };
        const planned = change(
          card,
          next,
          'REVERSAL',
          -amount,
          context,
          { status: 'ACTIVE', minAvailable: amount },
          undefined,
          original.id,
        );
        return {
          ...planned,
          returns: { ...returnsChange, after: { ...after, reversalId: planned.entry.id } },
        };
      }
      const planned = change(
        card,
        base,
        'REVERSAL',
        -amount,
        context,
        { minAvailable: amount },
        undefined,
        original.id,
      );
      return { ...planned, returns: { ...returnsChange, after: { ...after, reversalId: planned.entry.id } } };
    }
    case 'CLEAR_BALANCE': {
      if (card.status === 'PENDING' || card.status === 'DEACTIVATED') {
        throw new DomainError('CARD_NOT_ACTIVE', `The card is ${card.status}.`);
      }
      if (card.available !== card.balance) {
        throw new DomainError('CONFLICT', 'Capture or void the open holds before cashing out.');
      }
      if (card.balance === 0)
        throw new DomainError('INSUFFICIENT_FUNDS', 'The card holds nothing to cash out.');
      if (!program.cashOut.enabled)
        throw new DomainError('FORBIDDEN', 'This program does not allow cash-out.');
      if (program.cashOut.maxBalance !== undefined && card.balance > program.cashOut.maxBalance) {
        throw new DomainError(
          'LIMIT_EXCEEDED',
          'This program cashes out only balances up to its cash-out limit.',
        );
      }
      const next = { ...card, balance: 0, available: 0 };
      return change(
        card,
        next,
        'CLEAR_BALANCE',
        -card.balance,
        context,
        { minAvailable: card.balance },
        operation.reason,
      );
    }
    case 'PIN_SET':
    case 'PIN_RESET': {
      if (card.status === 'DEACTIVATED') throw new DomainError('CARD_NOT_ACTIVE', 'The card is DEACTIVATED.');
      const planned = change(card, { ...card }, operation.type, 0, context, {}, operation.reason);
      const version = (operation.existing?.version ?? 0) + 1;
      const next: PinRecord | null = operation.hashed
        ? { cardId: card.id, ...operation.hashed, failures: 0, version, updatedAt: nowIso }
        : null;
      return { ...planned, pin: { next, expectVersion: operation.existing?.version ?? null } };
    }
    case 'EXPIRE': {
      // Breakage: an expired card's remaining value leaves the balance, once.
      if (!isExpired(card, now)) throw new DomainError('CONFLICT', 'The card has not expired.');
      if (card.balance === 0) throw new DomainError('CONFLICT', 'The card holds no value to expire.');
      if (card.available !== card.balance)
        throw new DomainError('CONFLICT', 'The card still has open holds.');
      const next = { ...card, balance: 0, available: 0 };
      return change(card, next, 'EXPIRE', -card.balance, context, { minAvailable: card.balance }, 'expired');
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
  const activation = planOperation(issue.card, program, { type: 'ACTIVATE', amount: input.amount }, context);
  return { card: activation.card, entries: [issue.entry, activation.entry] };
}

/**
 * Value from one card to another of the same currency (card replacement, a gift between holders).
 * The whole available balance when no amount is given. Support may empty a blocked or deactivated
 * card into its replacement; everyone else moves value between active cards only.
 */
export function planTransfer(
  from: Card,
  to: Card,
  toProgram: Program,
  amount: number | undefined,
  context: OperationContext,
): { out: CardChange; in: CardChange } {
  const { now } = context;
  const nowIso = now.toISOString();
  requireCurrency(from, context.currency);
  if (to.currency !== from.currency) {
    throw new DomainError(
      'CURRENCY_MISMATCH',
      `The destination card holds ${to.currency}, not ${from.currency}.`,
    );
  }
  const staff = context.actor.type === 'staff';
  if (!(staff && (from.status === 'BLOCKED' || from.status === 'DEACTIVATED'))) requireUsable(from, now);
  if (isExpired(from, now)) throw new DomainError('CARD_EXPIRED', 'The source card has expired.');
  requireUsable(to, now);
  const value = amount ?? from.available;
  if (amount !== undefined) requireAmount(amount);
  if (value <= 0 || value > from.available) {
    throw new DomainError('INSUFFICIENT_FUNDS', 'The source card does not hold enough available funds.');
  }
  checkMaxBalance(toProgram, to.balance + value);
  const outNext = { ...from, balance: from.balance - value, available: from.available - value };
  const inNext = { ...to, balance: to.balance + value, available: to.available + value };
  const out = change(from, outNext, 'TRANSFER_OUT', -value, context, {
    status: from.status,
    minAvailable: value,
  });
  const incoming = change(to, inNext, 'TRANSFER_IN', value, context, {
    status: 'ACTIVE',
    notExpiredAt: nowIso,
  });
  return {
    out: { ...out, entry: { ...out.entry, relatedTransactionId: incoming.entry.id } },
    in: { ...incoming, entry: { ...incoming.entry, relatedTransactionId: out.entry.id } },
  };
}
