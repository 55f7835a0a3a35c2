import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { type CustomMetricGroup, DefaultDashboardFactory, MonitoringFacade } from 'cdk-monitoring-constructs';
import type { Construct } from 'constructs';
import { API_FUNCTIONS } from '../functions/http/route-table';
import { METRIC, metricNamespace } from '../functions/observability/metric-names';
import type { ApiStack } from './api-stack';
import type { RegionConfig } from './config';
import type { DataStack } from './data-stack';
import type { ExportsStack } from './exports-stack';
import { appMetric, opsAlarm } from './monitoring/ops-alarm';
import {
  DYNAMODB_SYSTEM_ERRORS,
  DYNAMODB_THROTTLES,
  EXPORT_OVERDUE_WHY,
  WAF_BLOCKED,
} from './monitoring/thresholds';
import type { SchedulesStack } from './schedules-stack';
import type { StreamsStack } from './streams-stack';

export interface MonitoringStackProps extends StackProps {
  readonly region: RegionConfig;
  readonly data: DataStack;
  readonly api: ApiStack;
  readonly streams: StreamsStack;
  readonly schedules: SchedulesStack;
  readonly exports: ExportsStack;
}

/** Operations that write or read the table, for its throttle and system-error alarms. */
const TABLE_OPERATIONS = [
  dynamodb.Operation.GET_ITEM,
  dynamodb.Operation.QUERY,
  dynamodb.Operation.PUT_ITEM,
  dynamodb.Operation.UPDATE_ITEM,
  dynamodb.Operation.DELETE_ITEM,
  dynamodb.Operation.TRANSACT_WRITE_ITEMS,
  dynamodb.Operation.TRANSACT_GET_ITEMS,
  dynamodb.Operation.BATCH_GET_ITEM,
  dynamodb.Operation.BATCH_WRITE_ITEM,
  dynamodb.Operation.SCAN,
];

/**
 * What an operator looks at in one region: the dashboard (cdk-monitoring-constructs, one per region and
 * stage) and the alarms that belong to no single function: DynamoDB throttles and system errors, WAF
 * blocking a spike of requests, and the monthly export past its deadline. Deployed last: it only reads
 * the other stacks' resources.
 */
export class MonitoringStack extends Stack {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboardName: string;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { region } = props;
    this.dashboardName = `GiftCard-${region.stage}-${this.region}`;
    this.alarms = this.crossCuttingAlarms(props);

