import { LOYALTY_ENTRY_TYPES } from '../core/earn-rules';
import { FRAUD_ENTRY_TYPES } from '../core/fraud-rules';
import { REPORTED_ENTRY_TYPES } from '../core/report';
import { METRIC, type MetricName } from '../observability/metric-names';

/**
 * The stream consumers of the table's DynamoDB stream. CDK (lib/streams-stack.ts) creates one Lambda
 * function and one event source mapping per entry; the local poller (local/stream-poller.ts) feeds the
 * same modules. Later features (fraud rules, wallet sync, reporting, webhooks) add entries here.
 *
 * `filters` use Lambda's event filtering syntax on the stream record (a subset the local poller also
 * understands: exact values and `{ prefix }` on `eventName` and `dynamodb.Keys` / `NewImage` strings).
 */
export interface StreamConsumerDefinition {
  /** Lambda function name suffix and log name. */
  readonly name: string;
  /** Module under functions/streams exporting `handler(event: DynamoDBStreamEvent)`. */
  readonly module: string;
  readonly description: string;
  readonly filters: readonly Record<string, unknown>[];
  readonly batchSize: number;
  /** What the consumer does to the table: checks only read; consumers that record their work write. */
  readonly tableAccess: 'read' | 'readWrite';
  /** Seconds a batch may take (default 60); consumers that call out need more. */
  readonly timeoutSeconds?: number;
  /** Metrics the consumer emits (functions/observability/metric-names.ts) that page ops: an alarm each. */
  readonly alarmMetrics?: readonly MetricName[];
  /** Wallet push credentials this consumer alone is granted (lib/streams-stack.ts). */
  readonly secrets?: readonly WalletSecretName[];
}

/**
 * The APNs token-signing key and the Google Wallet service account (functions/store/push-credentials.ts),
 * and the Apple pass signing certificates (functions/store/apple-certificates.ts).
 */
export type WalletSecretName = 'apnsKey' | 'googleServiceAccount' | 'applePassCertificates';

