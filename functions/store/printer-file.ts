import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { Upload } from '@aws-sdk/lib-storage';
import * as openpgp from 'openpgp';
import { type PrinterLayout, printerFileHeader, printerRecord } from '../core/production/printer-layouts';
import type { PrinterRow } from '../core/production/printer-row';
import { logger } from '../logger';
import { s3 } from './s3-client';

/**
 * A production order's printer file: rows -> layout (CSV or fixed-width) -> OpenPGP encryption to the
 * printer's public key -> S3 multipart upload with SSE-KMS. Everything streams: rows are pulled as the
 * encryption reads, and the upload holds at most QUEUE_SIZE parts of PART_SIZE, so memory stays flat
 * whatever the number of cards. Codes and PINs exist in clear only inside the stream: nothing here logs a
 * row, and a row that cannot be written fails the file with an error naming the card's sequence only.
 */

/** S3's smallest part; two in flight bound the upload's memory at ~10 MiB. */
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = 2;
/** Records joined into one chunk for the encryption (a few tens of KiB). */
const RECORDS_PER_CHUNK = 64;

export interface PrinterFileTarget {
  readonly bucket: string;
  readonly key: string;
  /** The KMS key S3 encrypts the object under (SSE-KMS), on top of the OpenPGP encryption. */
  readonly kmsKeyId: string;
}

export interface PrinterFileOptions {
  readonly layout: PrinterLayout;
  /** The printer's OpenPGP public key, ASCII-armored. */
  readonly printerPublicKeyArmored: string;
  readonly target: PrinterFileTarget;
}

export interface PrinterFileWritten {
  readonly key: string;
  readonly rows: number;
  /** Of the stored (encrypted) object. */
  readonly bytes: number;
  readonly sha256: string;
  /** Of the key the file is encrypted to: the vendor checks it is theirs. */
  readonly recipientFingerprint: string;
}

/** The printer's key, checked: a public key (never a private one) with a usable encryption subkey. */
export async function readPrinterKey(armoredKey: string): Promise<openpgp.Key> {
  const key = await openpgp.readKey({ armoredKey });
  if (key.isPrivate()) throw new Error('A printer key must be a public key; a private key was given');
  try {
    await key.getEncryptionKey();
  } catch {
    throw new Error(`Printer key ${key.getFingerprint()} has no usable encryption key (expired or revoked?)`);
  }
  return key;
}

/** The file's plaintext as a pull stream: a chunk of records is laid out only when the encryption asks. */
function plaintextStream(rows: AsyncIterable<PrinterRow>, layout: PrinterLayout, counted: { rows: number }) {
  const iterator = rows[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  let header = printerFileHeader(layout);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk = header;
      header = '';
      for (let records = 0; records < RECORDS_PER_CHUNK; records += 1) {
        const next = await iterator.next();
        if (next.done) {
          if (chunk !== '') controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += printerRecord(layout, next.value);
        counted.rows += 1;
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

/**
 * The encrypted file as a stream, and the count of rows laid out so far: rows are pulled only as the
 * stream is read, a chunk of records at a time.
 */
export async function encryptedPrinterStream(
  rows: AsyncIterable<PrinterRow>,
  layout: PrinterLayout,
  key: openpgp.Key,
): Promise<{ readonly stream: Readable; readonly counted: { rows: number } }> {
  const counted = { rows: 0 };
  const message = await openpgp.createMessage({
    binary: plaintextStream(rows, layout, counted),
    format: 'binary',
  });
  const encrypted = await openpgp.encrypt({ message, encryptionKeys: key, format: 'binary' });
  return { stream: Readable.fromWeb(encrypted as NodeReadableStream<Uint8Array>), counted };
}

export async function writePrinterFile(
  rows: AsyncIterable<PrinterRow>,
  options: PrinterFileOptions,
): Promise<PrinterFileWritten> {
  const key = await readPrinterKey(options.printerPublicKeyArmored);
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const { stream: encrypted, counted } = await encryptedPrinterStream(rows, options.layout, key);
  encrypted.on('error', (error) => tap.destroy(error));
  const upload = new Upload({
    client: s3(),
    params: {
      Bucket: options.target.bucket,
      Key: options.target.key,
      Body: encrypted.pipe(tap),
      ContentType: 'application/pgp-encrypted',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: options.target.kmsKeyId,
      BucketKeyEnabled: true,
    },
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
  });
  await upload.done();
  const written = {
    key: options.target.key,
    rows: counted.rows,
    bytes,
    sha256: hash.digest('hex'),
    recipientFingerprint: key.getFingerprint(),
  };
  logger.info('printer file written', { printerFile: written, layout: options.layout });
  return written;
}
