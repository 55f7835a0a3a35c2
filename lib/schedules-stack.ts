import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  TimeZone,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { SCHEDULED_JOBS, type ScheduledJobDefinition } from '../functions/scheduled/registry';
import { grantDelivery } from './constructs/delivery';
import { type FunctionRuntime, GiftCardFunction, usePortalBaseUrl } from './constructs/function';
import { grantUsageKeyRegistration, usagePlanPrefix } from './constructs/usage-keys';
import { opsAlarm } from './monitoring/ops-alarm';
import { DLQ_WHY } from './monitoring/thresholds';

export interface SchedulesStackProps extends StackProps {
  readonly runtime: FunctionRuntime;
  /** @default SCHEDULED_JOBS of functions/scheduled/registry.ts */
  readonly jobs?: readonly ScheduledJobDefinition[];
}

/** A job run may take this long: sweeps page through everything due, far above the API's 10 s. */
export const JOB_TIMEOUT = Duration.minutes(5);
/**
 * Retries of one run, both by EventBridge Scheduler (when invoking the function fails: throttling, a
 * missing permission) and by Lambda (when the function itself fails; Scheduler invokes asynchronously).
 * Jobs only take what is due, so a retry is safe, and the next scheduled run takes what is left anyway.
 */
export const JOB_RETRY_ATTEMPTS = 2;
/** A run not started within this time goes to the job's DLQ instead of running late. */
export const JOB_MAX_EVENT_AGE = Duration.hours(1);

/**
 * The registry's `every` as a Scheduler expression: `rate(n minutes)`, or the cron (six fields, the
 * EventBridge syntax) evaluated in the region's time zone, so a nightly job runs at the same local
 * time all year round. Fails the synth on a malformed entry, naming the job.
 */
export function scheduleExpressionOf(
  job: ScheduledJobDefinition,
  timeZone: string,
): scheduler.ScheduleExpression {
  if ('minutes' in job.every) {
    const { minutes } = job.every;
    if (!Number.isInteger(minutes) || minutes < 1) {
      throw new Error(`Scheduled job ${job.name}: every.minutes must be a whole number >= 1, got ${minutes}`);
    }
    return scheduler.ScheduleExpression.rate(Duration.minutes(minutes));
  }
  const cron = job.every.cron.trim();
  if (cron.split(/\s+/).length !== 6) {
    throw new Error(
      `Scheduled job ${job.name}: every.cron must have the six fields of an EventBridge cron ` +
        `(minutes hours day-of-month month day-of-week year), got "${job.every.cron}"`,
    );
  }
  return scheduler.ScheduleExpression.expression(`cron(${cron})`, TimeZone.of(timeZone));
}

/**
 * What it takes to put a message on an SQS queue encrypted with a customer managed key, and nothing
 * more: sqs:SendMessage on the queue, kms:GenerateDataKey and kms:Decrypt on its key through SQS only.
 * (Queue.grantSendMessages adds GetQueueAttributes, GetQueueUrl, kms:Encrypt and kms:ReEncrypt*.)
 */
