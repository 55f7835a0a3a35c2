import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { exportBucket, s3 } from './s3-client';

/** A file as the manifest lists it: the SHA-256 is of the bytes stored (the gzip). */
export interface ExportFile {
  readonly name: string;
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

/** Multipart parts of 8 MiB, two in flight: a writer holds at most ~16 MiB whatever the file's size. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/**
 * A gzip-compressed CSV streamed to S3 as it is written: rows -> gzip -> SHA-256 and byte count -> a
 * multipart Upload. `write` waits when the upload falls behind, so memory stays flat for any number of
 * rows. The header is not counted in `rows`.
 */
export class CsvObjectWriter {
  private readonly source = new PassThrough();
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private rows = 0;
  private readonly done: Promise<unknown>;

  constructor(
    private readonly name: string,
    private readonly key: string,
    header: string,
  ) {
    const body = new PassThrough();
    const tap = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        callback(null, chunk);
      },
    });
    const upload = new Upload({
      client: s3(),
      params: {
        Bucket: exportBucket(),
        Key: key,
        Body: body,
        // A .csv.gz file, not a gzip-encoded CSV: browsers and HTTP clients would unzip the latter on
        // download, and the bytes saved would no longer match the manifest's SHA-256.
        ContentType: 'application/gzip',
      },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    this.done = Promise.all([pipeline(this.source, createGzip({ level: 6 }), tap, body), upload.done()]);
    // Surface a failure on the first write after it rather than only at the end.
    this.done.catch(() => undefined);
    this.source.write(header);
  }

  async write(line: string): Promise<void> {
    this.rows += 1;
    if (!this.source.write(line)) await Promise.race([once(this.source, 'drain'), this.done]);
  }

  async finish(): Promise<ExportFile> {
    this.source.end();
    await this.done;
    return {
      name: this.name,
      key: this.key,
      rows: this.rows,
      bytes: this.bytes,
      sha256: this.hash.digest('hex'),
    };
  }

  /** Stops the upload (a failed segment): no object is left behind for this key by this writer. */
  abort(error: Error): void {
    this.source.destroy(error);
  }
}

/** A small JSON object (the manifest), written in one PUT. */
export async function putJson(name: string, key: string, value: unknown): Promise<ExportFile> {
  const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  await s3().send(
    new PutObjectCommand({ Bucket: exportBucket(), Key: key, Body: body, ContentType: 'application/json' }),
  );
  return { name, key, rows: 0, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}