export const STREAM_CONSUMERS: readonly StreamConsumerDefinition[] = [
  {
    name: 'ledger-integrity',
    module: 'ledger-integrity',
    description: 'Checks every new ledger entry against its card: sequence, balance arithmetic, currency.',
    filters: [{ eventName: ['INSERT'], dynamodb: { Keys: { SK: { S: [{ prefix: 'TX#' }] } } } }],
    batchSize: 100,
    tableAccess: 'read',
    alarmMetrics: [METRIC.ledgerIntegrityViolation],
  },
  {
    name: 'webhooks',
    module: 'webhooks',
    description:
      'Turns new ledger entries into merchant webhook events; writes their deliveries and sends them in order per card.',
    filters: [{ eventName: ['INSERT'], dynamodb: { Keys: { SK: { S: [{ prefix: 'TX#' }] } } } }],
    // Deliveries are sent while the batch is handled (up to 5 s each): small batches.
    batchSize: 25,
    tableAccess: 'readWrite',
    // Up to 25 deliveries of at most 5 s each.
    timeoutSeconds: 150,
    alarmMetrics: [METRIC.webhookDeliveryDead],
  },
  {
    name: 'fraud',
    module: 'fraud',
    description:
      'Fraud rules: counts new ledger entries in windowed counters, raises fraud alerts, blocks cards (SUSPECTED_FRAUD) where the rule says so.',
    filters: [
      {
        eventName: ['INSERT'],
        dynamodb: {
          Keys: { SK: { S: [{ prefix: 'TX#' }] } },
          NewImage: { type: { S: [...FRAUD_ENTRY_TYPES] } },
        },
      },
      // Failed lookups and PIN checks per caller, counted by the API (FAILED_CHECKS_PK_PREFIX in
      // store/failed-checks.ts).
      {
        eventName: ['INSERT', 'MODIFY'],
        dynamodb: { Keys: { PK: { S: [{ prefix: 'FRAUD#caller#' }] } } },
      },
    ],
    batchSize: 100,
    // Writes counters, alerts and (through the card store) BLOCK entries.
    tableAccess: 'readWrite',
    // About five table calls a record; a block may wait up to 8 s on a card busy with the burst.
    timeoutSeconds: 120,
  },
  {
    name: 'reporting',
    module: 'reporting',
    description:
      'Finance reporting: adds each new money entry to the aggregates per program, merchant, currency and UTC day (counted once per entry).',
    filters: [
      {
        eventName: ['INSERT'],
        dynamodb: {
          Keys: { SK: { S: [{ prefix: 'TX#' }] } },
          NewImage: { type: { S: [...REPORTED_ENTRY_TYPES] } },
        },
      },
    ],
    // A batch is counted in one transaction per chunk of up to 100 actions.
    batchSize: 100,
    // Writes its counters and markers; reads nothing.
    tableAccess: 'readWrite',
  },
  {
    name: 'audit',
    module: 'audit',
    description:
      'Audit trail: projects every ledger entry made by a staff user into an immutable audit record (actor, reason, before, after).',
    filters: [
      {
        eventName: ['INSERT'],
        dynamodb: {
          Keys: { SK: { S: [{ prefix: 'TX#' }] } },
          NewImage: { actor: { M: { type: { S: ['staff'] } } } },
        },
      },
    ],
    batchSize: 100,
    // Writes audit records; reads earlier entries for the status before a deactivation.
    tableAccess: 'readWrite',
  },
  {
    name: 'loyalty',
    module: 'loyalty',
    description:
      'Loyalty earning: points for redemptions and loads on cards linked to members (exactly once per ledger entry), bonuses, day caps, tiers; takes them back on reversals and refunds.',
    filters: [
      {
        eventName: ['INSERT'],
        dynamodb: {
          Keys: { SK: { S: [{ prefix: 'TX#' }] } },
          NewImage: { type: { S: [...LOYALTY_ENTRY_TYPES] } },
        },
      },
    ],
    // One points transaction per earning record, handled in stream order.
    batchSize: 50,
    // Reads links, members and the day's points; writes points entries and tiers.
    tableAccess: 'readWrite',
  },
  {
    name: 'loyalty-reporting',
    module: 'loyalty-reporting',
    description:
      "Loyalty liability: adds each new points entry to its loyalty program's day (earned, spent, expired, reversed, adjusted), once per entry.",
    filters: [{ eventName: ['INSERT'], dynamodb: { Keys: { SK: { S: [{ prefix: 'PTS#' }] } } } }],
    batchSize: 100,
    // Reads the member's program; writes counters and markers.
    tableAccess: 'readWrite',
  },
  {
    name: 'wallet-sync',
    module: 'wallet-sync',
    description:
      'Keeps wallet passes current: APNs pushes to registered Apple devices and Google Wallet object updates on card changes; wallet messages to cards and programs.',
    filters: [
      // Card changes; the consumer drops modifies that leave balance, available, status and expiry alone.
      { eventName: ['MODIFY'], dynamodb: { Keys: { SK: { S: ['CARD'] } } } },
      { eventName: ['INSERT'], dynamodb: { Keys: { SK: { S: [{ prefix: 'WALLETMSG#' }] } } } },
    ],
    // Each record calls out (APNs, Google): small batches.
    batchSize: 25,
    // Removes registrations on APNs 410; records Google objects' message decisions.
    tableAccess: 'readWrite',
    // A program message pushes to every registered device of the program, page by page.
    timeoutSeconds: 300,
    // The pass certificate authenticates APNs pushes by default (APNS_AUTH), and checks a token key's team.
    secrets: ['apnsKey', 'googleServiceAccount', 'applePassCertificates'],
    // Pushes skipped for want of credentials: counted, not alarmed (a region may run without Apple).
  },
];
