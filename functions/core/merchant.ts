import type { MerchantScope } from './access';

export interface Merchant {
  readonly id: string;
  readonly name: string;
  /** Programs whose cards this merchant may issue, see and use. */
  readonly programIds: readonly string[];
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
}

/** A merchant sees a card only through a program it belongs to; anything else is "not found". */
export const merchantMaySee = (
  merchant: Pick<Merchant, 'programIds'>,
  card: { programId: string },
): boolean => merchant.programIds.includes(card.programId);
