import { type Card, displayStatus } from './card';
import { minorUnits } from './money';

/**
 * Google Wallet gift cards: one GiftCardClass per program, one GiftCardObject per card. Pure: the shapes
 * Google's walletobjects API takes, built from a card; signing and sending live in store/google-wallet.ts.
 */

export type GoogleObjectState = 'ACTIVE' | 'INACTIVE' | 'EXPIRED';

/** Google caps messages that notify at three per pass in 24 hours; beyond that they are shown silently. */
export const GOOGLE_NOTIFY_LIMIT = 3;
export const GOOGLE_NOTIFY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Decisions are remembered twice as long: a stream record replayed late still finds its own. */
const DECISION_MEMORY_MS = 2 * GOOGLE_NOTIFY_WINDOW_MS;

export type GoogleMessageType = 'TEXT_AND_NOTIFY' | 'TEXT';

/**
 * Minor units -> Google's micros (millionths of the major unit), exactly: integer arithmetic on BigInt,
 * so 10^12 minor units stay exact. An int64 in Google's JSON is a string.
 */
export function toMicros(amount: number, currency: string): string {
  if (!Number.isSafeInteger(amount)) throw new RangeError('amounts are integers of minor units');
  const exponent = minorUnits(currency);
  return (BigInt(amount) * 10n ** BigInt(6 - exponent)).toString();
}

/** Ids are `<issuerId>.<suffix>`; card and program ids are already within Google's [A-Za-z0-9._-]. */
export const googleObjectId = (issuerId: string, cardId: string): string => `${issuerId}.${cardId}`;
export const googleClassId = (issuerId: string, programId: string): string => `${issuerId}.${programId}`;

/** ACTIVE while the card can be used; EXPIRED once past its date; INACTIVE otherwise (pending, blocked, ended). */
export function googleObjectState(card: Card, now: Date): GoogleObjectState {
  const status = displayStatus(card, now);
  if (status === 'EXPIRED') return 'EXPIRED';
  return status === 'ACTIVE' ? 'ACTIVE' : 'INACTIVE';
}

/** What the pass shows as the card number: never the code, only its last four characters. */
export const maskedCardNumber = (last4: string): string => `**** ${last4}`;

/** The fields that follow the card's balance and state: the whole PATCH body after a change. */
export function googleBalanceFields(card: Card, now: Date) {
  return {
    balance: { micros: toMicros(card.balance, card.currency), currencyCode: card.currency },
    balanceUpdateTime: { date: card.updatedAt },
    state: googleObjectState(card, now),
  };
}

export interface GoogleIssuer {
  readonly issuerId: string;
  readonly issuerName: string;
}

export function googleGiftCardClass(issuer: GoogleIssuer, program: { id: string; name: string }) {
  return {
    id: googleClassId(issuer.issuerId, program.id),
    issuerName: issuer.issuerName,
    merchantName: program.name,
    // A class saved through a JWT is created for review; Google approves it before the first save shows.
    reviewStatus: 'UNDER_REVIEW',
  };
}

/**
 * The card's object as it is saved. `barcodeValue` is the same non-secret value the Apple pass carries
 * (the card id): a till scans it and looks the card up by id, never by code.
 */
export function googleGiftCardObject(issuer: GoogleIssuer, card: Card, barcodeValue: string, now: Date) {
  return {
    id: googleObjectId(issuer.issuerId, card.id),
    classId: googleClassId(issuer.issuerId, card.programId),
    cardNumber: maskedCardNumber(card.last4),
    barcode: { type: 'QR_CODE', value: barcodeValue, alternateText: maskedCardNumber(card.last4) },
    ...googleBalanceFields(card, now),
  };
}

/**
 * The barcode both wallets show: the card id, not a secret (a till looks the card up by id and the
 * merchant's tenancy rules apply); never the card code.
 */
export const walletBarcodeValue = (card: Pick<Card, 'id'>): string => card.id;

/** One decision about a wallet message on one Google pass (object or class), kept for replays. */
export interface NotifyDecision {
  readonly messageId: string;
  readonly at: string;
  readonly type: GoogleMessageType;
}

/**
 * Whether a new message may notify: fewer than GOOGLE_NOTIFY_LIMIT notifying messages in the last 24 h,
 * counting `alsoNotified` (the class's notifying messages, which reached this pass too).
 */
export function decideMessageType(
  decisions: readonly NotifyDecision[],
  now: Date,
  alsoNotified = 0,
): GoogleMessageType {
  return notifyingCount(decisions, now) + alsoNotified < GOOGLE_NOTIFY_LIMIT ? 'TEXT_AND_NOTIFY' : 'TEXT';
}

/** Decisions worth keeping: older ones can no longer count, nor be replayed from the stream (24 h). */
export const decisionsToKeep = (decisions: readonly NotifyDecision[], now: Date): NotifyDecision[] =>
  decisions.filter((decision) => Date.parse(decision.at) > now.getTime() - DECISION_MEMORY_MS);

export const notifyingCount = (decisions: readonly NotifyDecision[], now: Date): number =>
  decisions.filter(
    (decision) =>
      decision.type === 'TEXT_AND_NOTIFY' &&
      Date.parse(decision.at) > now.getTime() - GOOGLE_NOTIFY_WINDOW_MS,
  ).length;