export function sendToQueueStatements(queue: sqs.IQueue): iam.PolicyStatement[] {
  const statements = [new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] })];
  if (queue.encryptionMasterKey) {
    statements.push(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [queue.encryptionMasterKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${Stack.of(queue).region}.amazonaws.com` } },
      }),
    );
  }
  return statements;
}

/**
 * On-failure destination of a function's asynchronous invocations with exactly the rights Lambda needs
 * to put the failure record on an encrypted queue (SqsDestination grants all of grantSendMessages).
 */
export class SqsAsyncFailureDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    for (const statement of sendToQueueStatements(this.queue)) fn.addToRolePolicy(statement);
    return { destination: this.queue.queueArn };
  }
}

export interface ScheduledJob {
  readonly definition: ScheduledJobDefinition;
  readonly fn: GiftCardFunction;
  readonly schedule: scheduler.Schedule;
  readonly schedulerRole: iam.Role;
  readonly deadLetterQueue: sqs.Queue;
  readonly dlqAlarm: cloudwatch.Alarm;
  readonly errorsAlarm: cloudwatch.Alarm;
}

/**
 * The scheduled jobs: one function per entry of the job registry, invoked by its own EventBridge
 * Scheduler schedule (rate, or cron in the region's time zone; no flexible window) in the stack's
 * schedule group, through its own execution role that may invoke that function and write to that
 * job's DLQ, nothing else.
 *
 * A run that cannot be delivered (Scheduler gave up after its retries or the event grew too old) and a
 * run that kept failing (Lambda's asynchronous retries exhausted) both end in the job's KMS-encrypted
 * DLQ, with an alarm on its depth; a second alarm fires on any function error, retried or not.
 */
export class SchedulesStack extends Stack {
  readonly jobs: ScheduledJob[] = [];
  readonly dlqKey: kms.Key;
  readonly scheduleGroup: scheduler.ScheduleGroup;

  constructor(scope: Construct, id: string, props: SchedulesStackProps) {
    super(scope, id, props);
    const { runtime } = props;

    this.dlqKey = new kms.Key(this, 'DlqKey', {
      description: `Gift card scheduled jobs' dead-letter queues (${this.region})`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Its own group: the execution roles trust Scheduler only on behalf of this group's schedules.
    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'Group');

    for (const definition of props.jobs ?? SCHEDULED_JOBS) {
      const fn = new GiftCardFunction(this, `Job-${definition.name}`, {
        runtime,
        entry: `scheduled/${definition.module}.ts`,
        serviceName: `giftcard-job-${definition.name}`,
        kind: 'job',
        description: definition.description.slice(0, 256),
        timeout: JOB_TIMEOUT,
        tableAccess: 'readWrite',
        ...(definition.registersUsageKeys
          ? { environment: { USAGE_PLAN_PREFIX: usagePlanPrefix(this.region, runtime.region.stage) } }
          : {}),
      });
      if (definition.registersUsageKeys) grantUsageKeyRegistration(fn);
      if (definition.sendsMessages) {
        grantDelivery(fn, runtime);
        usePortalBaseUrl(fn, runtime);
      }
      for (const metric of definition.alarmMetrics ?? []) {
        fn.alarmOnMetric(
          metric,
          'webhook-dead-letters',
          `Scheduled job ${definition.name} reported ${metric}.`,
        );
      }

      const deadLetterQueue = new sqs.Queue(this, `Dlq-${definition.name}`, {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.dlqKey,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(deadLetterQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself the dead-letter queue of a scheduled job: of its EventBridge Scheduler target ' +
          "and of its function's asynchronous invocations; cdk-nag only recognises redrive DLQs. Nothing " +
          'consumes it: an operator reads why the run was given up on, fixes the cause and runs the job again.',
      });

      // Failures of the function itself: Lambda retries, then records the failed run in the DLQ.
      // Scheduler invokes the alias, so the asynchronous invocation settings are the alias's.
      fn.alias.configureAsyncInvoke({
        retryAttempts: JOB_RETRY_ATTEMPTS,
        maxEventAge: JOB_MAX_EVENT_AGE,
        onFailure: new SqsAsyncFailureDestination(deadLetterQueue),
      });

      // The execution role is written out rather than left to LambdaInvoke, which would grant
      // lambda:InvokeFunction on `<function>:*` too (every version and alias) and, for an encrypted DLQ,
      // sqs:SendMessage without the key rights SQS needs. The target sees it without policy updates.
      const schedulerRole = new iam.Role(this, `SchedulerRole-${definition.name}`, {
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
          conditions: {
            StringEquals: {
              'aws:SourceAccount': this.account,
              'aws:SourceArn': this.scheduleGroup.scheduleGroupArn,
            },
          },
        }),
        description: `EventBridge Scheduler: runs the scheduled job ${definition.name}`,
      });
      schedulerRole.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.alias.functionArn] }),
      );
      for (const statement of sendToQueueStatements(deadLetterQueue)) {
        schedulerRole.addToPrincipalPolicy(statement);
      }

      const schedule = new scheduler.Schedule(this, `Schedule-${definition.name}`, {
        schedule: scheduleExpressionOf(definition, runtime.region.timeZone),
        scheduleGroup: this.scheduleGroup,
        description: definition.description.slice(0, 512),
        timeWindow: scheduler.TimeWindow.off(),
        target: new targets.LambdaInvoke(fn.alias, {
          role: schedulerRole.withoutPolicyUpdates(),
          retryAttempts: JOB_RETRY_ATTEMPTS,
          maxEventAge: JOB_MAX_EVENT_AGE,
          deadLetterQueue,
        }),
      });
      // The first run must not race the execution role's policy.
      schedule.node.addDependency(schedulerRole);

      const dlqAlarm = opsAlarm(this, `DlqAlarm-${definition.name}`, {
        region: runtime.region,
        name: `job-${definition.name}-dlq`,
        runbook: 'job-failed',
        summary:
          `Scheduled job ${definition.name} gave up on a run (see its DLQ: undelivered, or failed after ` +
          'retries); fix the cause, then invoke the job function again.',
        why: DLQ_WHY,
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
      });
      // Any failed run (items it could not settle stay due and are taken by the next run).
      const errorsAlarm = fn.errorsAlarm;

      this.jobs.push({ definition, fn, schedule, schedulerRole, deadLetterQueue, dlqAlarm, errorsAlarm });
      new CfnOutput(this, `DlqUrl-${definition.name}`, { value: deadLetterQueue.queueUrl });
    }
  }
}
