import type { MerchantScope } from './access';
import type { CheckLimits } from './check-limits';
import type { MerchantUsagePlan } from './usage-plans';

export interface Merchant {
  readonly id: string;
  readonly name: string;
  /** Programs whose cards this merchant may issue, see and use. */
  readonly programIds: readonly string[];
  /** The API Gateway usage plan tier (rate, burst, daily quota) all of the merchant's keys share. */
  readonly usagePlan?: MerchantUsagePlan;
  /**
   * The value of the merchant's API Gateway API key: a random identifier the authorizer hands API Gateway
   * to count requests against the tier's plan. Not a credential (clients authenticate with their own
   * API keys; the gateway takes usage keys only from the authorizer) and never shown.
   */
  readonly usageIdentifier?: string;
  /** Failed-check limits of the merchant's keys, over its programs' and the defaults (core/check-limits.ts). */
  readonly checkLimits?: CheckLimits;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly merchantId: string;
  readonly scopes: readonly MerchantScope[];
  readonly description?: string;
  readonly createdAt: string;
  readonly lastUsedAt?: string;
  readonly revokedAt?: string;
  /** A rotated key keeps working until then (the grace period), then is refused like a revoked one. */
  readonly expiresAt?: string;
  /** The key this one replaced, or the key that replaced it. */
  readonly rotatedFrom?: string;
  readonly rotatedTo?: string;
}

/** A merchant sees a card only through a program it belongs to; anything else is "not found". */
export const merchantMaySee = (
  merchant: Pick<Merchant, 'programIds'>,
  card: { programId: string },
): boolean => merchant.programIds.includes(card.programId);
