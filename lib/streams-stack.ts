import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { STREAM_CONSUMERS, type StreamConsumerDefinition } from '../functions/streams/registry';
import { type FunctionRuntime, GiftCardFunction, grantWalletSecrets } from './constructs/function';
import { opsAlarm } from './monitoring/ops-alarm';
import type { RunbookId } from './monitoring/runbooks';
import { DEFAULT_STREAM_LAG, DLQ_WHY, STREAM_LAG_MINUTES, STREAM_LAG_SECONDS } from './monitoring/thresholds';

export interface StreamsStackProps extends StackProps {
  readonly runtime: FunctionRuntime;
  /** @default STREAM_CONSUMERS of functions/streams/registry.ts */
  readonly consumers?: readonly StreamConsumerDefinition[];
}

/** Retries of a failing batch (after bisecting) before its records go to the DLQ. */
export const STREAM_RETRY_ATTEMPTS = 5;
/**
 * Records older than this are not retried but sent to the DLQ: the table stream keeps records for 24 h,
 * so a DLQ message within 6 h still leaves 18 h to replay from the stream after a fix
 * (`npm run ops -- replay-dlq --consumer <name>`).
 */
export const STREAM_MAX_RECORD_AGE = Duration.hours(6);

/**
 * On-failure destination with exactly the rights Lambda needs to put a failure record on an encrypted
 * queue: sqs:SendMessage, plus kms:GenerateDataKey and kms:Decrypt on the queue key through SQS only.
 * (SqsDlq grants the whole of Queue.grantSendMessages: GetQueueAttributes, GetQueueUrl, kms:ReEncrypt*...)
 */
export class SqsOnFailureDestination implements lambda.IEventSourceDlq {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_target: lambda.IEventSourceMapping, targetHandler: lambda.IFunction): lambda.DlqDestinationConfig {
    targetHandler.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    if (this.queue.encryptionMasterKey) {
      targetHandler.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [this.queue.encryptionMasterKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `sqs.${Stack.of(this.queue).region}.amazonaws.com` },
          },
        }),
      );
    }
    return { destination: this.queue.queueArn };
  }
}

export interface StreamConsumer {
  readonly definition: StreamConsumerDefinition;
  readonly fn: GiftCardFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly dlqAlarm: cloudwatch.Alarm;
  /** IteratorAge: how far behind the stream the consumer is. */
  readonly lagAlarm: cloudwatch.Alarm;
}

/** Runbooks of the metrics consumers alarm on (registry `alarmMetrics`). */
const METRIC_RUNBOOKS: Record<string, RunbookId> = {
  LedgerIntegrityViolation: 'ledger-integrity',
  WebhookDeliveryDead: 'webhook-dead-letters',
};

/**
 * The table stream's consumers: one function per entry of the stream registry, each with an event
 * source mapping (registry filters and batch size, partial batch failures, bisect on error, bounded
 * retries and record age) and its own on-failure DLQ with an alarm on its depth.
 *
 * Starting position TRIM_HORIZON: when a mapping is created (first deploy, or a consumer re-created)
 * it starts from the oldest record still in the stream instead of skipping whatever was written
 * meanwhile. Consumers must be idempotent anyway (delivery is at least once), while a skipped ledger
 * entry would be an unchecked one.
 */
export class StreamsStack extends Stack {
  readonly consumers: StreamConsumer[] = [];
  readonly dlqKey: kms.Key;

  constructor(scope: Construct, id: string, props: StreamsStackProps) {
    super(scope, id, props);
    const { runtime } = props;

    this.dlqKey = new kms.Key(this, 'DlqKey', {
      description: `Gift card stream consumers' dead-letter queues (${this.region})`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    for (const definition of props.consumers ?? STREAM_CONSUMERS) {
      const fn = new GiftCardFunction(this, `Consumer-${definition.name}`, {
        runtime,
        entry: `streams/${definition.module}.ts`,
        serviceName: `giftcard-stream-${definition.name}`,
        kind: 'stream',
        description: definition.description.slice(0, 256),
        // A whole batch of records must fit: keep well below the 15 min maximum, above the API's 10 s.
        timeout: Duration.seconds(definition.timeoutSeconds ?? 60),
        tableAccess: definition.tableAccess,
        wildcardResourceActions:
          'And dynamodb:ListStreams, added by the DynamoDB event source: ListStreams has no resource-level ' +
          'permissions (the stream itself is read through DescribeStream/GetRecords/GetShardIterator on its ARN).',
      });

      for (const metric of definition.alarmMetrics ?? []) {
        fn.alarmOnMetric(
          metric,
          METRIC_RUNBOOKS[metric] ?? 'lambda-errors',
          `Stream consumer ${definition.name} reported ${metric}.`,
        );
      }
      grantWalletSecrets(fn, runtime, definition.secrets ?? []);

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
          'This queue is itself the on-failure destination (DLQ) of a DynamoDB stream event source mapping; ' +
          'cdk-nag only recognises redrive DLQs. Its messages are batch descriptors that an operator replays.',
      });

      // The mapping invokes the alias: CodeDeploy shifts batches to a new version by canary.
      fn.alias.addEventSource(
        new sources.DynamoEventSource(runtime.table.table, {
          startingPosition: lambda.StartingPosition.TRIM_HORIZON,
          batchSize: definition.batchSize,
          // Lambda event filtering matches the raw stream record (eventName, dynamodb.Keys.SK.S, ...),
          // which is exactly the shape the registry filters are written in.
          filters: definition.filters.map((pattern) => lambda.FilterCriteria.filter({ ...pattern })),
          reportBatchItemFailures: true,
          bisectBatchOnError: true,
          retryAttempts: STREAM_RETRY_ATTEMPTS,
          maxRecordAge: STREAM_MAX_RECORD_AGE,
          onFailure: new SqsOnFailureDestination(deadLetterQueue),
        }),
      );

      const dlqAlarm = opsAlarm(this, `DlqAlarm-${definition.name}`, {
        region: runtime.region,
        name: `stream-${definition.name}-dlq`,
        runbook: 'stream-dlq',
        summary:
          `Stream consumer ${definition.name} gave up on records (see its DLQ); fix the cause, then ` +
          `npm run ops -- replay-dlq --consumer ${definition.name} within 24 h of their write.`,
        why: DLQ_WHY,
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
      });
      const lag = STREAM_LAG_SECONDS[definition.name] ?? DEFAULT_STREAM_LAG;
      const lagAlarm = opsAlarm(this, `LagAlarm-${definition.name}`, {
        region: runtime.region,
        name: `stream-${definition.name}-lag`,
        runbook: 'stream-lag',
        summary: `Stream consumer ${definition.name} is falling behind the table stream.`,
        why: `IteratorAge above ${lag.seconds} s for ${STREAM_LAG_MINUTES} minutes: ${lag.why}`,
        metric: fn.function.metric('IteratorAge', {
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: lag.seconds * 1000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: STREAM_LAG_MINUTES,
      });
      fn.addRollbackAlarm(lagAlarm);

      this.consumers.push({ definition, fn, deadLetterQueue, dlqAlarm, lagAlarm });
      new CfnOutput(this, `DlqUrl-${definition.name}`, { value: deadLetterQueue.queueUrl });
      // What `npm run ops -- replay-dlq` invokes with the records it reads back from the stream.
      new CfnOutput(this, `ConsumerAlias-${definition.name}`, { value: fn.alias.functionArn });
    }
  }
}
