import { X509Certificate } from 'node:crypto';
import http2 from 'node:http2';
import { importPKCS8, SignJWT } from 'jose';
import { config } from '../config';
import { type AppleCertificates, appleCertificatesIfConfigured } from './apple-certificates';
import { type ApnsKey, apnsKey } from './push-credentials';

/**
 * Apple Push Notification service for Wallet passes: HTTP/2 `POST /3/device/<pushToken>` with the pass
 * type identifier as `apns-topic` and an empty JSON payload; the device then asks the PassKit web service
 * which passes changed and fetches them.
 *
 * Authentication (APNS_AUTH): by default the Pass Type ID certificate that signs the passes, as a TLS
 * client certificate, which is what Apple documents for pass updates; or an ES256 provider token
 * `{ iss: teamId, iat }` with the key id in its header, reused for 40 minutes (Apple refuses tokens older
 * than an hour and throttles new ones more often than every 20 minutes), from a key of the certificate's
 * team. Neither configured: pushes are skipped (the caller counts them), passes are still served.
 *
 * `apns-expiration` 28 days ahead: APNs stores the push for a device that is offline and delivers it when
 * the device is back (without a nonzero date Apple documents no storage).
 *
 * `apns-push-type`: Apple's list of push types has no Wallet entry; a pass push carries no alert and
 * triggers no user interaction, which is `background` (priority 5, as Apple requires for that type).
 *
 * One HTTP/2 session per APNs URL and credential, reused across invocations and reopened when it closes.
 * APNS_URL points at Apple in AWS and at the local stand-in (TLS, APNS_CA) under `npm start` and in tests.
 */

export type PushOutcome =
  /** APNs accepted it. */
  | { readonly kind: 'delivered' }
  /**
   * The device no longer takes pushes for this pass: 410 Unregistered, or 400 BadDeviceToken /
   * DeviceTokenNotForTopic. Apple asks to stop sending to it; the caller removes the registration.
   */
  | { readonly kind: 'gone'; readonly status: number; readonly reason: string }
  /** A permanent refusal of this one push that says nothing of the device: logged. */
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

/** Push credentials that cannot work together (another team, another pass type): fix the secrets. */
export class ApnsConfigurationError extends Error {
  override readonly name = 'ApnsConfigurationError';
}

/** How this deployment authenticates to APNs; undefined when it cannot (pushes are skipped). */
export type ApnsAuth =
  | {
      readonly kind: 'certificate';
      readonly certificates: AppleCertificates;
      /** Identifies the session: a new certificate opens a new one. */
      readonly identity: string;
    }
  | { readonly kind: 'token'; readonly key: ApnsKey; readonly identity: string };

const GONE_REASONS = new Set(['BadDeviceToken', 'DeviceTokenNotForTopic', 'Unregistered']);

/** Subject fields of the Pass Type ID certificate: UID is the pass type id, OU the team id. */
function subjectField(certificate: X509Certificate, name: string): string | undefined {
  for (const line of certificate.subject.split('\n')) {
    if (line.startsWith(`${name}=`)) return line.slice(name.length + 1);
  }
  return undefined;
}

const checkedCertificates = new WeakMap<AppleCertificates, string>();

/** The certificate's fingerprint, after checking it is the pass type's and the team's. */
function checkPassCertificate(certificates: AppleCertificates): string {
  const known = checkedCertificates.get(certificates);
  if (known) return known;
  const certificate = new X509Certificate(certificates.signerCert);
  const uid = subjectField(certificate, 'UID');
  const team = subjectField(certificate, 'OU');
  if (uid !== undefined && uid !== certificates.passTypeIdentifier) {
    throw new ApnsConfigurationError('the pass certificate is not for the configured passTypeIdentifier');
  }
  if (team !== undefined && team !== certificates.teamIdentifier) {
    throw new ApnsConfigurationError('the pass certificate is not of the configured teamIdentifier');
  }
  checkedCertificates.set(certificates, certificate.fingerprint256);
  return certificate.fingerprint256;
}

/**
 * The credentials pushes use now (re-read as the secrets' caches expire). Throws ApnsConfigurationError
 * when they cannot work: a token key of another team than the pass certificate's (Apple would refuse
 * every push for the pass type's topic), a certificate of another pass type or team.
 */
