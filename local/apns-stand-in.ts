import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { waitForCount } from './wait-for';

/**
 * A local stand-in for APNs (`npm start`, tests): an HTTP/2 server without TLS (h2c, prior knowledge)
 * that takes `POST /3/device/<pushToken>` like Apple does, checks the provider token (ES256, signed
 * with the local APNs key, `kid` and `iss` as configured), records every push and answers 200, or what
 * a test told it to answer for a token (410 Unregistered, 500, 429...).
 */
export interface RecordedPush {
  readonly pushToken: string;
  readonly topic: string | undefined;
  readonly pushType: string | undefined;
  readonly priority: string | undefined;
  readonly payload: string;
  /** The provider token's `iat` (seconds): a new token means a refresh. */
  readonly tokenIssuedAt: number | undefined;
  readonly status: number;
  /** Date.now() and performance.now() when it arrived (lag measurements). */
  readonly receivedAt: number;
  readonly receivedAtPerf: number;
}

export interface ApnsFault {
  readonly status: number;
  readonly reason: string;
  /** How many more pushes get it; Infinity for every one. */
  remaining: number;
}

export interface ApnsStandIn {
  readonly url: string;
  /** Every push received, answered or not, in order. */
  readonly pushes: RecordedPush[];
  /** Pushes answered 200. */
  delivered(pushToken?: string): RecordedPush[];
  /** Answer `status` to the next `times` pushes to this token (default: every one). */
  failToken(pushToken: string, status: number, times?: number): void;
  /** Answer `status` to the next `times` pushes to any token. */
  failAll(status: number, times?: number): void;
  clearFaults(): void;
  reset(): void;
  /** Resolves once `count` pushes were delivered (to this token, if given). */
  waitForDelivered(count: number, pushToken?: string, timeoutMs?: number): Promise<RecordedPush[]>;
  close(): Promise<void>;
}

const REASONS: Record<number, string> = {
  400: 'BadDeviceToken',
  403: 'InvalidProviderToken',
  410: 'Unregistered',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

export async function startApnsStandIn(options: {
  readonly teamId: string;
  readonly keyId: string;
  /** The APNs key's public half (SPKI PEM): provider tokens are verified with it. */
  readonly publicKey: string;
  readonly port?: number;
  readonly log?: (line: string) => void;
}): Promise<ApnsStandIn> {
  const key = await importSPKI(options.publicKey, 'ES256');
  const pushes: RecordedPush[] = [];
  const tokenFaults = new Map<string, ApnsFault>();
  let allFault: ApnsFault | undefined;
  const waiters = new Set<() => void>();

  const takeFault = (pushToken: string): ApnsFault | undefined => {
    for (const [fault, forget] of [
      [tokenFaults.get(pushToken), () => tokenFaults.delete(pushToken)] as const,
      [allFault, () => (allFault = undefined)] as const,
    ]) {
      if (fault && fault.remaining > 0) {
        fault.remaining -= 1;
        if (fault.remaining <= 0) forget();
        return fault;
      }
    }
    return undefined;
  };

  async function checkAuthorization(header: string | undefined): Promise<number | undefined> {
    const jwt = /^bearer (.+)$/i.exec(header ?? '')?.[1];
    if (!jwt) return undefined;
    try {
      if (decodeProtectedHeader(jwt).kid !== options.keyId) return undefined;
      const { payload } = await jwtVerify(jwt, key, { issuer: options.teamId, algorithms: ['ES256'] });
      return typeof payload.iat === 'number' ? payload.iat : undefined;
    } catch {
      return undefined;
    }
  }

  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      void (async () => {
        const receivedAt = Date.now();
        const receivedAtPerf = performance.now();
        const path = String(headers[':path'] ?? '');
        const match = /^\/3\/device\/([0-9a-fA-F]+)$/.exec(path);
        const answer = (status: number, reason?: string) => {
          if (stream.destroyed) return;
          stream.respond({ ':status': status, 'apns-id': randomUUID() });
          stream.end(reason ? JSON.stringify({ reason }) : undefined);
        };
        if (headers[':method'] !== 'POST' || !match?.[1]) {
          answer(404, 'BadPath');
          return;
        }
        const pushToken = match[1];
        const tokenIssuedAt = await checkAuthorization(headers.authorization as string | undefined);
        const fault = takeFault(pushToken);
        const status = tokenIssuedAt === undefined ? 403 : (fault?.status ?? 200);
        pushes.push({
          pushToken,
          topic: headers['apns-topic'] as string | undefined,
          pushType: headers['apns-push-type'] as string | undefined,
          priority: headers['apns-priority'] as string | undefined,
          payload: Buffer.concat(chunks).toString('utf8'),
          tokenIssuedAt,
          status,
          receivedAt,
          receivedAtPerf,
        });
        options.log?.(`APNs push to ${pushToken.slice(0, 8)}... -> ${status}`);
        answer(status, status === 200 ? undefined : (fault?.reason ?? REASONS[status] ?? 'Error'));
        for (const wake of waiters) wake();
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const delivered = (pushToken?: string) =>
    pushes.filter((push) => push.status === 200 && (pushToken === undefined || push.pushToken === pushToken));

  return {
    url: `http://127.0.0.1:${port}`,
    pushes,
    delivered,
    failToken(pushToken, status, times = Number.POSITIVE_INFINITY) {
      tokenFaults.set(pushToken, { status, reason: REASONS[status] ?? 'Error', remaining: times });
    },
    failAll(status, times = Number.POSITIVE_INFINITY) {
      allFault = { status, reason: REASONS[status] ?? 'Error', remaining: times };
    },
    clearFaults() {
      tokenFaults.clear();
      allFault = undefined;
    },
    reset() {
      pushes.length = 0;
      tokenFaults.clear();
      allFault = undefined;
    },
    waitForDelivered(count, pushToken, timeoutMs = 30_000) {
      return waitForCount(
        waiters,
        () => delivered(pushToken),
        count,
        timeoutMs,
        () => `APNs stand-in: ${delivered(pushToken).length} of ${count} pushes delivered`,
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open client sessions would hold close() forever.
        for (const session of sessions) session.destroy();
      }),
  };
}
