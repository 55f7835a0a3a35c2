import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import * as openpgp from 'openpgp';
import { config } from '../config';
import type { BulkFileFormat, BulkResultFile } from '../core/bulk/bulk-batch-model';
import { s3 } from './s3-client';

/**
 * A bulk batch's files in the bulk bucket: the customer's upload (a presigned PUT, so a 100,000-row file
 * never passes through API Gateway or a Lambda payload) and the result file, which streams like a printer
 * file (store/printer-file.ts): lines -> OpenPGP encryption to the customer's key -> S3 multipart upload,
 * holding a few parts at most whatever the rows.
 */
const UPLOAD_URL_SECONDS = 60 * 60;
const DOWNLOAD_URL_SECONDS = 15 * 60;
/** A result file part: S3's smallest multipart part, so the upload holds as little as S3 allows. */
export const RESULT_PART_BYTES = 5 * 1024 * 1024;
/** Parts uploading at once; while both are busy the upload stops reading, and so does the encryption. */
export const RESULT_PARTS_IN_FLIGHT = 2;
/** The largest file a batch may upload (the validation stops reading past its own limit too). */
export const MAX_BULK_FILE_BYTES = 512 * 1024 * 1024;

export function bulkBucket(): string {
  const bucket = config().BULK_BUCKET_NAME ?? config().EXPORT_BUCKET_NAME;
  if (!bucket) throw new Error('BULK_BUCKET_NAME is not configured: bulk batches need their bucket');
  return bucket;
}

export const bulkInputKey = (batchId: string, format: BulkFileFormat = 'CSV') =>
  `bulk/${batchId}/input.${format === 'JSON' ? 'json' : 'csv'}`;
export const bulkContentType = (format: BulkFileFormat = 'CSV') =>
  format === 'JSON' ? 'application/json' : 'text/csv';
/**
 * Each run that writes a result file writes its own object (`run`, random): if a resumed runner and a live
 * one both reach the end, the batch records the one whose completion won, and the other is never read.
 */
export const bulkResultKey = (batchId: string, run: string) => `bulk/${batchId}/result-${run}.csv.pgp`;

export function bulkUploadUrl(key: string, contentType = 'text/csv'): Promise<string> {
  return getSignedUrl(
    s3(),
    new PutObjectCommand({ Bucket: bulkBucket(), Key: key, ContentType: contentType }),
    {
      expiresIn: UPLOAD_URL_SECONDS,
    },
  );
}

export function bulkDownloadUrl(key: string): Promise<string> {
  return getSignedUrl(s3(), new GetObjectCommand({ Bucket: bulkBucket(), Key: key }), {
    expiresIn: DOWNLOAD_URL_SECONDS,
  });
}

/** Writes a small file directly (a JSON batch turned into CSV). */
export async function putBulkFile(key: string, body: string): Promise<void> {
  await s3().send(
    new PutObjectCommand({ Bucket: bulkBucket(), Key: key, Body: body, ContentType: 'text/csv' }),
  );
}

/** The uploaded file as byte chunks, streamed; undefined when nothing was uploaded. */
export async function bulkFileChunks(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
  try {
    const out = await s3().send(new GetObjectCommand({ Bucket: bulkBucket(), Key: key }));
    return out.Body as unknown as AsyncIterable<Uint8Array>;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
    throw error;
  }
}

/** The customer's key, checked: a public key (never a private one) with a usable encryption subkey. */
export async function readRecipientKey(armoredKey: string): Promise<openpgp.Key | undefined> {
  try {
    const key = await openpgp.readKey({ armoredKey });
    if (key.isPrivate()) return undefined;
    await key.getEncryptionKey();
    return key;
  } catch {
    return undefined;
  }
}

/** Pulls text from `lines` only as the encryption reads, a batch of lines at a time. */
function plaintext(lines: AsyncIterable<string>, counted: { lines: number }): ReadableStream<Uint8Array> {
  const iterator = lines[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk = '';
      for (let read = 0; read < 64; read++) {
        const next = await iterator.next();
        if (next.done) {
          if (chunk !== '') controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += next.value;
        counted.lines += 1;
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

export async function writeEncryptedResult(
  lines: AsyncIterable<string>,
  armoredKey: string,
  key: string,
): Promise<BulkResultFile> {
  const recipient = await readRecipientKey(armoredKey);
  if (!recipient) throw new Error('The batch recipient key is not a usable OpenPGP public key');
  const counted = { lines: 0 };
  const message = await openpgp.createMessage({ binary: plaintext(lines, counted), format: 'binary' });
  const encrypted = await openpgp.encrypt({ message, encryptionKeys: recipient, format: 'binary' });
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const stream = Readable.fromWeb(encrypted as NodeReadableStream<Uint8Array>);
  stream.on('error', (error) => tap.destroy(error));
  const upload = new Upload({
    client: s3(),
    params: {
      Bucket: bulkBucket(),
      Key: key,
      Body: stream.pipe(tap),
      ContentType: 'application/pgp-encrypted',
    },
    partSize: RESULT_PART_BYTES,
    queueSize: RESULT_PARTS_IN_FLIGHT,
    leavePartsOnError: false,
  });
  await upload.done();
  return {
    key,
    // The header is a line too.
    rows: Math.max(0, counted.lines - 1),
    bytes,
    sha256: hash.digest('hex'),
    recipientFingerprint: recipient.getFingerprint(),
  };
}
