import type { WebhookEventType } from './webhook-events';

/** A merchant's endpoint. Its signing secrets are stored encrypted and never shown after creation. */
export interface Webhook {
  readonly id: string;
  readonly merchantId: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When the secret was last rotated; the one before keeps signing until `previousSecretExpiresAt`. */
  readonly secretRotatedAt?: string;
  readonly previousSecretExpiresAt?: string;
}

export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'DEAD'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One event for one endpoint, with its attempts. */
export interface WebhookDelivery {
  readonly id: string;
  readonly webhookId: string;
  readonly merchantId: string;
  readonly eventId: string;
  readonly eventType: WebhookEventType;
  readonly cardId: string;
  readonly programId: string;
  /** Order within the card's events (see lanePositionOf). */
  readonly position: string;
  /** The exact body sent on every attempt. */
  readonly payload: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly createdAt: string;
  /** Retries stop here (24 h after the event, or after a re-drive). */
  readonly deadline: string;
  readonly nextAttemptAt?: string;
  readonly lastAttemptAt?: string;
  readonly lastError?: string;
  readonly lastStatusCode?: number;
  readonly deliveredAt?: string;
  readonly deadAt?: string;
  readonly redrivenAt?: string;
}

/** At most this many endpoints per merchant. */
export const MAX_WEBHOOKS_PER_MERCHANT = 10;
