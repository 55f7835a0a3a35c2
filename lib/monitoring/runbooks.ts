import type { RegionConfig } from '../config';

/**
 * One runbook page per kind of alarm, under docs/runbooks/<id>.md: what the alarm means, what to look at,
 * what to do. Every alarm's description ends with the link to its page (lib/monitoring/ops-alarm.ts), and
 * test/infra/monitoring.test.ts checks that each page exists.
 */
export const RUNBOOKS = {
  'api-5xx-rate': 'API server errors (5XX rate) of a route group or the whole stage',
  'api-latency': 'API p99 latency of a route group or the whole stage',
  'api-timeouts': 'API requests answered 503 TIMED_OUT',
  'lambda-errors': 'Lambda function errors',
  'lambda-throttles': 'Lambda function throttles',
  'stream-lag': 'Stream consumer falling behind (IteratorAge)',
  'stream-dlq': 'Stream consumer gave up on records (DLQ)',
  'ledger-integrity': 'Ledger integrity violation',
  'webhook-dead-letters': 'Webhook deliveries given up on (DEAD)',
  'dynamodb-throttles': 'DynamoDB throttled requests',
  'dynamodb-system-errors': 'DynamoDB system errors',
  'waf-blocked-spike': 'WAF blocking many requests',
  'export-failed': 'Finance export failed or timed out',
  'export-not-started': 'Monthly finance export could not be started (schedule DLQ)',
  'export-overdue': 'Monthly finance export not succeeded by its deadline',
  'job-failed': 'Scheduled job failed or gave up on a run',
} as const;

export type RunbookId = keyof typeof RUNBOOKS;

/** The repository path of a runbook page. */
export const runbookPath = (id: RunbookId): string => `docs/runbooks/${id}.md`;

/** Where an alarm points: the region's runbookBaseUrl (cdk.json) or the path in the repository. */
export function runbookLink(region: Pick<RegionConfig, 'runbookBaseUrl'>, id: RunbookId): string {
  return region.runbookBaseUrl ? `${region.runbookBaseUrl.replace(/\/+$/, '')}/${id}.md` : runbookPath(id);
}
