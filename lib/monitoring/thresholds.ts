/**
 * Alarm thresholds, each with its reason. Periods are short where an alarm also rolls a canary back
 * (CodeDeploy shifts 10 % of traffic for 5 minutes: the alarm must be able to fire within them).
 */

/** What kind of work a function does: it picks its alarm thresholds and how it is deployed. */
export type FunctionKind = 'api' | 'stream' | 'job' | 'export';

export interface ErrorThreshold {
  readonly periodMinutes: number;
  readonly errors: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly why: string;
}

export const FUNCTION_ERRORS: Record<FunctionKind, ErrorThreshold> = {
  api: {
    periodMinutes: 1,
    errors: 1,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    why:
      'errors in 2 of 3 minutes. Handlers answer every failure as problem+json themselves, so a Lambda error ' +
      'is a crash (init failure, out of memory, a bug before the error mapper) that API Gateway turned into a ' +
      'bare 502 at a till. One crash of one instance pages nobody; a crash that repeats is a broken deploy, and ' +
      'this alarm rolls the canary back within its 5 minutes.',
  },
  stream: {
    periodMinutes: 1,
    errors: 1,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    why:
      'errors in 3 of 5 minutes. A consumer invocation errors only when every record of the batch failed ' +
      '(partial failures are reported, not thrown); Lambda retries and bisects, so a single failure loses ' +
      'nothing, but failing most minutes means the consumer is stuck or a new version is broken (canary rollback).',
  },
  job: {
    periodMinutes: 5,
    errors: 1,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    why:
      'any failed run in 5 minutes. Jobs run every minute to daily; a failed run leaves its items due for the ' +
      'next one, but holds, expiries and webhook retries are money and merchant promises: look at each.',
  },
  export: {
    periodMinutes: 15,
    errors: 3,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    why:
      '3 errors in 15 minutes: the state machine retries a segment or finalize twice, so one or two errors are ' +
      'absorbed; more mean a run is failing (the state machine alarms then too).',
  },
};

export const FUNCTION_THROTTLES_WHY =
  'any throttled invocation in 5 minutes. No function has reserved concurrency, so a throttle means the ' +
  "region's account concurrency (1,000 by default) is used up: every function of the account is at risk, " +
  'synchronous API calls are refused (500 at the till) and stream batches wait.';

/** Route groups (one API function each): their share of 5xx answers and their p99 latency. */
export const ROUTE_GROUP_5XX = {
  /** Percent of answers with status >= 500 in a minute. */
  percent: 2,
  /** Minutes with fewer requests count as 0 %: one failure at night is not a 50 % error rate. */
  minRequestsPerMinute: 10,
  evaluationPeriods: 5,
  datapointsToAlarm: 3,
  why:
    'more than 2 % of answers 5xx in 3 of 5 minutes with at least 10 requests a minute. Handlers answer 5xx ' +
    'only for our failures (500 unhandled, 503 timed out), so a healthy group is at 0 %; 2 % catches a canary ' +
    '(10 % of traffic) failing a fifth of its requests and a dependency going bad, and ignores one stray failure. ' +
    'Tills reverse after a 5xx: each one is a reversal and a waiting customer.',
} as const;

export const ROUTE_GROUP_P99 = {
  milliseconds: 3_000,
  evaluationPeriods: 5,
  datapointsToAlarm: 3,
  why:
    'p99 above 3 s in 3 of 5 minutes. A warm request takes tens of milliseconds and a cold one a few hundred; ' +
    'a card write gives up at 8 s (CARD_WRITE_BUDGET_MS), the function at 10 s and tills at 30 s. A p99 of 3 s ' +
    'is tills waiting on busy cards or a slow table, early enough to act before answers turn into 503s.',
} as const;

/** The whole stage as API Gateway sees it (authorizer, throttling and gateway errors included). */
export const STAGE_5XX = {
  /** Fraction of requests (5XXError averages 0/1 per request). */
  fraction: 0.02,
  evaluationPeriods: 5,
  datapointsToAlarm: 3,
  why:
    'more than 2 % of all requests 5xx in 3 of 5 minutes, as API Gateway counts them: this includes what no ' +
    'handler sees (authorizer failures, 502 from a crashed function, 504 integration timeouts).',
} as const;

