import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { STREAM_CONSUMERS, type StreamConsumerDefinition } from '../functions/streams/registry';
import {
  alarmOnLogMetric,
  countLogMetric,
  type FunctionRuntime,
  GiftCardFunction,
  grantWalletSecrets,
} from './constructs/function';

export interface StreamsStackProps extends StackProps {
  readonly runtime: FunctionRuntime;
  /** @default STREAM_CONSUMERS of functions/streams/registry.ts */
  readonly consumers?: readonly StreamConsumerDefinition[];
}

/** Retries of a failing batch (after bisecting) before its records go to the DLQ. */
export const STREAM_RETRY_ATTEMPTS = 5;
/**
 * Records older than this are not retried but sent to the DLQ: the table stream keeps records for 24 h,
 * so a DLQ message within 6 h still leaves 18 h to replay from the stream after a fix.
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
}

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
        description: definition.description.slice(0, 256),
        // A whole batch of records must fit: keep well below the 15 min maximum, above the API's 10 s.
        timeout: Duration.seconds(definition.timeoutSeconds ?? 60),
        tableAccess: definition.tableAccess,
        wildcardResourceActions:
          'And dynamodb:ListStreams, added by the DynamoDB event source: ListStreams has no resource-level ' +
          'permissions (the stream itself is read through DescribeStream/GetRecords/GetShardIterator on its ARN).',
      });

      for (const metric of definition.logAlarms ?? []) alarmOnLogMetric(fn, metric);
      for (const metric of definition.logMetrics ?? []) countLogMetric(fn, metric);
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

      fn.function.addEventSource(
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

      const dlqAlarm = new cloudwatch.Alarm(this, `DlqAlarm-${definition.name}`, {
        alarmDescription:
          `Stream consumer ${definition.name} gave up on records (see its DLQ); ` +
          'fix the cause, then replay them from the stream within 24 h of their write.',
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

      this.consumers.push({ definition, fn, deadLetterQueue, dlqAlarm });
      new CfnOutput(this, `DlqUrl-${definition.name}`, { value: deadLetterQueue.queueUrl });
    }
  }
}
