/**
 * The one description of the single table. CDK (lib/data-stack.ts) and the local bootstrap
 * (local/dynamodb.ts, test setup) both build the table from this, so they cannot drift.
 *
 * Key layout (every item has PK and SK):
 *   PROGRAM#<id>        / PROGRAM              program            GSI1: PROGRAMS / <createdAt>#<id>
 *   PROGRAM#<id>        / ISSUED#<shard>       cards issued in the program, one of 16 shards (guards maxCards)
 *   MERCHANT#<id>       / MERCHANT             merchant           GSI1: MERCHANTS / <createdAt>#<id>
 *   APIKEY#<keyId>      / APIKEY               api key (hashed)   GSI1: MERCHANT#<id>#APIKEYS / <createdAt>#<keyId>
 *   CARD#<cardId>       / CARD                 card               GSI1: PROGRAM#<id>#CARDS, GSI2: CUSTOMER#<id>#CARDS, GSI3: MERCHANT#<id>#CARDS
 *                                              GSI4: EXPIRING#<shard> / <expiresAt>#<id> while it holds value
 *   CARD#<cardId>       / TX#<seq, 10 digits>  ledger entry (immutable)
 *   CARD#<cardId>       / HOLD#<holdId>        hold                GSI1: HOLDS#OPEN#<shard> / <expiresAt>#<id> while open
 *   CARD#<cardId>       / RETURNS#<seq>        refunded / reversed tally of one entry
 *   MEMBER#<memberId>   / ACCOUNT              loyalty points account: balance, seq (store/points-ledger.ts)
 *   MEMBER#<memberId>   / PTS#<seq, 10 digits> points ledger entry (immutable)
 *   PTSSRC#<sourceId>   / PTSSRC               what earned points: member, earn seq, the earning entry's amount, the
 *                                              refunded total and points taken back so far, its reversal's seq once reversed
 *   PTSTAKE#<cardEntry> / PTSTAKE              one refund or reversal taking back (part of) an earn: once per card entry
 *   IDEM#<scope>#<hash> / IDEM                 idempotency record (TTL)
 *   WEBHOOK#<id>        / WEBHOOK              webhook endpoint, signing secrets sealed (AES-GCM)
 *                                              GSI1: MERCHANT#<id>#WEBHOOKS / <id>, GSI3: WEBHOOKS / <id>
 *   MERCHANT#<id>       / WEBHOOKS             the merchant's endpoint count (guards the cap)
 *   WHDELIVERY#<id>     / WHDELIVERY           one event for one endpoint: status, attempts, last error (TTL once done)
 *                                              GSI1: WEBHOOK#<id>#DELIVERIES / <status>#<createdAt>#<id>
 *                                              GSI2: WEBHOOK#DUE#<shard> / <nextAttemptAt>#<id> while PENDING
 *   WHLANE#<webhook>#<card> / WHLANE           positions of the lane's PENDING deliveries (order per card)
 *   FRAUD#card#<id>     / SEEN#<seq>, M#<minute>, H#<hour>, ACTIVATION
 *                                              fraud rule counters of a card (TTL; store/fraud-counters.ts)
 *   FRAUD#merchant#<m>#<program> / M#<minute>  a merchant's redemptions in a program (TTL)
 *   FRAUD#<subject>     / QUIET#<rule>         one alert per subject and rule for a while (TTL)
 *   FRAUD#caller#<owner> / F#<window start>    failed lookups and PIN checks of a merchant (each key's too), staff
 *                                              user or source IP: the check limits and FAILED_CHECKS_KEY (TTL;
 *                                              store/failed-checks.ts)
 *   FRAUDALERT#<id>     / FRAUDALERT           fraud alert   GSI1: FRAUDALERTS#<status> / <createdAt>#<id>
 *                                              GSI2: FRAUDALERTS / <createdAt>#<id>, GSI3: CARD#<id>#FRAUDALERTS / same
 *   REPORT#<yyyy-mm>#<shard> / <currency>#<programId>#<yyyy-mm-dd>#<merchantId|->
 *                                              report counters of a program, merchant, currency and UTC day
 *                                              (8 shards summed on read; store/reports.ts)
 *   REPORT#MONTHS#<shard> / <currency>#<programId>#<yyyy-mm>   net balance movement of a month (liability)
 *   REPORTED#<entryId>  / REPORTED             marker: the entry is in the report counters (TTL 3 days)
 *   AUDIT#<id>          / AUDIT                audit record of a staff action (write-once, no TTL)
 *                                              GSI1: AUDIT#ACTOR#<actorId> / <at>#<id>, GSI2: AUDIT#DAY#<yyyy-mm-dd> / same,
 *                                              GSI3: AUDIT#CARD#<cardId> (else AUDIT#<subjectType>#<id>) / same
 *   EXPORT#<id>         / EXPORT               finance export run: period, status, segments done, files, totals
 *   EXPORT#<id>         / SEGMENT#<n>          one scan segment of it: status, attempts, part files, summary lines
 *   CARD#<cardId>       / GOOGLEOBJECT         a Google Wallet save link was handed out: the object to keep current
 *   PROGRAM#<id>        / GOOGLECLASS          the program's Google Wallet class may exist (class messages)
 *   GOOGLENOTIFY#<objectOrClassId> / NOTIFY    Google messages decided per pass: which notified (3 per 24 h), which were
 *                                              added (replays add nothing); TTL (store/google-objects.ts)
 *   PROGRAM#<id>        / WALLETPUSH#<msgId>   how far a program message's pushes got: next page or done; TTL
 *   CARD#<cardId>       / APPLEPASS            the card's Apple Wallet pass: sha256 of its token, pass type (store/apple-passes.ts)
 *   CARD#<cardId>       / APPLEREG#<dlid>      a device registered for the pass: pushToken, programId   } one transaction
 *   APPLEDEVICE#<dlid>  / CARD#<cardId>        the same registration, listed by device                   } writes and
 *   APPLEPROGRAM#<programId> / <cardId>#<dlid> the same, listed by program (with pushToken)              } deletes all 3
 *   CARD#<cardId>       / WALLETMSG#<createdAt>#<id>   a retailer's message to the card's wallet passes
 *   PROGRAM#<id>        / WALLETMSG#<createdAt>#<id>   a message to every pass of the program (store/wallet-messages.ts)
 *   CARD#<cardId>       / LATESTWALLETMSG              the card's latest message (a copy) for its pass
 *   PROGRAM#<id>        / LATESTWALLETMSG              the program's (store/wallet-messages.ts)
 *                                              A pass's last change: max(card.updatedAt, newest message to it or its program).
 * Indexes are KEYS_ONLY: a balance change rewrites the card item but never an index entry.
 */
