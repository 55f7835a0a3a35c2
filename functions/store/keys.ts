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
/**
 * The exactly-once marker of what earned points (a card ledger entry id): one earn, and the running
 * totals of the refunds and the reversal that took it back.
 */
export const pointsSourceKey = (sourceId: string) => ({ PK: `PTSSRC#${sourceId}`, SK: 'PTSSRC' });
/** The exactly-once record of one take-back of an earn: the refund or reversal card entry's id. */
export const pointsTakeBackKey = (takeBackId: string) => ({ PK: `PTSTAKE#${takeBackId}`, SK: 'PTSTAKE' });

/** Loyalty (issue #17): programs, members, their contacts, card links, sign-in codes, sessions, rewards. */
export const loyaltyProgramKey = (loyaltyProgramId: string) => ({
  PK: `LOYALTY#${loyaltyProgramId}`,
  SK: 'LOYALTY',
});
export const LOYALTY_PROGRAMS_INDEX_PK = 'LOYALTYPROGRAMS';
export const memberKey = (memberId: string) => ({ PK: memberPartition(memberId), SK: 'MEMBER' });
export const loyaltyMembersIndexPk = (loyaltyProgramId: string) => `LOYALTY#${loyaltyProgramId}#MEMBERS`;
/** A contact (e-mail or phone, as an HMAC) names one member of a program: registration is unique by it. */
export const memberContactKey = (loyaltyProgramId: string, contactHash: string) => ({
  PK: `MEMBERCONTACT#${loyaltyProgramId}#${contactHash}`,
  SK: 'MEMBERCONTACT',
});
/** A gift card linked to a member: one member per card, and the member's list of cards. */
export const cardLinkKey = (cardId: string) => ({ PK: `CARDLINK#${cardId}`, SK: 'CARDLINK' });
export const MEMBER_CARD_PREFIX = 'LINKEDCARD#';
export const memberCardKey = (memberId: string, cardId: string) => ({
  PK: memberPartition(memberId),
  SK: `${MEMBER_CARD_PREFIX}${cardId}`,
});
export const signInCodeKey = (challengeId: string) => ({ PK: `SIGNIN#${challengeId}`, SK: 'SIGNIN' });
export const memberSessionKey = (tokenHash: string) => ({ PK: `MSESSION#${tokenHash}`, SK: 'MSESSION' });
export const MEMBER_SESSION_PREFIX = 'SESSION#';
export const memberSessionRefKey = (memberId: string, sessionId: string) => ({
  PK: memberPartition(memberId),
  SK: `${MEMBER_SESSION_PREFIX}${sessionId}`,
});
export const rewardKey = (loyaltyProgramId: string, rewardId: string) => ({
  PK: `LOYALTY#${loyaltyProgramId}`,
  SK: `REWARD#${rewardId}`,
});
export const REWARD_PREFIX = 'REWARD#';
export const promotionKey = (loyaltyProgramId: string, promotionId: string) => ({
  PK: `LOYALTY#${loyaltyProgramId}`,
  SK: `PROMO#${promotionId}`,
});
export const PROMOTION_PREFIX = 'PROMO#';
/** A member's receipts of promotions, per UTC day, for the frequency cap. */
export const memberPromoDayKey = (memberId: string, day: string) => ({
  PK: memberPartition(memberId),
  SK: `PROMODAY#${day}`,
});
/** The loyalty reporting counters: per program and UTC day, and the per-program outstanding points. */
export const loyaltyDayKey = (loyaltyProgramId: string, day: string) => ({
  PK: `LOYALTY#${loyaltyProgramId}`,
  SK: `DAY#${day}`,
});
export const LOYALTY_DAY_PREFIX = 'DAY#';
export const loyaltyCountedKey = (pointsEntryId: string) => ({
  PK: `LOYCOUNTED#${pointsEntryId}`,
  SK: 'LOYCOUNTED',
});

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

/** Physical card production (store/production-orders.ts, store/printers.ts, store/packaging.ts). */
export const PRODUCTION_ORDERS_INDEX_PK = 'PRODORDERS';
export const productionOrderKey = (orderId: string) => ({ PK: `PRODORDER#${orderId}`, SK: 'ORDER' });
/** A chunk's progress marker: its attempt and the ids of the cards that attempt commits. */
export const productionChunkKey = (orderId: string, chunk: number) => ({
  PK: `PRODORDER#${orderId}`,
  SK: `CHUNK#${String(chunk).padStart(6, '0')}`,
});
export const PRODUCTION_CHUNK_PREFIX = 'CHUNK#';
export const cartonKey = (orderId: string, carton: number) => ({
  PK: `PRODORDER#${orderId}`,
  SK: `CARTON#${String(carton).padStart(6, '0')}`,
});
export const CARTON_PREFIX = 'CARTON#';
export const storeCartonsIndexPk = (storeId: string) => `STORE#${storeId}#CARTONS`;
export const shipmentKey = (shipmentId: string) => ({ PK: `SHIPMENT#${shipmentId}`, SK: 'SHIPMENT' });
export const printerKey = (printerId: string) => ({ PK: `PRINTER#${printerId}`, SK: 'PRINTER' });
export const PRINTERS_INDEX_PK = 'PRINTERS';
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
/** An accepted batch's invoice summary (GSI1: BULKINVOICES / <acceptedAt>#<batchId>, for finance). */
export const bulkInvoiceKey = (batchId: string) => ({ PK: `BULK#${batchId}`, SK: 'INVOICE' });
export const BULK_INVOICES_INDEX_PK = 'BULKINVOICES';
/** Running batches (GSI2, sparse: set while RUNNING), for the stuck-batch resume job. */
export const BULK_RUNNING_INDEX_PK = 'BULK#RUNNING';
/** Batches by creation, for the finance listing (GSI1). */
export const BULK_BATCHES_INDEX_PK = 'BULKBATCHES';
