/** Key builders for the single table; the layout is described in table-definition.ts. */
export const programKey = (programId: string) => ({ PK: `PROGRAM#${programId}`, SK: 'PROGRAM' });
/** One shard of a program's count of issued cards (store/issued-cards.ts). */
export const issuedCountKey = (programId: string, shard: number) => ({
  PK: `PROGRAM#${programId}`,
  SK: `ISSUED#${String(shard).padStart(2, '0')}`,
});
export const merchantKey = (merchantId: string) => ({ PK: `MERCHANT#${merchantId}`, SK: 'MERCHANT' });
export const apiKeyKey = (keyId: string) => ({ PK: `APIKEY#${keyId}`, SK: 'APIKEY' });
export const cardKey = (cardId: string) => ({ PK: `CARD#${cardId}`, SK: 'CARD' });
export const entrySortKey = (seq: number) => `TX#${String(seq).padStart(10, '0')}`;
export const entryKey = (cardId: string, seq: number) => ({ PK: `CARD#${cardId}`, SK: entrySortKey(seq) });
export const holdKey = (cardId: string, holdId: string) => ({ PK: `CARD#${cardId}`, SK: `HOLD#${holdId}` });
export const returnsKey = (cardId: string, seq: number) => ({
  PK: `CARD#${cardId}`,
  SK: `RETURNS#${String(seq).padStart(10, '0')}`,
});
/** A card's PIN (hash, salt, attempts): its own item, so counting attempts never races a card write. */
export const pinKey = (cardId: string) => ({ PK: `CARD#${cardId}`, SK: 'PIN' });
export const idempotencyKey = (scope: string, keyHash: string) => ({
  PK: `IDEM#${scope}#${keyHash}`,
  SK: 'IDEM',
});

/** A loyalty member's points account and its ledger share the member's partition (store/points-ledger.ts). */
export const memberPartition = (memberId: string) => `MEMBER#${memberId}`;
export const pointsAccountKey = (memberId: string) => ({ PK: memberPartition(memberId), SK: 'ACCOUNT' });
export const POINTS_ENTRY_PREFIX = 'PTS#';
export const pointsEntrySortKey = (seq: number) => `${POINTS_ENTRY_PREFIX}${String(seq).padStart(10, '0')}`;
export const pointsEntryKey = (memberId: string, seq: number) => ({
  PK: memberPartition(memberId),
  SK: pointsEntrySortKey(seq),
});
/** The exactly-once marker of what earned points (a card ledger entry id): one earn, one reversal. */
export const pointsSourceKey = (sourceId: string) => ({ PK: `PTSSRC#${sourceId}`, SK: 'PTSSRC' });

/** A finance export run and its scan segments (store/export-runs.ts). */
export const exportKey = (exportId: string) => ({ PK: `EXPORT#${exportId}`, SK: 'EXPORT' });
export const exportSegmentKey = (exportId: string, segment: number) => ({
  PK: `EXPORT#${exportId}`,
  SK: `SEGMENT#${String(segment).padStart(4, '0')}`,
});

/** Open holds by expiry, spread over a few partitions, for the release sweep. */
export const HOLD_SWEEP_SHARDS = 4;
export const openHoldsIndexPk = (shard: number) => `HOLDS#OPEN#${shard}`;
/** Cards that hold value and have an expiry date, by that date, for the expiry (breakage) sweep. */
export const EXPIRY_SWEEP_SHARDS = 4;
export const expiringCardsIndexPk = (shard: number) => `EXPIRING#${shard}`;
export const PROGRAMS_INDEX_PK = 'PROGRAMS';
export const MERCHANTS_INDEX_PK = 'MERCHANTS';
export const merchantApiKeysIndexPk = (merchantId: string) => `MERCHANT#${merchantId}#APIKEYS`;
export const programCardsIndexPk = (programId: string) => `PROGRAM#${programId}#CARDS`;
/**
 * A card's sort key in its program's partition of GSI1: its last 4 first, so a last-4 search is a
 * begins_with query on the index (store/card-reads.ts), paged, at any card count.
 */
export const programCardsIndexSk = (card: { readonly last4: string; readonly id: string }) =>
  `${programCardsLast4Prefix(card.last4)}${card.id}`;
export const programCardsLast4Prefix = (last4: string) => `${last4}#`;
export const customerCardsIndexPk = (customerId: string) => `CUSTOMER#${customerId}#CARDS`;
export const merchantCardsIndexPk = (merchantId: string) => `MERCHANT#${merchantId}#CARDS`;

/** Attributes that belong to the table layout, not to the domain object. */
export const LAYOUT_ATTRIBUTES = [
  'PK',
  'SK',
  'GSI1PK',
  'GSI1SK',
  'GSI2PK',
  'GSI2SK',
  'GSI3PK',
  'GSI3SK',
  'GSI4PK',
  'GSI4SK',
  'ttl',
];

export function withoutLayout<T>(item: Record<string, unknown>): T {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of LAYOUT_ATTRIBUTES) delete copy[attribute];
  return copy as T;
}

/** A stable small number from an id, to spread an index partition over shards. */
export function shardOf(id: string, shards: number): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % shards;
}

// E-gift delivery and bulk issuance (issue #19): store/deliveries.ts, store/claim-tokens.ts,
// store/bulk-batches.ts.
/** A card's e-gift delivery, in a partition of its own (the card's partition is the ledger's). */
export const deliveryKey = (cardId: string) => ({ PK: `DELIVERY#${cardId}`, SK: 'DELIVERY' });
/** Scheduled deliveries by send time, spread over a few partitions, for the sender job (GSI1). */
export const DELIVERY_DUE_SHARDS = 4;
export const dueDeliveriesIndexPk = (shard: number) => `DELIVERY#DUE#${shard}`;
/** A delivery by the provider's message id, for SES bounce and complaint events (GSI2). */
export const deliveryMessageIndexPk = (providerMessageId: string) => `DELIVERY#MESSAGE#${providerMessageId}`;
/** A claim token by its SHA-256. */
export const claimTokenKey = (tokenHash: string) => ({ PK: `CLAIM#${tokenHash}`, SK: 'CLAIM' });
export const bulkBatchKey = (batchId: string) => ({ PK: `BULK#${batchId}`, SK: 'BATCH' });
export const bulkChunkKey = (batchId: string, chunk: number) => ({
  PK: `BULK#${batchId}`,
  SK: `CHUNK#${String(chunk).padStart(6, '0')}`,
});
/** Batches by creation, for the finance listing (GSI1). */
export const BULK_BATCHES_INDEX_PK = 'BULKBATCHES';
