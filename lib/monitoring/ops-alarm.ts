import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { metricNamespace } from '../../functions/observability/metric-names';
import type { RegionConfig } from '../config';
import { type RunbookId, runbookLink } from './runbooks';

export interface OpsAlarmProps {
  readonly region: RegionConfig;
  /** Unique within the stage and region, kebab-case: becomes `giftcard-<stage>-<name>`. */
  readonly name: string;
  readonly runbook: RunbookId;
  /** What happened, in a sentence an on-call engineer reads on a phone. */
  readonly summary: string;
  /** Why the threshold is what it is (also in the description, so the reason travels with the page). */
  readonly why: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  /** @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparisonOperator?: cloudwatch.ComparisonOperator;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default evaluationPeriods */
  readonly datapointsToAlarm?: number;
  /** @default NOT_BREACHING: no traffic is not a failure */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/** CloudWatch limits an alarm description to 1024 characters. */
const MAX_DESCRIPTION = 1024;

/**
 * An alarm of the platform: a stable name with the stage, a description that says what happened, why the
 * threshold and where the runbook is. Its actions (the region's alarm topic, on ALARM and on OK) are added
 * by the AlarmActions aspect (lib/monitoring/alarm-actions.ts) to every alarm of the region's stacks.
 */
export function opsAlarm(scope: Construct, id: string, props: OpsAlarmProps): cloudwatch.Alarm {
  const link = `Runbook: ${runbookLink(props.region, props.runbook)}`;
  const text = `${props.summary} Threshold: ${props.why}`;
  const room = MAX_DESCRIPTION - link.length - 1;
  return new cloudwatch.Alarm(scope, id, {
    alarmName: `giftcard-${props.region.stage}-${props.name}`,
    alarmDescription: `${text.length > room ? `${text.slice(0, room - 1)}…` : text} ${link}`,
    metric: props.metric,
    threshold: props.threshold,
    comparisonOperator:
      props.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: props.evaluationPeriods ?? 1,
    datapointsToAlarm: props.datapointsToAlarm ?? props.evaluationPeriods ?? 1,
    treatMissingData: props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

/**
 * A metric the functions emit (functions/observability/metric-names.ts) in the stage's namespace, for one
 * function's `service` and any further dimensions it carries.
 */
export function appMetric(
  region: Pick<RegionConfig, 'stage'>,
  metricName: string,
  service: string,
  options: { statistic?: string; period?: Duration; dimensions?: Record<string, string> } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: metricNamespace(region.stage),
    metricName,
    dimensionsMap: { service, ...options.dimensions },
    statistic: options.statistic ?? cloudwatch.Stats.SUM,
    period: options.period ?? Duration.minutes(5),
  });
}
