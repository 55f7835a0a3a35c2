/**
 * An authorisation hold: part of the balance set aside for a later capture (e-commerce checkout).
 * It lowers `available`, never `balance`, until captured (the captured part leaves the balance, the
 * rest is released), voided, or expired by the sweep.
 */
export type HoldStatus = 'ACTIVE' | 'CAPTURED' | 'VOIDED' | 'EXPIRED';

export interface Hold {
  readonly id: string;
  readonly cardId: string;
  readonly amount: number;
  readonly currency: string;
  readonly status: HoldStatus;
  readonly expiresAt: string;
  readonly createdAt: string;
  /** The HOLD entry that placed it. */
  readonly transactionId: string;
  readonly capturedAmount?: number;
  readonly closedAt?: string;
  /** The CAPTURE or VOID entry that ended it. */
  readonly closingTransactionId?: string;
  readonly merchantId?: string;
  readonly reference?: string;
}

export const DEFAULT_HOLD_SECONDS = 7 * 24 * 3600;
export const MIN_HOLD_SECONDS = 60;
export const MAX_HOLD_SECONDS = 90 * 24 * 3600;

export const isHoldExpired = (hold: Pick<Hold, 'expiresAt'>, now: Date): boolean =>
  hold.expiresAt <= now.toISOString();

/** What has been refunded or reversed against one entry: refunds never exceed what it took. */
export interface EntryReturns {
  readonly refunded: number;
  readonly reversed: boolean;
  /** The REVERSAL entry, once reversed. */
  readonly reversalId?: string;
}

export const NO_RETURNS: EntryReturns = { refunded: 0, reversed: false };
