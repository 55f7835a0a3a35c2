import type { Actor } from '../ledger';

/**
 * An e-gift delivery (issue #19): the message that takes a digital card to the person it is for. It
 * names the recipient, the sender, a message and when it goes out; the card itself exists from the order
 * on. The message carries a claim link (core/delivery/claim-token.ts), never the code.
 *
 *   SCHEDULED -> SENDING -> SENT -> DELIVERED | BOUNCED | COMPLAINED      (SES events)
 *   SCHEDULED -> CANCELLED                                                 (before it is sent)
 *   SENDING -> FAILED                                                      (the provider refused it)
 *   SENT | DELIVERED -> CLAIMED                                            (the link was opened)
 *   LINK_ISSUED: a bulk batch handed the claim link to its customer in the result file; nothing is sent.
 *   Any sent state -> SCHEDULED again on a resend (to the same or a corrected address).
 */
export const DELIVERY_STATUSES = [
  'SCHEDULED',
  'SENDING',
  'SENT',
  'DELIVERED',
  'BOUNCED',
  'COMPLAINED',
  'FAILED',
  'CANCELLED',
  'CLAIMED',
  'LINK_ISSUED',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryRecipient {
  readonly name?: string;
  readonly email: string;
  /** E.164; a text message goes out too when given. */
  readonly phone?: string;
}

export interface Delivery {
  readonly cardId: string;
  readonly programId: string;
  /** The merchant whose order it was (merchants see only their own). */
  readonly merchantId?: string;
  readonly status: DeliveryStatus;
  readonly recipient: DeliveryRecipient | null;
  readonly senderName: string;
  readonly message?: string;
  readonly designId?: string;
  /** When it goes out, UTC; `timeZone` is the recipient's, in which the order named the time. */
  readonly sendAt: string;
  readonly timeZone: string;
  /** Sends so far (a resend adds one). */
  readonly sends: number;
  readonly sentAt?: string;
  readonly deliveredAt?: string;
  readonly bouncedAt?: string;
  readonly claimedAt?: string;
  readonly cancelledAt?: string;
  /** Why the last send failed or bounced (the provider's words, never the address). */
  readonly problem?: string;
  readonly providerMessageId?: string;
  /** SHA-256 (hex) of the one live claim token; absent before the first send. */
  readonly tokenHash?: string;
  readonly tokenExpiresAt?: string;
  /** Optimistic lock: every change is conditioned on the version it read. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: Pick<Actor, 'type' | 'id'>;
}

/** States in which the message has not gone out yet: it may be cancelled or moved. */
export const NOT_SENT: readonly DeliveryStatus[] = ['SCHEDULED'];
/** States a resend may start from: the message went out (or could not) and the card is not claimed. */
export const RESENDABLE: readonly DeliveryStatus[] = [
  'SENT',
  'DELIVERED',
  'BOUNCED',
  'COMPLAINED',
  'FAILED',
  'LINK_ISSUED',
  'CLAIMED',
];
/** States an SES event may mark. */
export const MARKABLE: readonly DeliveryStatus[] = ['SENT', 'DELIVERED'];
/** States in which the claim link opens the card. */
export const CLAIMABLE: readonly DeliveryStatus[] = [
  'SENDING',
  'SENT',
  'DELIVERED',
  'CLAIMED',
  'LINK_ISSUED',
];

/** A SENDING delivery older than this is taken as lost (the sender crashed) and sent again. */
export const SENDING_LEASE_MS = 10 * 60_000;
