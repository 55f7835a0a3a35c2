import { S3Client } from '@aws-sdk/client-s3';
import { config } from '../config';
import { traced } from '../observability/tracer';

/**
 * s3rver's built-in account (the local S3 of `npm start` and the tests); it checks that the access key
 * exists, not the V4 signature. In AWS the function's role credentials are used.
 */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

let client: S3Client | undefined;

/** Module-level singleton, like the DynamoDB client. */
export function s3(): S3Client {
  if (!client) {
    const { AWS_REGION, S3_ENDPOINT } = config();
    client = traced(
      new S3Client({
        region: AWS_REGION,
        ...(S3_ENDPOINT
          ? { endpoint: S3_ENDPOINT, forcePathStyle: true, credentials: S3RVER_CREDENTIALS }
          : {}),
        maxAttempts: 4,
      }),
    );
  }
  return client;
}

export function exportBucket(): string {
  const bucket = config().EXPORT_BUCKET_NAME;
  if (!bucket) throw new Error('EXPORT_BUCKET_NAME is not configured: finance exports need their bucket');
  return bucket;
}

export function resetS3ForTests(): void {
  client?.destroy();
  client = undefined;
}
