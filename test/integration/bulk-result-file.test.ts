import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfigForTests } from '../../functions/config';
import { RESULT_PART_BYTES, writeEncryptedResult } from '../../functions/store/bulk-files';
import { resetS3ForTests, s3 } from '../../functions/store/s3-client';
import { type S3Local, startS3Local } from '../../local/s3';
import { type CustomerKeys, customerKeyPair } from '../support/bulk-csv-file';
import { testEnv } from '../support/table';

/**
 * The bulk result file (functions/store/bulk-files.ts) streams: lines -> OpenPGP encryption -> S3
 * multipart upload, so a 100,000-row batch's runner never holds its file. A file of eight parts is
 * written while the test counts the plaintext pulled from the lines and the bytes handed to S3: the
 * writer never runs further ahead of the upload than two parts (the first part waits for the multipart
 * upload to be created while the second fills; later, one fills while RESULT_PARTS_IN_FLIGHT are sent).
 * A writer that held the file whole, or let the encryption read on regardless, would be the whole file
 * ahead. Then the file is downloaded,
 * decrypted with the customer's private key and compared with what went in: complete and in order.
 */
const BUCKET = 'bulk-result-test';
const PARTS = 8;
/** A result line's size (card id, reference, amount, claim link), near the runner's. */
const LINE_CHARS = 180;
/** What the streams between the lines and the upload may hold besides the parts. */
const STREAM_BUFFERS_BYTES = 1024 * 1024;
const LINES = Math.ceil((PARTS * RESULT_PART_BYTES) / LINE_CHARS);

let s3Local: S3Local;
let dir: string;
let keys: CustomerKeys;
/** Bytes of the object handed to S3 so far (parts as they are sent, or a single put). */
let sentBytes = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bulk-result-'));
  s3Local = await startS3Local({ port: 0, directory: join(dir, 's3'), bucket: BUCKET });
  await testEnv();
  process.env.S3_ENDPOINT = s3Local.endpoint;
  process.env.BULK_BUCKET_NAME = BUCKET;
  resetConfigForTests();
  resetS3ForTests();
  keys = await customerKeyPair();
  s3().middlewareStack.add(
    (next, context) => async (args) => {
      const { commandName } = context as { commandName?: string };
      const body = (args.input as { Body?: unknown }).Body;
      if ((commandName === 'UploadPartCommand' || commandName === 'PutObjectCommand') && body) {
        sentBytes += (body as Uint8Array).byteLength;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countSentBytes' },
  );
});

afterAll(async () => {
  delete process.env.S3_ENDPOINT;
  delete process.env.BULK_BUCKET_NAME;
  resetConfigForTests();
  resetS3ForTests();
  await s3Local?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Result-like lines, made one at a time as the writer asks; records how far ahead of S3 it read. */
function countedLines(watch: {
  pulledBytes: number;
  mostAheadBytes: number;
  plain: ReturnType<typeof createHash>;
}) {
  return (async function* () {
    for (let line = 0; line < LINES; line++) {
      const text = `${line},${randomBytes((LINE_CHARS - 12) / 2).toString('hex')}\n`.padEnd(LINE_CHARS, ' ');
      watch.pulledBytes += text.length;
      watch.mostAheadBytes = Math.max(watch.mostAheadBytes, watch.pulledBytes - sentBytes);
      watch.plain.update(text);
      yield text;
    }
  })();
}

async function storedFile(key: string): Promise<{ sha256: string; plainSha256: string; lines: number }> {
  const object = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const encrypted = await object.Body?.transformToByteArray();
  if (!encrypted) throw new Error('the result file is empty');
  const message = await openpgp.readMessage({ binaryMessage: encrypted });
  const { data } = await openpgp.decrypt({ message, decryptionKeys: keys.privateKey, format: 'binary' });
  const bytes = Buffer.from(data as Uint8Array);
  let lines = 0;
  for (const byte of bytes) if (byte === 0x0a) lines++;
  return {
    sha256: createHash('sha256').update(encrypted).digest('hex'),
    plainSha256: createHash('sha256').update(bytes).digest('hex'),
    lines,
  };
}

describe('bulk result file', () => {
  it('streams an eight-part file through encryption to S3, never more than two parts ahead of the upload', async () => {
    const watch = { pulledBytes: 0, mostAheadBytes: 0, plain: createHash('sha256') };
    const file = await writeEncryptedResult(countedLines(watch), keys.publicKey, 'bulk/test/result.csv.pgp');

    expect(watch.pulledBytes).toBeGreaterThan(PARTS * RESULT_PART_BYTES - LINE_CHARS);
    expect(file.bytes).toBeGreaterThan(watch.pulledBytes);
    // Two parts, plus the streams' small buffers between the lines and the upload (about 150 KiB).
    expect(watch.mostAheadBytes).toBeLessThan(2 * RESULT_PART_BYTES + STREAM_BUFFERS_BYTES);
    // The header counts as a line of the file, not a row.
    expect(file.rows).toBe(LINES - 1);
    const stored = await storedFile(file.key);
    expect(stored).toEqual({ sha256: file.sha256, plainSha256: watch.plain.digest('hex'), lines: LINES });
  }, 180_000);
});