export const STAGE_P99 = {
  milliseconds: 4_000,
  evaluationPeriods: 5,
  datapointsToAlarm: 3,
  why:
    'p99 above 4 s in 3 of 5 minutes, as merchants see it (authorizer, cold starts and API Gateway included): ' +
    "1 s above the route groups' threshold for what API Gateway and the authorizer add on a cold path.",
} as const;

export const API_TIMEOUTS_WHY =
  'any request answered 503 TIMED_OUT in 5 minutes: the function ran out of its 10 s with the request still ' +
  'running (DynamoDB slow, a card too busy, a very cold start). The till retries with its Idempotency-Key; ' +
  'one is worth a look, many are an incident.';

/**
 * How far behind a consumer may fall (IteratorAge, the age of the last record it read) before it pages,
 * in seconds, with why. Records older than 6 h go to the DLQ (lib/streams-stack.ts), the stream keeps 24 h.
 */
export const STREAM_LAG_SECONDS: Record<string, { readonly seconds: number; readonly why: string }> = {
  fraud: {
    seconds: 120,
    why: 'fraud rules count redemptions in 10-minute windows and block draining cards: blocks more than 2 minutes late come after the money has gone.',
  },
  'ledger-integrity': {
    seconds: 300,
    why: 'the integrity check should follow the ledger within seconds; 5 minutes behind means a violation would be found late.',
  },
  reporting: {
    seconds: 300,
    why: 'finance reports trail the ledger by the stream delay; 5 minutes behind shows wrong day totals to finance.',
  },
  webhooks: {
    seconds: 600,
    why: 'merchants expect events within seconds, but deliveries call out (up to 5 s each) and retry: 10 minutes behind is an outage for them.',
  },
  'wallet-sync': {
    seconds: 600,
    why: 'passes show the balance after each change; 10 minutes behind means card holders see old balances.',
  },
  audit: {
    seconds: 900,
    why: 'the audit trail is read by people after the fact; 15 minutes behind is late but harmless, more is a stuck consumer.',
  },
};
export const DEFAULT_STREAM_LAG = {
  seconds: 300,
  why: 'a consumer should follow the stream within seconds; 5 minutes behind is a stuck or overloaded consumer.',
};
/** Minutes the lag must stay above its threshold: a burst drains within a few minutes. */
export const STREAM_LAG_MINUTES = 5;

export const DLQ_WHY =
  'any message in the queue. A message is a batch Lambda gave up on after its retries (or records older ' +
  'than 6 h): those records were not processed and need a replay.';

export const APP_METRIC_WHY =
  'any occurrence in 5 minutes: each one is a fact someone must act on (see the runbook).';

export const DYNAMODB_THROTTLES = {
  perMinute: 10,
  evaluationPeriods: 5,
  datapointsToAlarm: 3,
  why:
    'at least 10 throttled requests a minute in 3 of 5 minutes. The table is on-demand: throttling means a ' +
    'partition past 1,000 WCU / 3,000 RCU (a hot card or key) or traffic above twice its previous peak. The ' +
    'SDK retries 4 times, so a few throttles are absorbed; sustained ones become CONFLICT and 5xx at tills.',
} as const;

export const DYNAMODB_SYSTEM_ERRORS = {
  perFiveMinutes: 5,
  why:
    'at least 5 DynamoDB system errors (500s) in 5 minutes. The SDK retries them, so a few are noise; more ' +
    'are an AWS-side problem in the region that turns into failed requests (check the AWS Health Dashboard).',
} as const;

export const WAF_BLOCKED = {
  perFiveMinutes: 500,
  evaluationPeriods: 2,
  why:
    'at least 500 blocked requests in each of 2 consecutive 5-minute periods. Scanners are blocked at a ' +
    'trickle all day (tens an hour); 500 in five minutes twice in a row is an attack in progress or a ' +
    "merchant's till fleet behind one address hitting the 6,000 per 5 minutes per-IP limit (their tills get 403).",
} as const;

export const EXPORT_OVERDUE_WHY =
  "the export-deadline job found last month's export not SUCCEEDED 6 hours after the month ended. The " +
  'alarm stays on until the run succeeds; finance needs the files on the morning of the 1st.';
