import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';
import { waitForCount } from './wait-for';

/**
 * A local stand-in for Google's OAuth2 token endpoint and the Wallet walletobjects API (`npm start`,
 * tests): `POST /token` takes the service account's JWT bearer grant (verified with its public key) and
 * hands out short-lived access tokens; `PATCH /walletobjects/v1/giftCardObject/{id}` and
 * `POST /walletobjects/v1/{giftCardObject|giftCardClass}/{id}/addMessage` check the token and are
 * recorded. Every object and class exists unless a test says it is missing (404); a message id added
 * twice to one resource is 409, as at Google. Faults: answer a status to the next N calls.
 */
export interface RecordedGoogleCall {
  readonly kind: 'patch' | 'addMessage';
  readonly resource: 'giftCardObject' | 'giftCardClass';
  readonly resourceId: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read the recorded JSON field by field.
  readonly body: any;
  readonly status: number;
  readonly receivedAt: number;
  readonly receivedAtPerf: number;
}

export interface GoogleStandIn {
  readonly url: string;
  readonly tokenUrl: string;
  readonly calls: RecordedGoogleCall[];
  /** Tokens handed out by the token endpoint. */
  readonly tokensIssued: () => number;
  succeeded(kind?: RecordedGoogleCall['kind'], resourceId?: string): RecordedGoogleCall[];
  /** Answer `status` to the next `times` walletobjects calls (default: every one). */
  failNext(status: number, times?: number): void;
  /** Answer `status` to the next `times` token requests. */
  failTokens(status: number, times?: number): void;
  /** This object or class does not exist at Google (nobody saved it): 404. */
  markMissing(resourceId: string): void;
  /** Access tokens live this long (default 3600 s). */
  setTokenLifetime(seconds: number): void;
  /** Forget every token handed out: the next calls answer 401 until a new token is fetched. */
  revokeTokens(): void;
  reset(): void;
  waitForCalls(
    count: number,
    kind?: RecordedGoogleCall['kind'],
    timeoutMs?: number,
  ): Promise<RecordedGoogleCall[]>;
  close(): Promise<void>;
}

interface Fault {
  readonly status: number;
  remaining: number;
}

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

const send = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

export async function startGoogleStandIn(options: {
  readonly clientEmail: string;
  /** The service account key's public half (SPKI PEM). */
  readonly publicKey: string;
  readonly port?: number;
  readonly log?: (line: string) => void;
}): Promise<GoogleStandIn> {
  const key = await importSPKI(options.publicKey, 'RS256');
  const calls: RecordedGoogleCall[] = [];
  const tokens = new Map<string, number>();
  const missing = new Set<string>();
  const messageIds = new Map<string, Set<string>>();
  let apiFault: Fault | undefined;
  let tokenFault: Fault | undefined;
  let tokenLifetime = 3600;
  let issued = 0;
  const waiters = new Set<() => void>();
  let tokenUrl = '';

  const take = (fault: Fault | undefined): number | undefined => {
    if (!fault || fault.remaining <= 0) return undefined;
    fault.remaining -= 1;
    return fault.status;
  };

  async function token(request: IncomingMessage, response: ServerResponse) {
    const form = new URLSearchParams(await readBody(request));
    const faulted = take(tokenFault);
    if (faulted) return send(response, faulted, { error: 'stand-in fault' });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return send(response, 400, { error: 'unsupported_grant_type' });
    }
    try {
      const { payload } = await jwtVerify(form.get('assertion') ?? '', key, {
        issuer: options.clientEmail,
        audience: tokenUrl,
        algorithms: ['RS256'],
      });
      if (payload.scope !== 'https://www.googleapis.com/auth/wallet_object.issuer') throw new Error('scope');
    } catch {
      return send(response, 400, { error: 'invalid_grant' });
    }
    const accessToken = `ya29.local-${randomUUID()}`;
    tokens.set(accessToken, Date.now() + tokenLifetime * 1000);
    issued += 1;
    return send(response, 200, {
      access_token: accessToken,
      expires_in: tokenLifetime,
      token_type: 'Bearer',
    });
  }

  async function walletObjects(request: IncomingMessage, response: ServerResponse, path: string) {
    const body = await readBody(request);
    const match = /^\/walletobjects\/v1\/(giftCardObject|giftCardClass)\/([^/]+)(\/addMessage)?$/.exec(path);
    const kind = match?.[3] ? 'addMessage' : 'patch';
    const valid =
      match &&
      ((kind === 'patch' && request.method === 'PATCH' && match[1] === 'giftCardObject') ||
        (kind === 'addMessage' && request.method === 'POST'));
    if (!match || !valid) return send(response, 404, { error: { code: 404, message: 'Not found' } });
    const resource = match[1] as RecordedGoogleCall['resource'];
    const resourceId = decodeURIComponent(match[2] ?? '');
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    const expiresAt = tokens.get(bearer);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = body;
    }
    let status = take(apiFault) ?? 200;
    if (expiresAt === undefined || expiresAt <= Date.now()) status = 401;
    else if (status === 200 && missing.has(resourceId)) status = 404;
    else if (status === 200 && kind === 'addMessage') {
      const id = String((parsed as { message?: { id?: unknown } })?.message?.id ?? '');
      const seen = messageIds.get(resourceId) ?? new Set<string>();
      if (seen.has(id)) status = 409;
      seen.add(id);
      messageIds.set(resourceId, seen);
    }
    calls.push({
      kind,
      resource,
      resourceId,
      body: parsed,
      status,
      receivedAt: Date.now(),
      receivedAtPerf: performance.now(),
    });
    options.log?.(`Google ${kind} ${resource} ${resourceId} -> ${status}`);
    for (const wake of waiters) wake();
    if (status !== 200) return send(response, status, { error: { code: status, message: 'stand-in' } });
    return send(response, 200, kind === 'patch' ? { id: resourceId, ...(parsed as object) } : {});
  }

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
    const work =
      path === '/token' && request.method === 'POST'
        ? token(request, response)
        : walletObjects(request, response, path);
    work.catch(() => {
      if (!response.headersSent) send(response, 500, { error: 'stand-in failure' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  tokenUrl = `${url}/token`;
  const succeeded = (kind?: RecordedGoogleCall['kind'], resourceId?: string) =>
    calls.filter(
      (call) =>
        call.status === 200 &&
        (kind === undefined || call.kind === kind) &&
        (resourceId === undefined || call.resourceId === resourceId),
    );

  return {
    url,
    tokenUrl,
    calls,
    tokensIssued: () => issued,
    succeeded,
    failNext(status, times = Number.POSITIVE_INFINITY) {
      apiFault = { status, remaining: times };
    },
    failTokens(status, times = Number.POSITIVE_INFINITY) {
      tokenFault = { status, remaining: times };
    },
    markMissing(resourceId) {
      missing.add(resourceId);
    },
    setTokenLifetime(seconds) {
      tokenLifetime = seconds;
    },
    revokeTokens() {
      tokens.clear();
    },
    reset() {
      calls.length = 0;
      missing.clear();
      apiFault = undefined;
      tokenFault = undefined;
      tokenLifetime = 3600;
    },
    waitForCalls(count, kind, timeoutMs = 30_000) {
      return waitForCount(
        waiters,
        () => succeeded(kind),
        count,
        timeoutMs,
        () => `Google stand-in: ${succeeded(kind).length} of ${count} ${kind ?? 'calls'} succeeded`,
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
