import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** How long server access logs (who fetched which file) are kept. */
export const ACCESS_LOG_DAYS = 400;

/**
 * The bucket that receives a data bucket's S3 server access logs: private, TLS only, 400 days. Server
 * access logs cannot be written to a KMS-encrypted bucket, so it uses S3-managed keys; and it does not
 * log its own access (that would log the log deliveries, an endless chain), which cdk-nag is told.
 */
export function accessLogBucket(scope: Construct, loggedBucket: string): s3.Bucket {
  const bucket = new s3.Bucket(scope, 'AccessLogs', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [{ expiration: Duration.days(ACCESS_LOG_DAYS) }],
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      `This bucket receives the server access logs of the ${loggedBucket}; logging its own access would log ` +
      `the log deliveries (an endless chain). It is private, TLS-only, and keeps logs ${ACCESS_LOG_DAYS} days.`,
  });
  return bucket;
}

/** How cdk-nag writes a value that may be a CloudFormation pseudo parameter (in acknowledgement ids). */
export const nagValue = (value: string, pseudo: string): string =>
  Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value;
