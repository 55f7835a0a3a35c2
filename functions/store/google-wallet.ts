import { importPKCS8, SignJWT } from 'jose';
import { config } from '../config';
import type { GoogleMessageType } from '../core/google-wallet';
import { type GoogleServiceAccount, googleServiceAccount } from './push-credentials';

/**
 * Google Wallet for issuers: the "Save to Google Wallet" link (a JWT signed with the service account's
 * key, RS256) and the walletobjects REST API (PATCH a gift card object, addMessage on an object or a
 * class), authorised with an OAuth2 access token from the service account (JWT bearer grant), kept until
 * a minute before it expires. GOOGLE_WALLET_API_URL and GOOGLE_OAUTH_TOKEN_URL point at Google in AWS and
 * at the local stand-in under `npm start` and in tests.
 */

export const GOOGLE_WALLET_SCOPE = 'https://www.googleapis.com/auth/wallet_object.issuer';
export const SAVE_URL_PREFIX = 'https://pay.google.com/gp/v/save/';
const TOKEN_MARGIN_MS = 60_000;

/** A Google call that failed for now (429, 5xx, network) or for good (auth, bad request): the record fails. */
export class GoogleWalletError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'GoogleWalletError';
  }
}

/** The service account, or an error saying Google Wallet is off here. */
export async function requireGoogleServiceAccount(): Promise<GoogleServiceAccount> {
  const account = await googleServiceAccount();
  if (!account)
    throw new GoogleWalletError('Google Wallet is not configured (no service account)', undefined);
  return account;
}

/**
 * The Save to Google Wallet link naming these objects (`payload` of a `savetowallet` JWT). The objects
 * were inserted through the API first, so the link carries only their ids: whenever the holder saves,
 * Google shows the object as it is then. The link expires after GOOGLE_SAVE_LINK_TTL_SECONDS (1 h by
 * default): it is made when a page or message shows the button, and a later visit asks for a new one.
 */
export async function signSaveUrl(
  payload: { readonly giftCardObjects: readonly { id: string; classId: string }[] },
  now: Date,
): Promise<string> {
  const account = await requireGoogleServiceAccount();
  const { GOOGLE_WALLET_ORIGINS, GOOGLE_SAVE_LINK_TTL_SECONDS } = config();
  const key = await importPKCS8(account.private_key, 'RS256');
  const issuedAt = Math.floor(now.getTime() / 1000);
  const jwt = await new SignJWT({ typ: 'savetowallet', origins: GOOGLE_WALLET_ORIGINS, payload })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(account.client_email)
    .setAudience('google')
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + GOOGLE_SAVE_LINK_TTL_SECONDS)
    .sign(key);
  return `${SAVE_URL_PREFIX}${jwt}`;
}

interface AccessToken {
  readonly email: string;
  readonly token: string;
  readonly expiresAt: number;
}

let accessToken: Promise<AccessToken> | undefined;
let tokensFetched = 0;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function fetchAccessToken(account: GoogleServiceAccount): Promise<AccessToken> {
  const { GOOGLE_OAUTH_TOKEN_URL, WALLET_CALL_TIMEOUT_MS } = config();
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ scope: GOOGLE_WALLET_SCOPE })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(account.client_email)
    .setAudience(GOOGLE_OAUTH_TOKEN_URL)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(await importPKCS8(account.private_key, 'RS256'));
  const response = await fetch(GOOGLE_OAUTH_TOKEN_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion,
    }).toString(),
    signal: AbortSignal.timeout(WALLET_CALL_TIMEOUT_MS),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new GoogleWalletError(`Google token endpoint answered ${response.status}`, response.status);
  }
  const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
  if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
    throw new GoogleWalletError('Google token endpoint answered without a token', response.status);
  }
  tokensFetched += 1;
  return {
    email: account.client_email,
    token: body.access_token,
    expiresAt: Date.now() + body.expires_in * 1000,
  };
}

async function bearer(account: GoogleServiceAccount, forceNew: boolean): Promise<string> {
  const held = accessToken ? await accessToken.catch(() => undefined) : undefined;
  if (
    !forceNew &&
    held &&
    held.email === account.client_email &&
    held.expiresAt - TOKEN_MARGIN_MS > Date.now()
  ) {
    return held.token;
  }
  const next = fetchAccessToken(account);
  accessToken = next;
  next.catch(() => {
    if (accessToken === next) accessToken = undefined;
  });
  return (await next).token;
}

type CallOutcome =
  | { readonly kind: 'ok'; readonly body: unknown }
  | { readonly kind: 'missing' }
  | { readonly kind: 'conflict' }
  /** Google refused a notifying message: its three a day for this pass are used. */
  | { readonly kind: 'quota' };

const MAX_ANSWER_BYTES = 1_000_000;

/** Google's QuotaExceededException (documented for TEXT_AND_NOTIFY beyond 3 a day), by its error body. */
const isQuotaExceeded = (text: string): boolean => /QuotaExceeded/i.test(text);

