/**
 * The ledger: one immutable entry per change of a card's balance or state, written in the same
 * transaction as the card. Invariant: card.balance = sum of entry amounts; entries are numbered
 * 1, 2, 3... per card without gaps (the card's `seq` is the last number).
 */
/** Entries that move value: balance or available (holds). */
export const VALUE_ENTRY_TYPES = [
  'ISSUE',
  'ACTIVATE',
  'LOAD',
  'REDEEM',
  'REFUND',
  'HOLD',
  'CAPTURE',
  'VOID',
  'REVERSAL',
  'TRANSFER_OUT',
  'TRANSFER_IN',
  'ADJUST_INCREMENT',
  'ADJUST_DECREMENT',
  'CLEAR_BALANCE',
  'EXPIRE',
] as const;

export const ENTRY_TYPES = [
  ...VALUE_ENTRY_TYPES,
  'BLOCK',
  'UNBLOCK',
  'DEACTIVATE',
  'PIN_SET',
  'PIN_RESET',
] as const;

export type EntryType = (typeof ENTRY_TYPES)[number];

export const CHANNELS = ['POS', 'ONLINE', 'CONSOLE', 'PORTAL', 'SYSTEM', 'API'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface Actor {
  /** `holder`: the card holder, in the portal, having shown the card's code (and PIN where it has one). */
  readonly type: 'merchant' | 'staff' | 'system' | 'holder';
  /** Merchant id, staff user id (JWT sub) or the system job's name. */
  readonly id: string;
  /** The API key used, for merchants. */
  readonly keyId?: string;
  readonly role?: string;
}

/** Where and how a request was made, as the caller tells it. */
export interface RequestContext {
  readonly channel?: Channel;
  readonly locationId?: string;
  readonly terminalId?: string;
  readonly reference?: string;
}

export interface LedgerEntry {
  readonly id: string;
  readonly cardId: string;
  readonly programId: string;
  /**
   * The card's issue month (UTC yyyy-mm): the entry's breakage cohort, so the reporting consumer counts
   * it without reading the card (absent on entries written before the breakage forecast).
   */
  readonly issueMonth?: string;
  readonly seq: number;
  readonly type: EntryType;
  /** Signed minor units: + adds to the balance, - takes from it, 0 for state changes. */
  readonly amount: number;
  readonly currency: string;
  readonly balanceAfter: number;
  readonly availableAfter: number;
  readonly actor: Actor;
  readonly merchantId?: string;
  readonly reason?: string;
  readonly reference?: string;
  readonly relatedTransactionId?: string;
  readonly channel: Channel;
  readonly locationId?: string;
  readonly terminalId?: string;
  readonly createdAt: string;
  /** The hash of the card's previous entry, or the chain's genesis (core/ledger-chain.ts); absent on legacy entries. */
  readonly prevHash?: string;
  /** SHA-256 of this entry with its prevHash (core/ledger-chain.ts); absent on entries written before the chain. */
  readonly hash?: string;
}

/** Transaction ids name their card and sequence, so one GetItem finds an entry. */
export function transactionId(cardId: string, seq: number): string {
  return `tx_${cardId.slice(3)}_${seq}`;
}

export function parseTransactionId(id: string): { cardId: string; seq: number } | undefined {
  const match = /^tx_([0-9a-z]{26})_([1-9][0-9]{0,9})$/.exec(id);
  if (!match?.[1] || !match[2]) return undefined;
  return { cardId: `gc_${match[1]}`, seq: Number(match[2]) };
}

export const sumOfAmounts = (entries: readonly Pick<LedgerEntry, 'amount'>[]): number =>
  entries.reduce((sum, entry) => sum + entry.amount, 0);
