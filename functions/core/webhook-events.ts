import { createHash } from 'node:crypto';
import { base32 } from './ids';
import type { EntryType, LedgerEntry } from './ledger';

/**
 * Webhook events: what a merchant can subscribe to, and which events a ledger entry produces. Every
 * event comes from exactly one ledger entry; an entry yields its card.* event first, then
 * transaction.created, so the order of events on a card is the order of its entries.
 */
export const WEBHOOK_EVENT_TYPES = [
  'card.issued',
  'card.activated',
  'card.blocked',
  'card.unblocked',
  'card.deactivated',
  'transaction.created',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const CARD_EVENTS: Partial<Record<EntryType, WebhookEventType>> = {
  ISSUE: 'card.issued',
  ACTIVATE: 'card.activated',
  BLOCK: 'card.blocked',
  UNBLOCK: 'card.unblocked',
  DEACTIVATE: 'card.deactivated',
};

/** Entries that only change a card's state (or its PIN); they are transactions only if value moved. */
const STATE_ONLY: readonly EntryType[] = [
  'ACTIVATE',
  'BLOCK',
  'UNBLOCK',
  'DEACTIVATE',
  'PIN_SET',
  'PIN_RESET',
];

/** The events of one entry, in delivery order. */
export function eventTypesOf(entry: Pick<LedgerEntry, 'type' | 'amount'>): WebhookEventType[] {
  const types: WebhookEventType[] = [];
  const cardEvent = CARD_EVENTS[entry.type];
  if (cardEvent) types.push(cardEvent);
  if (!STATE_ONLY.includes(entry.type) || entry.amount !== 0) types.push('transaction.created');
  return types;
}

const digest = (text: string): string => base32(createHash('sha256').update(text).digest()).slice(0, 26);

/** Deterministic: the same entry always yields the same event ids, however often the stream replays it. */
export const eventIdOf = (transactionId: string, type: WebhookEventType): string =>
  `evt_${digest(`${transactionId}|${type}`)}`;

/** Deterministic: one delivery per (endpoint, event), so a replayed stream record cannot add another. */
export const deliveryIdOf = (webhookId: string, eventId: string): string =>
  `whd_${digest(`${webhookId}|${eventId}`)}`;

/**
 * Where a delivery stands in its lane (one endpoint, one card): entry number, then the event's index
 * within the entry, fixed width so the strings sort in event order.
 */
export const lanePositionOf = (seq: number, index: number): string =>
  `${String(seq).padStart(10, '0')}.${String(index).padStart(2, '0')}`;

export interface WebhookEvent<D = unknown> {
  readonly id: string;
  readonly type: WebhookEventType;
  readonly createdAt: string;
  readonly data: D;
}