/**
 * One walletobjects call, retried here on 429, 5xx and network errors (WALLET_CALL_ATTEMPTS in all) and
 * once with a new access token on 401. 404 is `missing`, 409 `conflict` (an id inserted already), a
 * QuotaExceededException `quota`; other answers throw.
 */
async function call(method: 'GET' | 'PATCH' | 'POST', path: string, body?: unknown): Promise<CallOutcome> {
  const account = await requireGoogleServiceAccount();
  const { GOOGLE_WALLET_API_URL, WALLET_CALL_ATTEMPTS, WALLET_CALL_TIMEOUT_MS } = config();
  const url = `${GOOGLE_WALLET_API_URL.replace(/\/$/, '')}/walletobjects/v1/${path}`;
  let refreshed = false;
  let last: GoogleWalletError | undefined;
  for (let attempt = 0; attempt < WALLET_CALL_ATTEMPTS; attempt++) {
    if (attempt > 0) await pause(Math.min(100 * 2 ** (attempt - 1), 2_000));
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${await bearer(account, false)}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(WALLET_CALL_TIMEOUT_MS),
      });
    } catch (error) {
      last =
        error instanceof GoogleWalletError
          ? error
          : new GoogleWalletError(`Google Wallet call failed: ${(error as Error).message}`, undefined);
      if (last.status !== undefined && last.status < 500 && last.status !== 429) throw last;
      continue;
    }
    const text = (await response.text()).slice(0, MAX_ANSWER_BYTES);
    if (response.ok) return { kind: 'ok', body: text ? JSON.parse(text) : {} };
    if (response.status === 404) return { kind: 'missing' };
    if (response.status === 409) return { kind: 'conflict' };
    if (isQuotaExceeded(text)) return { kind: 'quota' };
    if (response.status === 401 && !refreshed) {
      refreshed = true;
      await bearer(account, true);
      attempt -= 1;
      continue;
    }
    last = new GoogleWalletError(`Google Wallet answered ${response.status} to ${method}`, response.status);
    if (response.status !== 429 && response.status < 500) throw last;
  }
  throw last ?? new GoogleWalletError('Google Wallet call failed', undefined);
}

const resourcePath = (on: 'giftCardObject' | 'giftCardClass', id: string) =>
  `${on}/${encodeURIComponent(id)}`;

/** Updates fields of a gift card object; `missing` when Google has no such object. */
export async function patchGiftCardObject(objectId: string, fields: object): Promise<'updated' | 'missing'> {
  const outcome = await call('PATCH', resourcePath('giftCardObject', objectId), fields);
  return outcome.kind === 'missing' ? 'missing' : 'updated';
}

/** Inserts a class or an object; `exists` when Google has one with that id already (left as it is). */
export async function insertGoogleResource(
  on: 'giftCardObject' | 'giftCardClass',
  resource: { readonly id: string },
): Promise<'inserted' | 'exists'> {
  const outcome = await call('POST', on, resource);
  return outcome.kind === 'conflict' ? 'exists' : 'inserted';
}

/** The ids of the messages an object or class carries at Google; undefined when Google has no such one. */
export async function googleMessageIds(
  on: 'giftCardObject' | 'giftCardClass',
  resourceId: string,
): Promise<string[] | undefined> {
  const outcome = await call('GET', resourcePath(on, resourceId));
  if (outcome.kind !== 'ok') return undefined;
  const messages = (outcome.body as { messages?: { id?: unknown }[] }).messages ?? [];
  return messages.map((message) => String(message.id ?? ''));
}

export interface GoogleMessage {
  readonly id: string;
  readonly header: string;
  readonly body: string;
  readonly messageType: GoogleMessageType;
}

/**
 * Adds a message to one card's object (`giftCardObject`) or to a program's class (`giftCardClass`, shown
 * on every pass of the class). `missing`: no such object or class at Google; `quota`: Google refused a
 * TEXT_AND_NOTIFY (three a day used). Google documents nothing for a message id added twice, so the
 * caller checks the resource (googleMessageIds) before adding a message again; a 409 throws.
 */
export async function addGoogleMessage(
  on: 'giftCardObject' | 'giftCardClass',
  resourceId: string,
  message: GoogleMessage,
): Promise<'added' | 'missing' | 'quota'> {
  const outcome = await call('POST', `${resourcePath(on, resourceId)}/addMessage`, { message });
  if (outcome.kind === 'conflict') {
    throw new GoogleWalletError('Google Wallet answered 409 to addMessage', 409);
  }
  return outcome.kind === 'ok' ? 'added' : outcome.kind;
}

/** How many access tokens this process fetched (tests watch the refresh). */
export const googleTokensFetched = (): number => tokensFetched;

export function resetGoogleWalletForTests(): void {
  accessToken = undefined;
}
