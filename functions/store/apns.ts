import http2 from 'node:http2';
import { importPKCS8, SignJWT } from 'jose';
import { config } from '../config';
import { type ApnsKey, apnsKey } from './push-credentials';

/**
 * Apple Push Notification service for Wallet passes: HTTP/2 `POST /3/device/<pushToken>` with the pass
 * type identifier as `apns-topic` and an empty JSON payload; the device then asks the PassKit web service
 * which passes changed and fetches them. Token-based auth: an ES256 provider token `{ iss: teamId, iat }`
 * with the key id in its header, reused for 40 minutes (Apple refuses tokens older than an hour and
 * throttles new ones more often than every 20 minutes).
 *
 * `apns-push-type`: Apple's list of push types has no Wallet entry; a pass push carries no alert and
 * triggers no user interaction, which is `background` (priority 5, as Apple requires for that type).
 *
 * One HTTP/2 session per APNs URL, reused across invocations and reopened when it closes. APNS_URL points
 * at Apple in AWS and at the local stand-in (h2c) under `npm start` and in tests.
 */

export type PushOutcome =
  /** APNs accepted it. */
  | { readonly kind: 'delivered' }
  /** 410: the device no longer has the pass; the caller removes the registration. */
  | { readonly kind: 'unregistered' }
  /** A permanent refusal of this one push (bad token and the like): retrying cannot help. */
  | { readonly kind: 'rejected'; readonly status: number; readonly reason: string };

/** A push that failed for now (429, 5xx, network, auth): the stream record fails and is retried. */
export class PushFailedError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'PushFailedError';
  }
}

const TOKEN_LIFETIME_MS = 40 * 60 * 1000;
const PUSH_TOKEN = /^[0-9a-fA-F]{16,200}$/;

interface ProviderToken {
  readonly keyId: string;
  readonly jwt: string;
  readonly issuedAt: number;
}

let providerToken: Promise<ProviderToken> | undefined;
let session: { readonly url: string; readonly session: http2.ClientHttp2Session } | undefined;
/** Tests count token signings to see the refresh. */
let tokensSigned = 0;

async function signProviderToken(key: ApnsKey, now: number): Promise<ProviderToken> {
  const privateKey = await importPKCS8(key.privateKey, 'ES256');
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: key.keyId })
    .setIssuer(key.teamId)
    .setIssuedAt(Math.floor(now / 1000))
    .sign(privateKey);
  tokensSigned += 1;
  return { keyId: key.keyId, jwt, issuedAt: now };
}

async function currentProviderToken(key: ApnsKey, forceNew: boolean): Promise<string> {
  const now = Date.now();
  const held = providerToken ? await providerToken.catch(() => undefined) : undefined;
  const age = held ? now - held.issuedAt : Number.POSITIVE_INFINITY;
  if (!forceNew && held && held.keyId === key.keyId && age >= 0 && age < TOKEN_LIFETIME_MS) {
    return held.jwt;
  }
  const next = signProviderToken(key, now);
  providerToken = next;
  return (await next).jwt;
}

function connection(): http2.ClientHttp2Session {
  const url = config().APNS_URL;
  if (session && session.url === url && !session.session.closed && !session.session.destroyed) {
    return session.session;
  }
  const opened = http2.connect(url);
  // Errors surface on the requests; an idle session must not keep the process (or a test) alive.
  opened.on('error', () => undefined);
  opened.on('goaway', () => opened.close());
  opened.unref();
  session = { url, session: opened };
  return opened;
}

interface RawAnswer {
  readonly status: number;
  readonly reason: string;
}

function send(pushToken: string, topic: string, bearer: string): Promise<RawAnswer> {
  const timeoutMs = config().WALLET_CALL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let request: http2.ClientHttp2Stream;
    try {
      request = connection().request({
        ':method': 'POST',
        ':path': `/3/device/${pushToken}`,
        'apns-topic': topic,
        'apns-push-type': 'background',
        'apns-priority': '5',
        authorization: `bearer ${bearer}`,
        'content-type': 'application/json',
      });
    } catch (error) {
      session = undefined;
      reject(error);
      return;
    }
    const timer = setTimeout(() => {
      request.close(http2.constants.NGHTTP2_CANCEL);
      reject(new PushFailedError(`APNs did not answer within ${timeoutMs} ms`, undefined));
    }, timeoutMs);
    let status = 0;
    let body = '';
    request.setEncoding('utf8');
    request.on('response', (headers) => {
      status = Number(headers[':status'] ?? 0);
    });
    request.on('data', (chunk: string) => {
      if (body.length < 4096) body += chunk;
    });
    request.on('end', () => {
      clearTimeout(timer);
      let reason = '';
      try {
        reason = String((JSON.parse(body) as { reason?: unknown }).reason ?? '');
      } catch {
        reason = '';
      }
      resolve({ status, reason });
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end('{}');
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One push to one device, retried here on 429, 5xx and network errors (WALLET_CALL_ATTEMPTS in all), and
 * once with a fresh provider token on 403. Throws PushFailedError when it still fails, and when APNs is
 * not configured (a pass registration exists, so pushes are expected).
 */
export async function pushPassUpdate(pushToken: string, topic: string): Promise<PushOutcome> {
  if (!PUSH_TOKEN.test(pushToken)) return { kind: 'rejected', status: 400, reason: 'MalformedPushToken' };
  const key = await apnsKey();
  if (!key) throw new PushFailedError('APNs is not configured (no APNs key)', undefined);
  const attempts = config().WALLET_CALL_ATTEMPTS;
  let refreshed = false;
  let last: PushFailedError | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await pause(Math.min(100 * 2 ** (attempt - 1), 2_000));
    let answer: RawAnswer;
    try {
      answer = await send(pushToken, topic, await currentProviderToken(key, false));
    } catch (error) {
      session = undefined;
      last =
        error instanceof PushFailedError
          ? error
          : new PushFailedError(`APNs connection failed: ${(error as Error).message}`, undefined);
      continue;
    }
    if (answer.status === 200) return { kind: 'delivered' };
    if (answer.status === 410) return { kind: 'unregistered' };
    if (answer.status === 403 && !refreshed) {
      // ExpiredProviderToken (or a key replaced under us): one retry with a new token.
      refreshed = true;
      await currentProviderToken(key, true);
      attempt -= 1;
      continue;
    }
    if (answer.status === 429 || answer.status >= 500 || answer.status === 403) {
      last = new PushFailedError(`APNs answered ${answer.status} ${answer.reason}`.trim(), answer.status);
      if (answer.status === 403) break;
      continue;
    }
    return { kind: 'rejected', status: answer.status, reason: answer.reason || `HTTP ${answer.status}` };
  }
  throw last ?? new PushFailedError('APNs push failed', undefined);
}

/** How many provider tokens this process signed (tests watch the refresh). */
export const providerTokensSigned = (): number => tokensSigned;

/** Forget the provider token and the session: a new Lambda instance. */
export function resetApnsForTests(): void {
  providerToken = undefined;
  session?.session.destroy();
  session = undefined;
}
