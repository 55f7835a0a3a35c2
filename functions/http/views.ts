import type { Card } from '../core/card';
import { displayStatus } from '../core/card';
import type { Hold } from '../core/hold';
import type { LedgerEntry } from '../core/ledger';

/** What callers see of a card: never the code, never internal bookkeeping like the entry counter. */
export function cardView(card: Card, now: Date) {
  return {
    id: card.id,
    programId: card.programId,
    type: card.type,
    status: displayStatus(card, now),
    currency: card.currency,
    balance: card.balance,
    available: card.available,
    last4: card.last4,
    expiresAt: card.expiresAt ?? null,
    createdAt: card.createdAt,
    activatedAt: card.activatedAt ?? null,
    updatedAt: card.updatedAt,
    customerId: card.customerId ?? null,
    merchantId: card.merchantId ?? null,
    statusReason: card.statusReason ?? null,
    recipient: card.recipient ?? null,
    metadata: card.metadata ?? {},
  };
}

export function transactionView(entry: LedgerEntry) {
  return {
    id: entry.id,
    cardId: entry.cardId,
    type: entry.type,
    amount: entry.amount,
    currency: entry.currency,
    balanceAfter: entry.balanceAfter,
    availableAfter: entry.availableAfter,
    merchantId: entry.merchantId ?? null,
    actor: { type: entry.actor.type, id: entry.actor.id },
    reason: entry.reason ?? null,
    reference: entry.reference ?? null,
    relatedTransactionId: entry.relatedTransactionId ?? null,
    channel: entry.channel,
    locationId: entry.locationId ?? null,
    terminalId: entry.terminalId ?? null,
    createdAt: entry.createdAt,
  };
}

export function holdView(hold: Hold) {
  return {
    id: hold.id,
    cardId: hold.cardId,
    amount: hold.amount,
    currency: hold.currency,
    status: hold.status,
    expiresAt: hold.expiresAt,
    createdAt: hold.createdAt,
    transactionId: hold.transactionId,
    capturedAmount: hold.capturedAmount ?? null,
    closedAt: hold.closedAt ?? null,
    closingTransactionId: hold.closingTransactionId ?? null,
    reference: hold.reference ?? null,
  };
}

export const pageView = <T, V>(page: { items: T[]; nextCursor: string | null }, view: (item: T) => V) => ({
  items: page.items.map(view),
  nextCursor: page.nextCursor,
});

/**
 * Another merchant's entry on a card of a shared program: what it did to the balance and when, not
 * who, where or under which reference (functions/core/card-policy.ts `ownsEntry`).
 */
export function othersEntryView(entry: LedgerEntry) {
  return {
    ...transactionView(entry),
    merchantId: null,
    actor: { type: entry.actor.type, id: null },
    reason: null,
    reference: null,
    locationId: null,
    terminalId: null,
  };
}
