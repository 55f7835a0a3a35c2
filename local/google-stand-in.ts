import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify } from 'jose';
import * as z from 'zod';
import { waitForCount } from './wait-for';

/**
 * A local stand-in for Google's OAuth2 token endpoint and the Wallet walletobjects API (`npm start`,
 * tests). `POST /token` takes the service account's JWT bearer grant (verified with its public key) and
 * hands out short-lived access tokens. The walletobjects calls check the token, validate their bodies
 * (400 for a field Google would refuse: unknown names, an amount that is not int64 micros, a state or
 * message type Google does not have) and keep what they were given:
 *   POST  giftCardClass, giftCardObject             insert (409 when the id exists; an object needs its class)
 *   GET   giftCardClass/{id}, giftCardObject/{id}   the resource as kept, messages included (404)
 *   PATCH giftCardObject/{id}                       merge the fields (404 when never inserted)
 *   POST  {giftCardClass|giftCardObject}/{id}/addMessage
 * A message id added twice to one resource is 409 (Google documents nothing; code must not rely on it).
 * At most three TEXT_AND_NOTIFY messages per resource in 24 h: a fourth is refused with Google's
 * QuotaExceededException (429). Faults: answer a status to the next N calls.
 */
export interface RecordedGoogleCall {
  readonly kind: 'patch' | 'addMessage' | 'insert' | 'get';
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
  /** Google no longer has this object or class (it forgets it): 404 until it is inserted again. */
  markMissing(resourceId: string): void;
  /** The object or class as Google keeps it now (undefined: never inserted). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read the kept JSON field by field.
  resource(resourceId: string): any;
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

const RESOURCE_ID = /^\d{1,25}\.[\w.-]{1,200}$/;
const money = z.strictObject({
  micros: z.string().regex(/^-?\d{1,19}$/),
  currencyCode: z.string().regex(/^[A-Z]{3}$/),
});
const objectFields = {
  classId: z.string().regex(RESOURCE_ID),
  state: z.enum(['ACTIVE', 'COMPLETED', 'EXPIRED', 'INACTIVE']),
  cardNumber: z.string().max(200),
  pin: z.string().max(200),
  balance: money,
  balanceUpdateTime: z.strictObject({ date: z.iso.datetime({ offset: true }) }),
  barcode: z.strictObject({
    type: z.enum(['QR_CODE', 'CODE_128', 'PDF_417', 'AZTEC']),
    value: z.string().min(1).max(2000),
    alternateText: z.string().max(200).optional(),
  }),
};
const objectInsert = z.strictObject({
  id: z.string().regex(RESOURCE_ID),
  ...objectFields,
  cardNumber: objectFields.cardNumber.optional(),
  pin: objectFields.pin.optional(),
  balanceUpdateTime: objectFields.balanceUpdateTime.optional(),
  barcode: objectFields.barcode.optional(),
});
const objectPatch = z
  .strictObject({ id: z.string().regex(RESOURCE_ID), ...objectFields })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'an empty patch');
const classInsert = z.strictObject({
  id: z.string().regex(RESOURCE_ID),
  issuerName: z.string().min(1).max(200),
  merchantName: z.string().max(200).optional(),
  reviewStatus: z.enum(['UNDER_REVIEW', 'APPROVED', 'DRAFT', 'REJECTED']),
});
const addMessage = z.strictObject({
  message: z.strictObject({
    id: z.string().min(1).max(200),
    header: z.string().min(1).max(1000),
    body: z.string().min(1).max(5000),
    messageType: z.enum(['TEXT', 'TEXT_AND_NOTIFY', 'EXPIRATION_NOTIFICATION']),
  }),
});
const NOTIFY_LIMIT = 3;
const NOTIFY_WINDOW_MS = 24 * 60 * 60 * 1000;

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

  type Resource = 'giftCardObject' | 'giftCardClass';
  // biome-ignore lint/suspicious/noExplicitAny: kept as Google keeps JSON.
  const resources = new Map<string, { kind: Resource; body: any; notified: number[] }>();

  interface Answer {
    readonly status: number;
    readonly body: unknown;
  }
  const error = (status: number, message: string): Answer => ({
    status,
    body: { error: { code: status, message } },
  });
  const invalid = (issues: z.core.$ZodIssue[]) =>
    error(
      400,
      `Invalid request: ${issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`,
    );

  function insert(kind: Resource, body: unknown): Answer {
    const parsed = (kind === 'giftCardObject' ? objectInsert : classInsert).safeParse(body);
    if (!parsed.success) return invalid(parsed.error.issues);
    const id = parsed.data.id;
    if (resources.has(id)) return error(409, `${kind} ${id} already exists`);
    if ('classId' in parsed.data && resources.get(parsed.data.classId)?.kind !== 'giftCardClass') {
      return error(404, `class ${parsed.data.classId} not found`);
    }
    resources.set(id, { kind, body: { ...parsed.data, messages: [] }, notified: [] });
    return { status: 200, body: resources.get(id)?.body };
  }

  function patch(id: string, body: unknown): Answer {
    const kept = resources.get(id);
    if (kept?.kind !== 'giftCardObject') return error(404, `giftCardObject ${id} not found`);
    const parsed = objectPatch.safeParse(body);
    if (!parsed.success) return invalid(parsed.error.issues);
    if (parsed.data.id !== undefined && parsed.data.id !== id) return error(400, 'id cannot change');
    kept.body = { ...kept.body, ...parsed.data };
    return { status: 200, body: kept.body };
  }

  function message(kind: Resource, id: string, body: unknown): Answer {
    const kept = resources.get(id);
    if (kept?.kind !== kind) return error(404, `${kind} ${id} not found`);
    const parsed = addMessage.safeParse(body);
    if (!parsed.success) return invalid(parsed.error.issues);
    const added = parsed.data.message;
    if (kept.body.messages.some((known: { id: string }) => known.id === added.id)) {
      return error(409, `message ${added.id} exists`);
    }
    const now = Date.now();
    if (added.messageType === 'TEXT_AND_NOTIFY') {
      kept.notified = kept.notified.filter((at) => at > now - NOTIFY_WINDOW_MS);
      if (kept.notified.length >= NOTIFY_LIMIT) {
        return {
          status: 429,
          body: {
            error: {
              code: 429,
              message: 'QuotaExceededException: at most 3 TEXT_AND_NOTIFY messages per pass in 24 hours',
              status: 'RESOURCE_EXHAUSTED',
            },
          },
        };
      }
      kept.notified.push(now);
    }
    kept.body.messages.push(added);
    return { status: 200, body: { resource: kept.body } };
  }

  async function walletObjects(request: IncomingMessage, response: ServerResponse, path: string) {
    const raw = await readBody(request);
    const match = /^\/walletobjects\/v1\/(giftCardObject|giftCardClass)(?:\/([^/]+))?(\/addMessage)?$/.exec(
      path,
    );
    if (!match) return send(response, 404, { error: { code: 404, message: 'Not found' } });
    const resource = match[1] as Resource;
    const resourceId = decodeURIComponent(match[2] ?? '');
    const call: RecordedGoogleCall['kind'] | undefined =
      match[3] && request.method === 'POST'
        ? 'addMessage'
        : !match[2] && request.method === 'POST'
          ? 'insert'
          : match[2] && request.method === 'GET'
            ? 'get'
            : match[2] && request.method === 'PATCH' && resource === 'giftCardObject'
              ? 'patch'
              : undefined;
    if (!call) return send(response, 404, { error: { code: 404, message: 'Not found' } });
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    const expiresAt = tokens.get(bearer);
    let parsed: unknown;
    try {
      parsed = raw ? JSON.parse(raw) : undefined;
    } catch {
      parsed = raw;
    }
    const faulted = take(apiFault);
    let answer: Answer;
    if (expiresAt === undefined || expiresAt <= Date.now()) answer = error(401, 'invalid credentials');
    else if (faulted) answer = error(faulted, 'stand-in fault');
    else if (call === 'insert') answer = insert(resource, parsed);
    else if (call === 'get') {
      const kept = resources.get(resourceId);
      answer =
        kept?.kind === resource ? { status: 200, body: kept.body } : error(404, `${resource} not found`);
    } else if (call === 'patch') answer = patch(resourceId, parsed);
    else answer = message(resource, resourceId, parsed);
    const recordedId = call === 'insert' ? String((parsed as { id?: unknown })?.id ?? '') : resourceId;
    calls.push({
      kind: call,
      resource,
      resourceId: recordedId,
      body: parsed,
      status: answer.status,
      receivedAt: Date.now(),
      receivedAtPerf: performance.now(),
    });
    options.log?.(`Google ${call} ${resource} ${recordedId} -> ${answer.status}`);
    for (const wake of waiters) wake();
    return send(response, answer.status, answer.body);
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
      resources.delete(resourceId);
    },
    resource(resourceId) {
      return resources.get(resourceId)?.body;
    },
    setTokenLifetime(seconds) {
      tokenLifetime = seconds;
    },
    revokeTokens() {
      tokens.clear();
    },
    reset() {
      // Objects and classes stay, as at Google.
      calls.length = 0;
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
