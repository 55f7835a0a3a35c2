import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { API_FUNCTIONS, type ApiFunctionName, routesOf } from '../functions/http/route-table';
import { METRIC } from '../functions/observability/metric-names';
import type { WalletSecretName } from '../functions/streams/registry';
import { grantDelivery } from './constructs/delivery';
import { type FunctionRuntime, GiftCardFunction, grantWalletSecrets } from './constructs/function';
import { grantQueueDepthReads } from './constructs/queue-depths';
import { grantUsageKeyRegistration, usagePlanPrefix } from './constructs/usage-keys';
import { appMetric, opsAlarm } from './monitoring/ops-alarm';
import { ROUTE_GROUP_5XX, ROUTE_GROUP_P99 } from './monitoring/thresholds';

export interface ApiHandlersStackProps extends StackProps {
  readonly runtime: FunctionRuntime;
  /** The API's custom domain (cdk.json `apiDomain`): the base URL of Apple Wallet passes. */
  readonly apiDomain?: { readonly name: string; readonly certificateArn: string };
  /** The web apps' origin: the handlers' answers carry Access-Control-Allow-Origin for it only. */
  readonly consoleOrigin?: string;
}

/**
 * The base URL Apple Wallet passes carry (webServiceURL is `<it>/wallet/apple`): the region's custom
 * domain, https. Passes live on devices for years, so never the execute-api URL of one API's life; and
 * never http, which Wallet refuses outside development.
 */
export function walletBaseUrl(domainName: string): string {
  const url = `https://${domainName}`;
  if (!URL.canParse(url) || new URL(url).protocol !== 'https:' || new URL(url).hostname !== domainName) {
    throw new Error(`The API domain must be a bare host name for an https URL, not ${domainName}`);
  }
  return url;
}

/** Table access per API function: the health check, reports and the audit trail only read. */
export const API_TABLE_ACCESS: Record<ApiFunctionName, 'read' | 'readWrite'> = {
  system: 'read',
  programs: 'readWrite',
  merchants: 'readWrite',
  cards: 'readWrite',
  transactions: 'readWrite',
  webhooks: 'readWrite',
  fraud: 'readWrite',
  reports: 'read',
  exports: 'readWrite',
  // Records that a card's Google object may exist (GOOGLEOBJECT), so the wallet-sync consumer updates it.
  'google-wallet': 'readWrite',
  wallet: 'readWrite',
  // The card-holder portal: lookups spend PIN attempts and rate-limit tokens, transfers move value.
  portal: 'readWrite',
  care: 'read',
  // Reads the job-run records; queue depths come from SQS.
  ops: 'read',
  // Loyalty: programs, rewards, promotions (wallet messages), the loyalty report.
  loyalty: 'readWrite',
  // Members: registration, sign-in, sessions, card links, reward redemptions (points and card together).
  members: 'readWrite',
  // Printers, production orders, cartons and shipments; range deactivation of a lost carton's cards.
  production: 'readWrite',
  // Issue #19: bulk batches (the batch records, and the validation reads programs).
  bulk: 'readWrite',
  // E-gift orders issue cards; deliveries, claim tokens and the audit of resends are written.
  delivery: 'readWrite',
};

/** Wallet secrets per API function: only the Google save link signs with the service account. */
/** The functions that build Apple passes (their webServiceURL). */
const PASS_BUILDERS = new Set<ApiFunctionName>(['wallet', 'portal']);

const WALLET_SECRETS: Partial<Record<ApiFunctionName, readonly WalletSecretName[]>> = {
  'google-wallet': ['googleServiceAccount'],
  // Signs Apple Wallet passes; the only function that may read the pass certificate and key.
  wallet: ['applePassCertificates'],
  // The portal's wallet buttons: the holder's Apple pass and Google save link.
  portal: ['applePassCertificates', 'googleServiceAccount'],
};

/**
 * The route groups' Lambda functions (one per `fn` of functions/http/route-table.ts), each with its live
 * alias, canary deployment group and alarms. They sit in a stack of their own so that the API stack
 * (resources, methods, preflights, one invoke permission per function) keeps room under CloudFormation's
 * 500 resources per stack as routes are added (test/infra/app.test.ts checks every stack's headroom).
 */
export class ApiHandlersStack extends Stack {
  readonly functions: Record<ApiFunctionName, GiftCardFunction>;
  /** Per route group: 5xx rate, p99 latency and 503 TIMED_OUT answers; they roll canaries back. */
  readonly routeGroupAlarms: Record<ApiFunctionName, cloudwatch.Alarm[]>;

