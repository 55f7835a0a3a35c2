import {
  ArnFormat,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { accessLogBucket, nagValue } from './constructs/access-log-bucket';
import { type FunctionRuntime, GiftCardFunction, LIVE_ALIAS, usePortalBaseUrl } from './constructs/function';
import { opsAlarm } from './monitoring/ops-alarm';
import { DLQ_WHY } from './monitoring/thresholds';
import { SqsAsyncFailureDestination } from './schedules-stack';

/**
 * The bulk bucket's name: fixed per stage, account and region (like the export bucket's), so the API's
 * grants and their acknowledgements can name its objects without a cross-stack reference.
 */
export const bulkBucketName = (stage: string, account: string, region: string): string =>
  `giftcard-bulk-${stage}-${account}-${region}`;

/** The bulk runner's name: fixed, because its own policy lets it invoke itself (see functionName). */
export const bulkRunnerName = (stage: string): string => `giftcard-${stage}-bulk-runner`;

/** One invocation of the runner: Lambda's maximum; the runner hands on to itself before it runs out. */
export const BULK_RUNNER_TIMEOUT = Duration.minutes(15);
/** Lambda's retries of a failed run (each resumes at the first unfinished chunk). */
export const BULK_RUNNER_RETRY_ATTEMPTS = 2;
/** Uploads and result files are kept this long: the customer fetches the result within days. */
export const BULK_FILE_DAYS = 30;

export interface IssuanceStackProps extends StackProps {
  readonly runtime: FunctionRuntime;
}

/**
 * E-gift delivery and bulk issuance of one region (issue #19), beside the API: the bulk bucket (KMS, no
 * public access, TLS only, access logs, files expire after BULK_FILE_DAYS), the bulk runner (asynchronous
 * invocations `{ batchId }`; it re-invokes itself before its 15 minutes end, Lambda retries a failed run
 * twice, then the failure goes to a KMS-encrypted DLQ with an alarm), and, when the region configures
 * delivery, the consumer of SES's events (bounces, complaints, deliveries) subscribed to the Delivery
 * construct's topic, its failed invocations in the same DLQ. The API's bulk function is granted what it
 * needs here (grantBulkApi); the e-gift sender (API and the egift-deliveries job) by grantDelivery.
 */
export class IssuanceStack extends Stack {
  readonly key: kms.Key;
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  readonly runner: GiftCardFunction;
  readonly sesEvents: GiftCardFunction | undefined;
  readonly deadLetterQueue: sqs.Queue;
  readonly dlqAlarm: cloudwatch.Alarm;
  private readonly stage: string;

  constructor(scope: Construct, id: string, props: IssuanceStackProps) {
    super(scope, id, props);
    const { runtime } = props;
    this.stage = runtime.region.stage;

    this.key = new kms.Key(this, 'BulkKey', {
      description: `Gift card bulk issuance (${this.region}): uploads, result files and the runner's DLQ`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.accessLogs = accessLogBucket(this, 'bulk bucket');
    this.bucket = new s3.Bucket(this, 'Bulk', {
      bucketName: bulkBucketName(this.stage, this.account, this.region),
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'bulk/',
      removalPolicy: RemovalPolicy.RETAIN,
      // Uploads hold recipients' addresses and result files claim links or codes: kept no longer than needed.
      lifecycleRules: [
        {
          id: 'expire',
          expiration: Duration.days(BULK_FILE_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    this.deadLetterQueue = new sqs.Queue(this, 'Dlq-issuance', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the failure destination of the bulk runner and the SES events consumer (their ' +
        'asynchronous invocations, after Lambda retried them); cdk-nag only recognises redrive DLQs. Nothing ' +
        'consumes it: an operator reads the failed event, fixes the cause and invokes the function again.',
    });
    this.dlqAlarm = opsAlarm(this, 'DlqAlarm', {
      region: runtime.region,
      name: 'issuance-dlq',
      runbook: 'job-failed',
      summary:
        'A bulk batch run or an SES event gave up after its retries (see the issuance DLQ): fix the cause, ' +
        'then invoke the function again with the event.',
      why: DLQ_WHY,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
    });

    this.runner = this.bulkRunner(runtime);
    this.sesEvents = runtime.delivery ? this.sesEventsConsumer(runtime) : undefined;

    new CfnOutput(this, 'BulkBucketName', { value: this.bucket.bucketName });
    new CfnOutput(this, 'BulkRunnerName', { value: this.runner.functionName });
    new CfnOutput(this, 'DlqUrl', { value: this.deadLetterQueue.queueUrl });
  }

  /** The runner's live alias, qualified: what the API and the runner itself invoke. */
  get runnerAliasName(): string {
    return `${bulkRunnerName(this.stage)}:${LIVE_ALIAS}`;
  }

  private runnerAliasArn(scope: Construct): string {
    return Stack.of(scope).formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: this.runnerAliasName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  private bulkRunner(runtime: FunctionRuntime): GiftCardFunction {
    const runner = new GiftCardFunction(this, 'BulkRunner', {
      runtime,
      entry: 'bulk/runner.ts',
      functionName: bulkRunnerName(this.stage),
      serviceName: 'giftcard-bulk-runner',
      kind: 'job',
      description:
        'Runs accepted bulk batches in the background (issue #19): issues their cards chunk by chunk, writes the encrypted result file',
      timeout: BULK_RUNNER_TIMEOUT,
      tableAccess: 'readWrite',
      environment: {
        BULK_BUCKET_NAME: bulkBucketName(this.stage, this.account, this.region),
        BULK_RUNNER_FUNCTION_NAME: this.runnerAliasName,
      },
    });
    usePortalBaseUrl(runner, runtime);
    runner.alias.configureAsyncInvoke({
      retryAttempts: BULK_RUNNER_RETRY_ATTEMPTS,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsAsyncFailureDestination(this.deadLetterQueue),
    });
    this.grantObjects(runner, 'runner');
    // Continues a long batch in a fresh invocation of itself (its name is fixed: no dependency cycle).
    runner.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.runnerAliasArn(this)] }),
    );
    return runner;
  }

  private sesEventsConsumer(runtime: FunctionRuntime): GiftCardFunction {
    const delivery = runtime.delivery;
    if (!delivery) throw new Error("The SES events consumer needs the region's delivery service");
    const consumer = new GiftCardFunction(this, 'SesEvents', {
      runtime,
      entry: 'delivery/ses-events.ts',
      serviceName: 'giftcard-delivery-ses-events',
      kind: 'job',
      description: "Marks e-gift deliveries from SES's events: delivered, bounced, complained (issue #19)",
      timeout: Duration.seconds(30),
      tableAccess: 'readWrite',
    });
    consumer.alias.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsAsyncFailureDestination(this.deadLetterQueue),
    });
    delivery.eventsTopic.addSubscription(new subscriptions.LambdaSubscription(consumer.alias));
    return consumer;
  }

  /**
   * What the API's bulk function needs: sign the upload link (PUT of bulk/<id>/input.csv) and the result's
   * download link, read the upload to validate it, write a JSON batch as the file, and start the runner.
   */
  grantBulkApi(fn: GiftCardFunction): void {
    const stack = Stack.of(fn);
    fn.function.addEnvironment('BULK_BUCKET_NAME', bulkBucketName(this.stage, stack.account, stack.region));
    fn.function.addEnvironment('BULK_RUNNER_FUNCTION_NAME', this.runnerAliasName);
    this.grantObjects(fn, 'api');
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.runnerAliasArn(fn)] }),
    );
  }

  /**
   * What the bulk-resume job needs (functions/scheduled/bulk-resume.ts): invoke the runner's live alias
   * for a batch whose progress stood still. It reads and writes only table items besides.
   */
  grantBulkResume(fn: GiftCardFunction): void {
    fn.function.addEnvironment('BULK_RUNNER_FUNCTION_NAME', this.runnerAliasName);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.runnerAliasArn(fn)] }),
    );
  }

  /** Object rights under bulk/ and the key through S3 only; acknowledged for the prefix's wildcard. */
  private grantObjects(fn: GiftCardFunction, who: 'api' | 'runner'): void {
    const stack = Stack.of(fn);
    const bucketName = bulkBucketName(this.stage, stack.account, stack.region);
    const actions =
      who === 'api'
        ? ['s3:GetObject', 's3:PutObject']
        : ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'];
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions, resources: [`arn:${stack.partition}:s3:::${bucketName}/bulk/*`] }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );
    const nagBucket = bulkBucketName(this.stage, nagValue(stack.account, 'AccountId'), stack.region);
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagValue(stack.partition, 'Partition')}:s3:::${nagBucket}/bulk/*]`,
      reason:
        who === 'api'
          ? 'The bulk API signs the upload and download links of any batch (bulk/<batch id>/input.csv or .json and ' +
            'result-<run>.csv.pgp), reads an upload to validate it and writes a JSON batch as its file: the bulk/ ' +
            'prefix of the bulk bucket only.'
          : "The bulk runner reads any batch's accepted file and writes its result file (multipart, so it may " +
            'abort one): objects under the bulk/ prefix of the bulk bucket only, per batch id.',
    });
  }
}
