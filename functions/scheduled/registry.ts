import { METRIC, type MetricName } from '../observability/metric-names';

/**
 * The scheduled jobs. CDK (lib/schedules-stack.ts) creates one function and one EventBridge Scheduler
 * schedule per entry; the local runtime runs them on timers and `npm run job -- <name>` runs one now.
 */
export interface ScheduledJobDefinition {
  readonly name: string;
  /** Module under functions/scheduled exporting `handler()` and `run(now?)`. */
  readonly module: string;
  readonly description: string;
  /** Minutes between runs (rate schedules), or a cron in the region's time zone. */
  readonly every: { readonly minutes: number } | { readonly cron: string };
  /** Interval of the local timer under `npm start`. */
  readonly localEveryMs: number;
  /** Metrics the job emits (functions/observability/metric-names.ts) that page ops: an alarm each (>= 1 in 5 min). */
  readonly alarmMetrics?: readonly MetricName[];
  /** The job registers merchants' usage keys in the API's usage plans (functions/store/usage-keys.ts). */
  readonly registersUsageKeys?: true;
  /** The job sends e-gift messages (mail, SMS) with claim links: the delivery grants and the portal's URL. */
  readonly sendsMessages?: true;
  /** The job invokes the bulk runner (lib/issuance-stack.ts grantBulkResume). */
  readonly startsBulkRuns?: true;
}

export const SCHEDULED_JOBS: readonly ScheduledJobDefinition[] = [
  {
    name: 'hold-expiry',
    module: 'hold-expiry',
    description: 'Releases authorisation holds past their expiry with a VOID ledger entry.',
    every: { minutes: 5 },
    localEveryMs: 30_000,
  },
  {
    name: 'expiry-sweep',
    module: 'expiry-sweep',
    description: 'Moves the remaining value of expired cards to breakage with an EXPIRE ledger entry.',
    every: { cron: '15 2 * * ? *' },
    localEveryMs: 60_000,
  },
  {
    name: 'points-expiry',
    module: 'points-expiry',
    description:
      "Expires loyalty members' points past their program's expireAfterMonths with an EXPIRE points entry.",
    every: { cron: '45 2 * * ? *' },
    localEveryMs: 600_000,
  },
  {
    name: 'webhook-retries',
    module: 'webhook-retries',
    description:
      'Sends due webhook deliveries again (backoff for 24 h, then DEAD), in order per card and endpoint.',
    every: { minutes: 1 },
    localEveryMs: 15_000,
    alarmMetrics: [METRIC.webhookDeliveryDead],
  },
  {
    name: 'usage-keys',
    module: 'usage-keys',
    description:
      "Reconciles merchants' API Gateway usage keys: gives merchants stored before usage plans their " +
      'usage identifier, registers keys that are missing or in the wrong plan.',
    every: { cron: '40 3 * * ? *' },
    localEveryMs: 600_000,
    registersUsageKeys: true,
  },
  {
    name: 'export-deadline',
    module: 'export-deadline',
    description:
      "Hourly: checks that last month's finance export succeeded by its deadline (6 h after the cutoff); " +
      'emits FinanceExportOverdue, which alarms until it has.',
    // Hourly at :05: an alarm that stays on until the run succeeds needs a verdict every hour.
    every: { cron: '5 * * * ? *' },
    // Locally hourly too: a fresh `npm start` has no export of last month, and says so once an hour at most.
    localEveryMs: 3_600_000,
  },
  {
    name: 'egift-deliveries',
    module: 'egift-deliveries',
    description:
      'Sends the e-gift deliveries whose time has come (issue #19), at most 500 a run, and any a dead sender left half sent.',
    every: { minutes: 1 },
    localEveryMs: 15_000,
    sendsMessages: true,
  },
  {
    name: 'bulk-resume',
    module: 'bulk-resume',
    description:
      'Re-invokes the runner of bulk batches RUNNING whose progress has not moved for 15 minutes (issue #19); fails one after 3 resumes without progress.',
    every: { minutes: 5 },
    localEveryMs: 60_000,
    startsBulkRuns: true,
  },
  {
    name: 'promotions',
    module: 'promotions',
    description:
      'Sends queued member promotions to the wallet passes of targeted members (issue #17), a page of members ' +
      'at a time under a lease, resuming at the recorded page; at most 3 minutes a run.',
    every: { minutes: 1 },
    localEveryMs: 15_000,
  },
];
