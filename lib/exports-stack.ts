import {
  type CfnElement,
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
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { METRIC } from '../functions/observability/metric-names';
import { accessLogBucket, nagValue } from './constructs/access-log-bucket';
import { FUNCTION_LOG_RETENTION, type FunctionRuntime, GiftCardFunction } from './constructs/function';
import { opsAlarm } from './monitoring/ops-alarm';
import { DLQ_WHY } from './monitoring/thresholds';
import { sendToQueueStatements } from './schedules-stack';

/** The state machine's steps: one Lambda handler each under functions/exports/. */
export const EXPORT_STEPS = ['plan', 'segment', 'finalize', 'failed'] as const;
export type ExportStep = (typeof EXPORT_STEPS)[number];

/** Segment timeout: Lambda's maximum; a segment is sized to scan in a fraction of it. */
const STEP_TIMEOUTS: Record<ExportStep, Duration> = {
  plan: Duration.minutes(1),
  segment: Duration.minutes(15),
  finalize: Duration.minutes(5),
  failed: Duration.seconds(30),
};

/** Segments scanned at once: bounded so an export leaves the table's read capacity to the API. */
export const EXPORT_MAX_CONCURRENCY = 16;
/** 00:00 on the 1st of every month, in the region's time zone. */
export const EXPORT_SCHEDULE_CRON = '0 0 1 * ? *';
/** Objects move to Infrequent Access once finance has fetched them. */
export const EXPORT_IA_AFTER = Duration.days(30);

/**
 * The export bucket's name: fixed per stage, account and region, so the API stack can name its files in a
 * policy without a cross-stack reference (and its acknowledgement below can name that resource).
 */
export const exportBucketName = (stage: string, account: string, region: string): string =>
  `giftcard-exports-${stage}-${account}-${region}`;

export interface ExportsStackProps extends StackProps {
  readonly runtime: FunctionRuntime;
}

/**
 * Finance exports of one region: the export bucket (KMS, versioned, no public access, TLS only, access
 * logs, Infrequent Access after 30 days), the export state machine (plan -> wait out the settle margin
 * -> Map over scan segments with retries -> finalize; any failure marks the run FAILED and fails the
 * execution), its monthly EventBridge Scheduler schedule in the region's time zone, and alarms on failed
 * or timed-out executions and on the schedule's DLQ. The API stack starts executions for POST /v1/exports.
 */
export class ExportsStack extends Stack {
  readonly key: kms.Key;
  /** Signs each export's root over the cards' ledger chain heads (docs/ledger-chain.md). */
  readonly signingKey: kms.Key;
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  readonly stateMachine: sfn.StateMachine;
  readonly steps: Record<ExportStep, GiftCardFunction>;
  readonly schedule: scheduler.Schedule;
  readonly deadLetterQueue: sqs.Queue;
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly stage: string;

  constructor(scope: Construct, id: string, props: ExportsStackProps) {
    super(scope, id, props);
    const { runtime } = props;
    const { region } = runtime;
    this.stage = region.stage;

    this.key = new kms.Key(this, 'ExportKey', {
      description: `Gift card finance exports (${this.region}): export files and the schedule's DLQ`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.accessLogs = accessLogBucket(this, 'finance export bucket');

    this.bucket = new s3.Bucket(this, 'Exports', {
      bucketName: exportBucketName(this.stage, this.account, this.region),
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'exports/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'infrequent-access',
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: EXPORT_IA_AFTER },
          ],
          noncurrentVersionTransitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: EXPORT_IA_AFTER },
          ],
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });

    const steps: Partial<Record<ExportStep, GiftCardFunction>> = {};
    for (const step of EXPORT_STEPS) {
      const fn = new GiftCardFunction(this, `Step-${step}`, {
        runtime,
        entry: `exports/${step}.ts`,
        serviceName: `giftcard-export-${step}`,
        kind: 'export',
        description: `Finance export step '${step}' (functions/exports/${step}.ts)`,
        timeout: STEP_TIMEOUTS[step],
        // gzip and CSV are CPU-bound: a segment gets a full vCPU.
        memorySize: step === 'segment' ? 1769 : 1024,
        tableAccess: 'readWrite',
        environment: { EXPORT_BUCKET_NAME: this.bucket.bucketName },
      });
      steps[step] = fn;
    }
    this.steps = steps as Record<ExportStep, GiftCardFunction>;
    // The export's chain root is signed by an asymmetric key whose private half never leaves KMS; only
    // finalize may use it, and only to sign and to read the public key it publishes in the manifest.
    this.signingKey = new kms.Key(this, 'ExportSigningKey', {
      description: `Gift card finance exports (${this.region}): signs each export's ledger chain root`,
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.steps.finalize.function.addEnvironment('EXPORT_SIGNING_KEY_ID', this.signingKey.keyArn);
    this.steps.finalize.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Sign', 'kms:GetPublicKey'],
        resources: [this.signingKey.keyArn],
      }),
    );
    // Beyond the item grants every function has: segments scan the table (the one Scan of the platform),
    // and the plan reads the table's item count to size the segments.
    this.steps.segment.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Scan'], resources: [runtime.table.table.tableArn] }),
    );
    this.steps.plan.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DescribeTable'],
        resources: [runtime.table.table.tableArn],
      }),
    );
    // Segments and finalize write files: PutObject (multipart included) under exports/ only, through the key.
    for (const step of ['segment', 'finalize'] as const) {
      const role = this.steps[step].role;
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          resources: [this.bucket.arnForObjects('exports/*')],
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [this.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
        }),
      );
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>/exports/*]`,
        reason:
          'Export files are named per region, month and run (exports/<region>/<YYYY-MM>/<run id>/...), known ' +
          'only when a run starts; the write is limited to that prefix of the export bucket, nothing else.',
      });
    }
    this.alarms.push(
      this.steps.failed.alarmOnMetric(
        METRIC.financeExportFailed,
        'export-failed',
        'A finance export run FAILED (see GET /v1/exports/{id} for the reason).',
      ),
    );

    const invoke = (step: ExportStep, name: string, payload?: sfn.TaskInput) =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: this.steps[step].alias,
        payloadResponseOnly: true,
        ...(payload ? { payload } : {}),
      });

    const markFailed = invoke('failed', 'MarkFailed', sfn.TaskInput.fromJsonPathAt('$')).next(
      new sfn.Fail(this, 'ExportFailed', {
        error: 'FinanceExportFailed',
        cause: 'See the run (GET /v1/exports/{id}).',
      }),
    );
    const catchAll = { errors: [sfn.Errors.ALL], resultPath: '$.error' };

    const plan = invoke('plan', 'Plan').addCatch(markFailed, catchAll);
    const segment = invoke(
      'segment',
      'Segment',
      sfn.TaskInput.fromObject({
        'exportId.$': '$.exportId',
        'segment.$': '$.segment',
        'totalSegments.$': '$.totalSegments',
      }),
    ).addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(10), backoffRate: 3 });
    const segments = new sfn.Map(this, 'Segments', {
      itemsPath: '$.segments',
      maxConcurrency: EXPORT_MAX_CONCURRENCY,
      itemSelector: {
        'exportId.$': '$.exportId',
        'totalSegments.$': '$.totalSegments',
        'segment.$': '$$.Map.Item.Value',
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    segments.itemProcessor(segment);
    segments.addCatch(markFailed, catchAll);
    const finalize = invoke('finalize', 'Finalize', sfn.TaskInput.fromObject({ 'exportId.$': '$.exportId' }))
      .addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(10), backoffRate: 3 })
      .addCatch(markFailed, catchAll);

    const definition = plan.next(
      new sfn.Choice(this, 'AlreadyDone')
        .when(sfn.Condition.booleanEquals('$.done', true), new sfn.Succeed(this, 'NothingToDo'))
        .otherwise(
          // Entries dated before the cutoff may still commit for a little while: read only after that.
          new sfn.Wait(this, 'SettleMargin', { time: sfn.WaitTime.timestampPath('$.notBefore') })
            .next(segments)
            .next(finalize)
            .next(new sfn.Succeed(this, 'Exported')),
        ),
    );

    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      retention: FUNCTION_LOG_RETENTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'ExportStateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(6),
      tracingEnabled: true,
      // Execution data stays out of the logs: the states' inputs are ids and counts, but keep it so.
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    const stateMachineRole = this.stateMachine.role;
    Validations.of(stateMachineRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions logging and tracing: logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, ' +
        'DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups ' +
        'and xray:PutTraceSegments/PutTelemetryRecords/GetSampling* have no resource-level permissions.',
    });
    for (const step of EXPORT_STEPS) {
      Validations.of(stateMachineRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.steps[step].alias.node.defaultChild as CfnElement)}>:*]`,
        reason:
          'Added by the LambdaInvoke task: invoking the step function by its ARN and its qualified ARNs ' +
          '(versions and aliases) of that one function; no other function can be invoked.',
      });
    }

    for (const [name, metric, description] of [
      ['ExecutionsFailed', this.stateMachine.metricFailed(), 'failed (see the run: GET /v1/exports/{id})'],
      ['ExecutionsTimedOut', this.stateMachine.metricTimedOut(), 'timed out after 6 h'],
    ] as const) {
      this.alarms.push(
        opsAlarm(this, `Alarm-${name}`, {
          region,
          name: `export-${name.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`,
          runbook: 'export-failed',
          summary: `A finance export ${description}; fix the cause and POST /v1/exports again (it resumes).`,
          why: 'any execution in 5 minutes: each is a month finance does not have.',
          metric: metric.with({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
          threshold: 1,
        }),
      );
    }

    this.deadLetterQueue = new sqs.Queue(this, 'Dlq-finance-export', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the monthly export schedule (EventBridge Scheduler could ' +
        'not start the state machine); cdk-nag only recognises redrive DLQs. An operator reads it and starts ' +
        'the month with POST /v1/exports.',
    });
    this.alarms.push(
      opsAlarm(this, 'Alarm-ScheduleDlq', {
        region,
        name: 'export-schedule-dlq',
        runbook: 'export-not-started',
        summary:
          'The monthly finance export could not be started (see its DLQ); POST /v1/exports { month } to run it.',
        why: DLQ_WHY,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
      }),
    );

    const group = new scheduler.ScheduleGroup(this, 'Group');
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account, 'aws:SourceArn': group.scheduleGroupArn },
        },
      }),
      description: 'EventBridge Scheduler: starts the monthly finance export',
    });
    schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [this.stateMachine.stateMachineArn],
      }),
    );
    for (const statement of sendToQueueStatements(this.deadLetterQueue))
      schedulerRole.addToPrincipalPolicy(statement);
    this.schedule = new scheduler.Schedule(this, 'Monthly', {
      schedule: scheduler.ScheduleExpression.expression(
        `cron(${EXPORT_SCHEDULE_CRON})`,
        TimeZone.of(runtime.region.timeZone),
      ),
      scheduleGroup: group,
      description: 'Finance export of the month just ended (cutoff 00:00 of the 1st, region time zone)',
      timeWindow: scheduler.TimeWindow.off(),
      target: new targets.StepFunctionsStartExecution(this.stateMachine, {
        role: schedulerRole.withoutPolicyUpdates(),
        // The plan cuts off at the month boundary at or before this time, however late the run starts.
        input: scheduler.ScheduleTargetInput.fromObject({
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
        }),
        retryAttempts: 5,
        maxEventAge: Duration.hours(6),
        deadLetterQueue: this.deadLetterQueue,
      }),
    });
    this.schedule.node.addDependency(schedulerRole);

    new CfnOutput(this, 'ExportBucketName', { value: this.bucket.bucketName });
    new CfnOutput(this, 'ExportStateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ExportSigningKeyArn', { value: this.signingKey.keyArn });
  }

  /**
   * What the API's exports function needs: start executions of this state machine, and read the files
   * under exports/ (the download links it signs are only as good as its own rights).
   */
  grantApi(fn: GiftCardFunction): void {
    const stack = Stack.of(fn);
    const bucketName = exportBucketName(this.stage, stack.account, stack.region);
    fn.function.addEnvironment('EXPORT_BUCKET_NAME', bucketName);
    fn.function.addEnvironment('EXPORT_STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [this.stateMachine.stateMachineArn],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`arn:${stack.partition}:s3:::${bucketName}/exports/*`],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );
    const nagBucket = exportBucketName(this.stage, nagValue(stack.account, 'AccountId'), stack.region);
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagValue(stack.partition, 'Partition')}:s3:::${nagBucket}/exports/*]`,
      reason:
        'The exports API signs download links for the files of any run (exports/<region>/<YYYY-MM>/<run id>/...): ' +
        'read-only, limited to the exports/ prefix of the export bucket.',
    });
  }
}
