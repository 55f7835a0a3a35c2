import type { EntryReturns, Hold } from './hold';
import type { Actor, LedgerEntry, RequestContext } from './ledger';
import type { PinRecord } from './pin';

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
  /** The hash of entry `seq`: the head of the card's ledger chain (absent until a legacy card's next change). */
  readonly chainHash?: string;
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

/** The card's PIN written with the change: a new hash, or none (cleared); guarded by the version read. */
export interface PinChange {
  readonly next: PinRecord | null;
  readonly expectVersion: number | null;
}

export interface CardChange {
  readonly card: Card;
  readonly entry: LedgerEntry;
  readonly guard: WriteGuard;
  readonly hold?: HoldChange;
  readonly returns?: ReturnsChange;
  readonly pin?: PinChange;
}

export interface OperationContext {
  readonly actor: Actor;
  /** A staff member's roles, all of them (the entry's actor records the first); for the policy. */
  readonly roles?: readonly string[];
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