  constructor(scope: Construct, id: string, props: ApiHandlersStackProps) {
    super(scope, id, props);
    const planPrefix = usagePlanPrefix(this.region, props.runtime.region.stage);
    const functions: Partial<Record<ApiFunctionName, GiftCardFunction>> = {};
    for (const fn of API_FUNCTIONS) {
      functions[fn] = new GiftCardFunction(this, `Fn-${fn}`, {
        runtime: props.runtime,
        entry: `api/${fn}.ts`,
        serviceName: `giftcard-api-${fn}`,
        kind: 'api',
        description: `Gift card API '${fn}' handler: ${routesOf(fn).length} route(s) of functions/http/route-table.ts`,
        tableAccess: API_TABLE_ACCESS[fn],
        environment: {
          ...(fn === 'merchants' ? { USAGE_PLAN_PREFIX: planPrefix } : {}),
          // Answers carry Access-Control-Allow-Origin for this origin only (functions/http/api-handler.ts).
          ...(props.consoleOrigin ? { CORS_ALLOWED_ORIGIN: props.consoleOrigin } : {}),
          // The Ops page lists this region's dead-letter queues (CloudFormation names them <stack>-Dlq...).
          ...(fn === 'ops' ? { OPS_QUEUE_PREFIX: 'GiftCard-' } : {}),
          // Apple's devices call the pass's webServiceURL for years: the region's custom domain. Without one
          // the wallet function refuses to make passes; the portal's wallet button builds the same pass.
          ...(props.apiDomain && PASS_BUILDERS.has(fn)
            ? { PUBLIC_BASE_URL: walletBaseUrl(props.apiDomain.name) }
            : {}),
        },
      });
      grantWalletSecrets(functions[fn], props.runtime, WALLET_SECRETS[fn] ?? []);
    }
    this.functions = functions as Record<ApiFunctionName, GiftCardFunction>;
    grantUsageKeyRegistration(this.functions.merchants);
    grantQueueDepthReads(this.functions.ops);
    // Loyalty members sign in with one-time codes sent by e-mail or text (functions/app/member-sign-in.ts).
    grantDelivery(this.functions.members, props.runtime);
    this.routeGroupAlarms = Object.fromEntries(
      API_FUNCTIONS.map((fn) => [fn, this.alarmOnRouteGroup(fn, this.functions[fn], props.runtime)]),
    ) as Record<ApiFunctionName, cloudwatch.Alarm[]>;
  }

  /**
   * A route group's alarms, from the metrics its function emits (functions/http/api-handler.ts): 5xx rate,
   * p99 latency, 503 TIMED_OUT answers. All three roll a canary of the function back.
   */
  private alarmOnRouteGroup(
    fn: ApiFunctionName,
    group: GiftCardFunction,
    runtime: FunctionRuntime,
  ): cloudwatch.Alarm[] {
    const { region } = runtime;
    const minute = Duration.minutes(1);
    const requests = appMetric(region, METRIC.apiRequests, group.serviceName, { period: minute });
    const errors = appMetric(region, METRIC.apiServerErrors, group.serviceName, { period: minute });
    const rate = new cloudwatch.MathExpression({
      expression: `IF(requests >= ${ROUTE_GROUP_5XX.minRequestsPerMinute}, 100 * errors / requests, 0)`,
      usingMetrics: { requests, errors },
      period: minute,
      label: `${fn} 5xx %`,
    });
    const alarms = [
      opsAlarm(group, 'ServerErrorRateAlarm', {
        region,
        name: `api-${fn}-5xx-rate`,
        runbook: 'api-5xx-rate',
        summary: `Route group ${fn}: too many 5xx answers.`,
        why: ROUTE_GROUP_5XX.why,
        metric: rate,
        threshold: ROUTE_GROUP_5XX.percent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: ROUTE_GROUP_5XX.evaluationPeriods,
        datapointsToAlarm: ROUTE_GROUP_5XX.datapointsToAlarm,
      }),
      opsAlarm(group, 'LatencyAlarm', {
        region,
        name: `api-${fn}-p99-latency`,
        runbook: 'api-latency',
        summary: `Route group ${fn}: p99 latency high.`,
        why: ROUTE_GROUP_P99.why,
        metric: appMetric(region, METRIC.apiLatency, group.serviceName, { period: minute, statistic: 'p99' }),
        threshold: ROUTE_GROUP_P99.milliseconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: ROUTE_GROUP_P99.evaluationPeriods,
        datapointsToAlarm: ROUTE_GROUP_P99.datapointsToAlarm,
      }),
      group.alarmOnMetric(
        METRIC.apiRequestTimedOut,
        'api-timeouts',
        `Route group ${fn}: requests answered 503 TIMED_OUT (the function ran out of time).`,
      ),
    ];
    for (const alarm of alarms) group.addRollbackAlarm(alarm);
    return alarms;
  }
}
