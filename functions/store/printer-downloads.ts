import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { config } from '../config';
import { s3 } from './s3-client';

/** A presigned GET of a printer file part: the link works for `seconds`, then S3 refuses it. */
export async function printerPartUrl(key: string, seconds: number): Promise<string> {
  const bucket = config().PRINTER_FILE_BUCKET_NAME;
  if (!bucket) throw new Error('PRINTER_FILE_BUCKET_NAME is not configured: printer files need their bucket');
  return getSignedUrl(s3(), new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: seconds });
}
