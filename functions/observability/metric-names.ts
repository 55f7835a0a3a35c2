/**
 * Every metric the functions emit (Powertools Metrics, CloudWatch embedded metric format), by name, with
 * the dimensions it carries beside `service` (Powertools adds the function's service name to each). The
 * CDK stacks alarm on and chart these names (lib/monitoring/), so a rename here is a rename there.
 *
 * Dimensions are few and bounded on purpose: each distinct combination is a custom metric billed monthly.
 * `currency` is an ISO 4217 code the programs use; `reason` is one of DECLINE_CODES.
 */
export const METRIC = {
  /** Every API answer, per route group (service `giftcard-api-<fn>`). */
  apiRequests: 'ApiRequests',
  /** API answers with status 500 or above, per route group. */
  apiServerErrors: 'ApiServerErrors',
  /** Time from the function receiving a request to its answer, milliseconds, per route group. */
  apiLatency: 'ApiLatency',
  /** Requests answered 503 TIMED_OUT just before the function's timeout. */
  apiRequestTimedOut: 'ApiRequestTimedOut',
  /** Card operations refused for a business reason; dimension `reason` (the problem code). */
  declines: 'Declines',
  /** Redemptions (REDEEM and CAPTURE entries) counted by the reporting consumer; dimension `currency`. */
  redemptions: 'Redemptions',
  /** Value of those redemptions in minor units; dimension `currency`. */
  redeemedValueMinor: 'RedeemedValueMinor',
  /** Cards blocked by a fraud rule (a BLOCK entry written by the fraud consumer). */
  fraudBlocks: 'FraudBlocks',
  /** Fraud alerts raised. */
  fraudAlerts: 'FraudAlerts',
  /** Webhook deliveries given up on after 24 h of retries (DEAD). */
  webhookDeliveryDead: 'WebhookDeliveryDead',
  /** A ledger entry that does not follow from its card's previous one. */
  ledgerIntegrityViolation: 'LedgerIntegrityViolation',
  /** A finance export run that failed. */
  financeExportFailed: 'FinanceExportFailed',
  /** A finance export run that finished (its files and manifest are written). */
  financeExportSucceeded: 'FinanceExportSucceeded',
  /** 1 while the last month's export has not succeeded past its deadline, else 0 (hourly). */
  financeExportOverdue: 'FinanceExportOverdue',
  /** Pass pushes skipped because the region has no APNs credentials (passes are still served). */
  walletPushSkipped: 'WalletPushSkipped',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/**
 * Problem codes that are a decline of a card operation (the card or its holder's input said no), as
 * opposed to a caller's mistake (VALIDATION_FAILED, FORBIDDEN) or our failure (5xx).
 */
export const DECLINE_CODES = [
  'INSUFFICIENT_FUNDS',
  'CARD_NOT_ACTIVE',
  'CARD_BLOCKED',
  'CARD_EXPIRED',
  'CURRENCY_MISMATCH',
  'PIN_REQUIRED',
  'PIN_INVALID',
  'PIN_LOCKED',
  'LIMIT_EXCEEDED',
] as const;

/** The metric namespace of a stage (functions get it as POWERTOOLS_METRICS_NAMESPACE). */
export const metricNamespace = (stage: string): string => `GiftCard/${stage}`;