export async function apnsAuth(): Promise<ApnsAuth | undefined> {
  const certificates = await appleCertificatesIfConfigured();
  if (config().APNS_AUTH === 'certificate') {
    if (!certificates) return undefined;
    return { kind: 'certificate', certificates, identity: checkPassCertificate(certificates) };
  }
  const key = await apnsKey();
  if (!key) return undefined;
  if (certificates && key.teamId !== certificates.teamIdentifier) {
    throw new ApnsConfigurationError(
      "the APNs key's teamId is not the pass certificate's teamIdentifier: pushes to its topic would be refused",
    );
  }
  return { kind: 'token', key, identity: `token:${key.teamId}:${key.keyId}` };
}

const TOKEN_LIFETIME_MS = 40 * 60 * 1000;
/**
 * `apns-expiration`: how long APNs keeps a pass push for a device that is offline (it keeps the latest
 * one per topic, for at most 30 days). A nonzero date is what makes APNs store a push and deliver it when
 * the device comes back; the change would otherwise wait for the next one. 28 days, inside Apple's limit.
 */
const PUSH_STORED_FOR_SECONDS = 28 * 24 * 60 * 60;
const PUSH_TOKEN = /^[0-9a-fA-F]{16,200}$/;

interface ProviderToken {
  readonly keyId: string;
  readonly jwt: string;
  readonly issuedAt: number;
}

let providerToken: Promise<ProviderToken> | undefined;
let session: { readonly id: string; readonly session: http2.ClientHttp2Session } | undefined;
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

function connection(auth: ApnsAuth): http2.ClientHttp2Session {
  const { APNS_URL: url, APNS_CA: ca } = config();
  const id = `${url} ${auth.identity}`;
  if (session && session.id === id && !session.session.closed && !session.session.destroyed) {
    return session.session;
  }
  session?.session.close();
  const tls = auth.kind === 'certificate' ? auth.certificates : undefined;
  const opened = http2.connect(url, {
    ...(ca ? { ca } : {}),
    ...(tls
      ? {
          cert: tls.signerCert,
          key: tls.signerKey,
          ...(tls.passphrase ? { passphrase: tls.passphrase } : {}),
        }
      : {}),
  });
  // Errors surface on the requests; an idle session must not keep the process (or a test) alive.
  opened.on('error', () => undefined);
  opened.on('goaway', () => opened.close());
  opened.unref();
  session = { id, session: opened };
  return opened;
}

interface RawAnswer {
  readonly status: number;
  readonly reason: string;
}

function send(
  pushToken: string,
  topic: string,
  auth: ApnsAuth,
  bearer: string | undefined,
): Promise<RawAnswer> {
  const timeoutMs = config().WALLET_CALL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let request: http2.ClientHttp2Stream;
    try {
      request = connection(auth).request({
        ':method': 'POST',
        ':path': `/3/device/${pushToken}`,
        'apns-topic': topic,
        'apns-push-type': 'background',
        'apns-priority': '5',
        // Stored by APNs for a device that is offline (the latest push per topic), not dropped.
        'apns-expiration': String(Math.floor(Date.now() / 1000) + PUSH_STORED_FOR_SECONDS),
        ...(bearer ? { authorization: `bearer ${bearer}` } : {}),
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
 * One push to one device with `auth` (apnsAuth()), retried here on 429, 5xx and network errors
 * (WALLET_CALL_ATTEMPTS in all), and with token auth once with a fresh provider token on 403. Throws
 * PushFailedError when it still fails.
 */
export async function pushPassUpdate(pushToken: string, topic: string, auth: ApnsAuth): Promise<PushOutcome> {
  if (!PUSH_TOKEN.test(pushToken)) return { kind: 'gone', status: 400, reason: 'BadDeviceToken' };
  const attempts = config().WALLET_CALL_ATTEMPTS;
  let refreshed = false;
  let last: PushFailedError | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await pause(Math.min(100 * 2 ** (attempt - 1), 2_000));
    let answer: RawAnswer;
    try {
      const bearer = auth.kind === 'token' ? await currentProviderToken(auth.key, false) : undefined;
      answer = await send(pushToken, topic, auth, bearer);
    } catch (error) {
      session?.session.destroy();
      session = undefined;
      last =
        error instanceof PushFailedError
          ? error
          : new PushFailedError(`APNs connection failed: ${(error as Error).message}`, undefined);
      continue;
    }
    if (answer.status === 200) return { kind: 'delivered' };
    if (answer.status === 410 || (answer.status === 400 && GONE_REASONS.has(answer.reason))) {
      return { kind: 'gone', status: answer.status, reason: answer.reason || 'Unregistered' };
    }
    if (answer.status === 403 && auth.kind === 'token' && !refreshed) {
      // ExpiredProviderToken (or a key replaced under us): one retry with a new token.
      refreshed = true;
      await currentProviderToken(auth.key, true);
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
