import { createServer } from 'node:net';
import { LocalRuntimeError } from './errors';

export interface PortOwner {
  /** What wants the port, e.g. "DynamoDB Local". */
  readonly service: string;
  /** How to choose another one, e.g. "--dynamo-port <port>". */
  readonly option: string;
}

export function portInUseError(port: number, owner: PortOwner): LocalRuntimeError {
  return new LocalRuntimeError(
    `Port ${port} (${owner.service}) is already in use. Stop whatever is listening on it, ` +
      `or choose another port with ${owner.option}.`,
  );
}

/**
 * Fails with a clear message when `port` cannot be bound on `host`. Used before starting servers that
 * do not report a taken port well themselves (java, s3rver). Port 0 is always free.
 */
export async function assertPortFree(port: number, host: string, owner: PortOwner): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(portInUseError(port, owner));
      else if (error.code === 'EACCES')
        reject(
          new LocalRuntimeError(
            `Port ${port} (${owner.service}) needs privileges; choose another with ${owner.option}.`,
          ),
        );
      else reject(error);
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** A port that was free a moment ago (for servers that cannot listen on port 0 themselves). */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port: 0, host }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