    const facade = new MonitoringFacade(this, 'Monitoring', {
      metricFactoryDefaults: { namespace: metricNamespace(region.stage) },
      alarmFactoryDefaults: { alarmNamePrefix: `giftcard-${region.stage}`, actionsEnabled: true },
      dashboardFactory: new DefaultDashboardFactory(this, 'Dashboards', {
        dashboardNamePrefix: this.dashboardName,
        createDashboard: true,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });
    this.businessSection(facade, region);
    this.apiSection(facade, props);
    this.streamSection(facade, props);
    this.dataSection(facade, props);
    this.exportSection(facade, props);

    const dashboard = facade.createdDashboard();
    if (!dashboard) throw new Error('cdk-monitoring-constructs created no dashboard');
    this.dashboard = dashboard;
  }

  /** Redemptions, their value and declines per minute; fraud blocks and webhook dead letters. */
  private businessSection(facade: MonitoringFacade, region: RegionConfig): void {
    const perMinute = (title: string, expression: string): CustomMetricGroup => ({
      title,
      metrics: [
        new cloudwatch.MathExpression({
          expression,
          usingMetrics: {},
          label: ' ',
          period: Duration.minutes(1),
        }),
      ],
    });
    const search = (metricName: string, dimension: string) =>
      `SEARCH('{"${metricNamespace(region.stage)}","${dimension}","service"} MetricName="${metricName}"', 'Sum', 60)`;
    facade.addLargeHeader(`Gift cards ${region.stage} ${this.region}: business`);
    facade.monitorCustom({
      alarmFriendlyName: 'business',
      humanReadableName: 'Redemptions, value and declines (per minute)',
      metricGroups: [
        perMinute('Redemptions per minute, by currency', search(METRIC.redemptions, 'currency')),
        perMinute(
          'Redeemed value per minute (minor units), by currency',
          search(METRIC.redeemedValueMinor, 'currency'),
        ),
        perMinute('Declines per minute, by reason', search(METRIC.declines, 'reason')),
        {
          title: 'Fraud blocks, fraud alerts and webhook dead letters',
          metrics: [
            appMetric(region, METRIC.fraudBlocks, 'giftcard-stream-fraud', { period: Duration.minutes(5) }),
            appMetric(region, METRIC.fraudAlerts, 'giftcard-stream-fraud', { period: Duration.minutes(5) }),
            appMetric(region, METRIC.webhookDeliveryDead, 'giftcard-job-webhook-retries', {
              period: Duration.minutes(5),
            }),
            appMetric(region, METRIC.webhookDeliveryDead, 'giftcard-stream-webhooks', {
              period: Duration.minutes(5),
            }),
          ],
        },
      ],
    });
  }

  /** The stage as API Gateway sees it, then traffic, 5xx and p99 per route group (the functions' metrics). */
  private apiSection(facade: MonitoringFacade, props: MonitoringStackProps): void {
    const { region } = props;
    facade.addLargeHeader('API');
    facade.monitorApiGateway({
      api: props.api.api,
      apiStage: props.api.api.deploymentStage.stageName,
      humanReadableName: 'API stage (API Gateway)',
      alarmFriendlyName: 'api-stage',
    });
    const minute = { period: Duration.minutes(1) };
    const byGroup = (metricName: string, statistic?: string) =>
      API_FUNCTIONS.map((fn) =>
        appMetric(region, metricName, `giftcard-api-${fn}`, {
          ...minute,
          ...(statistic ? { statistic } : {}),
        }).with({
          label: fn,
        }),
      );
    facade.monitorCustom({
      alarmFriendlyName: 'route-groups',
      humanReadableName: 'Route groups (one function each)',
      metricGroups: [
        { title: 'Requests per minute', metrics: byGroup(METRIC.apiRequests) },
        { title: '5xx answers per minute', metrics: byGroup(METRIC.apiServerErrors) },
        { title: 'p99 latency (ms)', metrics: byGroup(METRIC.apiLatency, 'p99') },
      ],
    });
    facade.monitorWebApplicationFirewallAclV2({
      acl: props.api.webAcl.webAcl,
      region: this.region,
      humanReadableName: 'WAF in front of the API',
      alarmFriendlyName: 'waf',
    });
  }

  /** Lag, errors and DLQ depth of every stream consumer. */
  private streamSection(facade: MonitoringFacade, props: MonitoringStackProps): void {
    facade.addLargeHeader('Stream consumers');
    facade.monitorCustom({
      alarmFriendlyName: 'streams',
      humanReadableName: 'Stream consumers',
      metricGroups: [
        {
          title: 'Stream lag per consumer (IteratorAge max, ms)',
          metrics: props.streams.consumers.map((consumer) =>
            consumer.fn.function
              .metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) })
              .with({ label: consumer.definition.name }),
          ),
        },
        {
          title: 'DLQ depth (consumers and scheduled jobs)',
          metrics: [
            ...props.streams.consumers.map((consumer) =>
              consumer.deadLetterQueue
                .metricApproximateNumberOfMessagesVisible({
                  statistic: 'Maximum',
                  period: Duration.minutes(5),
                })
                .with({ label: `stream ${consumer.definition.name}` }),
            ),
            ...props.schedules.jobs.map((job) =>
              job.deadLetterQueue
                .metricApproximateNumberOfMessagesVisible({
                  statistic: 'Maximum',
                  period: Duration.minutes(5),
                })
                .with({ label: `job ${job.definition.name}` }),
            ),
            props.exports.deadLetterQueue
              .metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) })
              .with({ label: 'export schedule' }),
          ],
        },
        {
          title: 'Errors per consumer',
          metrics: props.streams.consumers.map((consumer) =>
            consumer.fn.function
              .metricErrors({ statistic: 'Sum', period: Duration.minutes(1) })
              .with({ label: consumer.definition.name }),
          ),
        },
      ],
    });
  }

  /** The table: consumed capacity, throttles, errors (cdk-monitoring-constructs' DynamoDB segment). */
  private dataSection(facade: MonitoringFacade, props: MonitoringStackProps): void {
    facade.addLargeHeader('DynamoDB');
    facade.monitorDynamoTable({
      table: props.data.table.table,
      humanReadableName: 'Gift card table',
      alarmFriendlyName: 'table',
    });
  }

  /** The last export: successes, failures, and the export-deadline job's verdict. */
  private exportSection(facade: MonitoringFacade, props: MonitoringStackProps): void {
    const { region } = props;
    facade.addLargeHeader('Finance exports');
    facade.monitorStepFunction({
      stateMachine: props.exports.stateMachine,
      humanReadableName: 'Finance export state machine',
      alarmFriendlyName: 'export',
    });
    const day = { period: Duration.days(1) };
    facade.monitorCustom({
      alarmFriendlyName: 'last-export',
      humanReadableName: 'Last export (per day; overdue = 1 while last month is not done past its deadline)',
      metricGroups: [
        {
          title: 'Exports succeeded and failed per day',
          metrics: [
            appMetric(region, METRIC.financeExportSucceeded, 'giftcard-export-finalize', day),
            appMetric(region, METRIC.financeExportFailed, 'giftcard-export-failed', day),
          ],
        },
        {
          title: 'Last month export overdue (hourly check)',
          metrics: [
            appMetric(region, METRIC.financeExportOverdue, 'giftcard-job-export-deadline', {
              period: Duration.hours(1),
              statistic: 'Maximum',
            }),
          ],
        },
      ],
    });
  }

  private crossCuttingAlarms(props: MonitoringStackProps): cloudwatch.Alarm[] {
    const { region } = props;
    const table = props.data.table.table;
    const minute = Duration.minutes(1);
    return [
      opsAlarm(this, 'TableThrottlesAlarm', {
        region,
        name: 'dynamodb-throttles',
        runbook: 'dynamodb-throttles',
        summary: 'DynamoDB is throttling requests to the gift card table.',
        why: DYNAMODB_THROTTLES.why,
        metric: table.metricThrottledRequestsForOperations({
          operations: TABLE_OPERATIONS,
          period: minute,
        }),
        threshold: DYNAMODB_THROTTLES.perMinute,
        evaluationPeriods: DYNAMODB_THROTTLES.evaluationPeriods,
        datapointsToAlarm: DYNAMODB_THROTTLES.datapointsToAlarm,
      }),
      opsAlarm(this, 'TableSystemErrorsAlarm', {
        region,
        name: 'dynamodb-system-errors',
        runbook: 'dynamodb-system-errors',
        summary: 'DynamoDB answers the gift card table with system errors (500).',
        why: DYNAMODB_SYSTEM_ERRORS.why,
        metric: table.metricSystemErrorsForOperations({
          operations: TABLE_OPERATIONS,
          period: Duration.minutes(5),
        }),
        threshold: DYNAMODB_SYSTEM_ERRORS.perFiveMinutes,
      }),
      opsAlarm(this, 'WafBlockedAlarm', {
        region,
        name: 'waf-blocked-spike',
        runbook: 'waf-blocked-spike',
        summary: 'The WAF in front of the API is blocking many requests.',
        why: WAF_BLOCKED.why,
        metric: new cloudwatch.Metric({
          namespace: 'AWS/WAFV2',
          metricName: 'BlockedRequests',
          dimensionsMap: { WebACL: props.api.webAcl.name, Region: this.region, Rule: 'ALL' },
          statistic: 'Sum',
          period: Duration.minutes(5),
        }),
        threshold: WAF_BLOCKED.perFiveMinutes,
        evaluationPeriods: WAF_BLOCKED.evaluationPeriods,
      }),
      opsAlarm(this, 'ExportOverdueAlarm', {
        region,
        name: 'export-overdue',
        runbook: 'export-overdue',
        summary: "Last month's finance export has not succeeded by its deadline.",
        why: EXPORT_OVERDUE_WHY,
        metric: appMetric(region, METRIC.financeExportOverdue, 'giftcard-job-export-deadline', {
          period: Duration.hours(1),
          statistic: 'Maximum',
        }),
        threshold: 1,
        // Checked hourly: between checks the alarm keeps its state (on until the run succeeds).
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      }),
    ];
  }
}