export const TABLE_KEYS = {
  partitionKey: 'PK',
  sortKey: 'SK',
  timeToLiveAttribute: 'ttl',
} as const;

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
}

export const TABLE_INDEXES: readonly IndexDefinition[] = [
  { indexName: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
  { indexName: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK' },
  { indexName: 'GSI3', partitionKey: 'GSI3PK', sortKey: 'GSI3SK' },
  { indexName: 'GSI4', partitionKey: 'GSI4PK', sortKey: 'GSI4SK' },
];

/** Every key attribute is a string. */
export const TABLE_ATTRIBUTE_TYPE = 'S' as const;

/** Streams carry both images: consumers see what changed (balance before and after). */
export const TABLE_STREAM_VIEW = 'NEW_AND_OLD_IMAGES' as const;

/** The CreateTable input the local runtime and the tests use (on-demand, stream on). */
export function createTableInput(tableName: string) {
  const attributeNames = [
    TABLE_KEYS.partitionKey,
    TABLE_KEYS.sortKey,
    ...TABLE_INDEXES.flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: attributeNames.map((name) => ({
      AttributeName: name,
      AttributeType: TABLE_ATTRIBUTE_TYPE,
    })),
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: TABLE_INDEXES.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' as const },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_STREAM_VIEW },
  };
}
