import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';
import { assertPortFree } from './ports';

export const LOCAL_EXPORT_BUCKET = 'giftcard-exports-local';

export interface S3LocalOptions {
  /** Default 4569; 0 picks a free port. */
  readonly port?: number;
  readonly directory: string;
  readonly bucket?: string;
}

export interface S3Local {
  readonly port: number;
  readonly endpoint: string;
  readonly bucket: string;
  stop(): Promise<void>;
}

/** An S3-compatible server (s3rver) keeping its objects under `directory`, with the export bucket. */
export async function startS3Local(options: S3LocalOptions): Promise<S3Local> {
  const host = '127.0.0.1';
  const requested = options.port ?? 4569;
  // s3rver does not turn a taken port into a rejected promise, so check first.
  await assertPortFree(requested, host, { service: 'S3 (s3rver)', option: '--s3-port <port>' });
  mkdirSync(options.directory, { recursive: true });
  const bucket = options.bucket ?? LOCAL_EXPORT_BUCKET;
  const server = new S3rver({
    address: host,
    port: requested,
    silent: true,
    directory: options.directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return { port, endpoint: `http://${host}:${port}`, bucket, stop: () => server.close() };
}
