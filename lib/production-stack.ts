import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { accessLogBucket, nagValue } from './constructs/access-log-bucket';
import { type FunctionRuntime, GiftCardFunction } from './constructs/function';

export interface ProductionStackProps extends StackProps {
  readonly runtime: FunctionRuntime;
}

/** Printer files are fetched within days of an order; kept a year for reprints and disputes. */
const PRINTER_FILE_DAYS = 365;

/** Fixed per stage, account and region, so the API stack names the files without a cross-stack reference. */
export const printerFileBucketName = (stage: string, account: string, region: string): string =>
  `giftcard-printer-files-${stage}-${account}-${region}`;

/**
 * Physical card production of one region (docs/production.md): the printer file bucket (SSE-KMS under
 * its own key, no public access, TLS only, access logs) and the production worker, invoked
 * asynchronously per order (functions/production/worker.ts); it runs chunks for up to 15 minutes and
 * invokes itself again for the rest. The API's production function starts it and signs download links.
 */
export class ProductionStack extends Stack {
  readonly key: kms.Key;
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  readonly worker: GiftCardFunction;
  private readonly stage: string;

  constructor(scope: Construct, id: string, props: ProductionStackProps) {
    super(scope, id, props);
    this.stage = props.runtime.region.stage;
    this.key = new kms.Key(this, 'PrinterFileKey', {
      description: `Gift card printer files (${this.region}): S3 encryption under the OpenPGP layer`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.accessLogs = accessLogBucket(this, 'printer file bucket (every download of a printer file)');
    this.bucket = new s3.Bucket(this, 'PrinterFiles', {
      bucketName: printerFileBucketName(this.stage, this.account, this.region),
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'printer-files/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          expiration: Duration.days(PRINTER_FILE_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    this.worker = new GiftCardFunction(this, 'Worker', {
      runtime: props.runtime,
      entry: 'production/worker.ts',
      serviceName: 'giftcard-job-production',
      kind: 'job',
      description: 'Production orders: PENDING cards and their encrypted printer file parts, chunk by chunk',
      timeout: Duration.minutes(15),
      memorySize: 1024,
      tableAccess: 'readWrite',
      environment: {
        PRINTER_FILE_BUCKET_NAME: this.bucket.bucketName,
        PRINTER_FILE_KMS_KEY_ID: this.key.keyArn,
      },
    });
    const parts = this.bucket.arnForObjects('production/*');
    this.worker.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [parts] }),
    );
    // SSE-KMS multipart uploads: a data key per object, and Decrypt to complete the upload.
    this.worker.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.key.keyArn],
      }),
    );
    // It hands an order on to its next invocation before its 15 minutes run out.
    // A policy of its own: the function already depends on its role's default policy.
    new iam.Policy(this, 'WorkerSelfInvoke', {
      roles: [this.worker.role],
      statements: [
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [this.worker.function.functionArn],
        }),
      ],
    });
    Validations.of(this.worker.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.bucketLogicalId()}.Arn>/production/*]`,
      reason:
        'The production worker writes the parts of any order under production/<order id>/ of the printer ' +
        'file bucket (object keys made per order): put and abort multipart upload only, that prefix only.',
    });
    new CfnOutput(this, 'PrinterFileBucketName', { value: this.bucket.bucketName });
  }

  private bucketLogicalId(): string {
    return this.resolve((this.bucket.node.defaultChild as s3.CfnBucket).logicalId) as string;
  }

  /** The API's production function: starts the worker, and signs download links for printer files. */
  grantApi(fn: GiftCardFunction): void {
    fn.function.addEnvironment(
      'PRINTER_FILE_BUCKET_NAME',
      printerFileBucketName(this.stage, Stack.of(fn).account, Stack.of(fn).region),
    );
    fn.function.addEnvironment('PRINTER_FILE_KMS_KEY_ID', this.key.keyArn);
    fn.function.addEnvironment('PRODUCTION_WORKER_FUNCTION_NAME', this.worker.function.functionName);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.worker.function.functionArn],
      }),
    );
    const stack = Stack.of(fn);
    const bucketName = printerFileBucketName(this.stage, stack.account, stack.region);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`arn:${stack.partition}:s3:::${bucketName}/production/*`],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );
    const nagBucket = printerFileBucketName(this.stage, nagValue(stack.account, 'AccountId'), stack.region);
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagValue(stack.partition, 'Partition')}:s3:::${nagBucket}/production/*]`,
      reason:
        'The production API signs download links for the parts of any order (production/<order id>/...) of ' +
        'the printer file bucket: GetObject only, that prefix only.',
    });
  }
}
