import type { LedgerEntry } from './ledger';

/**
 * What one ledger entry adds to its card's cohort (the card's issue month, UTC) in the month it was made
 * (docs/breakage.md). Four measures, signed minor units:
 *
 * - loaded: value the cohort received: ISSUE, ACTIVATE, LOAD, TRANSFER_IN, ADJUST_INCREMENT, and a REFUND
 *   that names no redemption (new value); a REVERSAL taking value back (a load or activation undone)
 *   subtracts;
 * - withdrawn: value that left the cohort neither redeemed nor broken: TRANSFER_OUT (its fate is decided
 *   in the receiving card's cohort), CLEAR_BALANCE (cash-out), ADJUST_DECREMENT (a correction);
 * - redeemed: REDEEM and CAPTURE; a REFUND naming a redemption and a REVERSAL putting value back (a
 *   redemption or capture undone) subtract;
 * - expired: EXPIRE, breakage already realised.
 *
 * HOLD and VOID move only `available`; state and PIN entries move nothing: they add nothing.
 * The cohort's net loaded value (loaded - withdrawn) = redeemed + expired + outstanding balance.
 */
export const COHORT_MEASURES = ['loaded', 'withdrawn', 'redeemed', 'expired'] as const;
export type CohortMeasure = (typeof COHORT_MEASURES)[number];
export type CohortDeltas = Partial<Record<CohortMeasure, number>>;

/** The cohort month of a card: its issue month in UTC (yyyy-mm). */
export const cohortOf = (cardCreatedAt: string): string => cardCreatedAt.slice(0, 7);

export function cohortDeltas(
  entry: Pick<LedgerEntry, 'type' | 'amount' | 'relatedTransactionId'>,
): CohortDeltas | undefined {
  const value = Math.abs(entry.amount);
  switch (entry.type) {
    case 'ISSUE':
    case 'ACTIVATE':
    case 'LOAD':
    case 'TRANSFER_IN':
    case 'ADJUST_INCREMENT':
      return value === 0 ? undefined : { loaded: value };
    case 'REFUND':
      return entry.relatedTransactionId === undefined ? { loaded: value } : { redeemed: -value };
    case 'REVERSAL':
      // + puts a redemption or capture back; - takes a load or activation back.
      return entry.amount > 0 ? { redeemed: -value } : { loaded: -value };
    case 'REDEEM':
    case 'CAPTURE':
      return { redeemed: value };
    case 'TRANSFER_OUT':
    case 'CLEAR_BALANCE':
    case 'ADJUST_DECREMENT':
      return { withdrawn: value };
    case 'EXPIRE':
      return { expired: value };
    default:
      return undefined;
  }
}
