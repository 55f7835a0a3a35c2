import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import forge from 'node-forge';
import { waitForCount } from './wait-for';

/**
 * A local stand-in for APNs (`npm start`, tests): an HTTP/2 server over TLS (its own certificate, which
 * clients trust through `ca`) that takes `POST /3/device/<pushToken>` and holds the caller to Apple's
 * rules, answering with Apple's status and reason when a push breaks one:
 * - authentication: a TLS client certificate issued under `clientCa` (the Pass Type ID certificate), or
 *   a provider token (ES256, `kid` and `iss` as configured); neither is 403 MissingProviderToken, a bad
 *   token 403 InvalidProviderToken;
 * - `apns-topic`: present (400 MissingTopic), and the certificate's own pass type id (its UID) with
 *   certificate auth, one of `topics` with a token (400 TopicDisallowed);
 * - `apns-push-type` against `apns-priority`: background pushes must be priority 5, alerts 5 or 10 (400
 *   InvalidPushType, BadPriority);
 * - `apns-expiration`, when sent: UNIX seconds (400 BadExpirationDate), recorded;
 * - the payload: a pass push carries an empty JSON dictionary (400 PayloadEmpty when there is no body,
 *   400 BadPayload for anything else: Wallet ignores it, and a stray alert is a bug).
 * Every push is recorded with the authentication it used; tests make it answer 410, 400, 500 or 429
 * for a token.
 */
export interface RecordedPush {
  readonly pushToken: string;
  /** How the push authenticated; undefined when it did not. */
  readonly auth: 'certificate' | 'token' | undefined;
  readonly topic: string | undefined;
  readonly pushType: string | undefined;
  readonly priority: string | undefined;
  /**
   * `apns-expiration` (UNIX seconds): until when APNs stores the push for a device that is offline;
   * undefined when the header was left out.
   */
  readonly expiration: number | undefined;
  readonly payload: string;
  /** The provider token's `iat` (seconds): a new token means a refresh. */
  readonly tokenIssuedAt: number | undefined;
  readonly status: number;
  /** Apple's reason when it was not 200. */
  readonly reason?: string;
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
  /** The stand-in's TLS certificate (PEM): what clients trust (APNS_CA). */
  readonly ca: string;
  /** Every push received, answered or not, in order. */
  readonly pushes: RecordedPush[];
  /** Pushes answered 200. */
  delivered(pushToken?: string): RecordedPush[];
  /** Answer `status` (with Apple's usual reason, or `reason`) to the next `times` pushes to this token (default: every one). */
  failToken(pushToken: string, status: number, times?: number, reason?: string): void;
  /** Answer `status` to the next `times` pushes to any token. */
  failAll(status: number, times?: number): void;
  clearFaults(): void;
  /**
   * Runs `during` before answering the next push to this token (say, the device registering again while
   * APNs answers), so tests can put a step between a push and what its sender does with the answer.
   */
  whilePushing(pushToken: string, during: () => Promise<void>): void;
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

/** The stand-in's TLS key (PKCS#8 PEM) and certificate (PEM). */
export interface ApnsServerCertificate {
  readonly key: string;
  readonly cert: string;
}

/** A self-signed certificate for 127.0.0.1 (node-forge: local only, never bundled). */
export function generateApnsServerCertificate(): ApnsServerCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600 * 1000);
  const subject = [{ name: 'commonName', value: 'Local APNs stand-in (not Apple)' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
  ]);
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  cert.sign(forge.pki.privateKeyFromPem(key), forge.md.sha256.create());
  return { key, cert: forge.pki.certificateToPem(cert) };
}

const PUSH_TYPES = new Set([
  'alert',
  'background',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'location',
]);

/** Apple's rule for the push type and priority: the reason a push breaks it, or undefined. */
/** `apns-expiration`: UNIX seconds (0: deliver once, never store); anything else is 400 BadExpirationDate. */
function expirationProblem(expiration: string | undefined): string | undefined {
  return expiration === undefined || /^\d{1,12}$/.test(expiration) ? undefined : 'BadExpirationDate';
}

function pushTypeProblem(pushType: string | undefined, priority: string | undefined): string | undefined {
  if (!pushType || !PUSH_TYPES.has(pushType)) return 'InvalidPushType';
  const level = priority ?? '10';
  if (!['1', '5', '10'].includes(level)) return 'BadPriority';
  if (pushType === 'background' && level !== '5') return 'BadPriority';
  return undefined;
}

/** A pass push's payload is an empty JSON dictionary (`{}`, or `{"aps":{}}`). */
function payloadProblem(payload: string): string | undefined {
  if (payload.trim() === '') return 'PayloadEmpty';
  try {
    const json = JSON.parse(payload) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'BadPayload';
    const keys = Object.keys(json);
    const aps = (json as { aps?: unknown }).aps;
    const emptyAps = typeof aps === 'object' && aps !== null && Object.keys(aps).length === 0;
    return keys.length === 0 || (keys.length === 1 && emptyAps) ? undefined : 'BadPayload';
  } catch {
    return 'BadPayload';
  }
}

export async function startApnsStandIn(options: {
  /** Provider tokens accepted: signed with the APNs key whose public half (SPKI PEM) this is. */
  readonly teamId: string;
  readonly keyId: string;
  readonly publicKey: string;
  /** CAs (PEM) that issue the client certificates accepted: the local root and the WWDR-like intermediate. */
  readonly clientCa?: readonly string[];
  /** Topics (pass type ids) a provider token of the team may push to. */
  readonly topics?: readonly string[];
  readonly port?: number;
  readonly log?: (line: string) => void;
  /** Its TLS key and certificate; default a new one (an RSA key: most of a start's time). */
  readonly tls?: ApnsServerCertificate;
}): Promise<ApnsStandIn> {
  const key = await importSPKI(options.publicKey, 'ES256');
  const pushes: RecordedPush[] = [];
  const interludes = new Map<string, () => Promise<void>>();
  const tokenFaults = new Map<string, ApnsFault>();
  let allFault: ApnsFault | undefined;
  const waiters = new Set<() => void>();
  const tls = options.tls ?? generateApnsServerCertificate();

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

  async function checkToken(header: string | undefined): Promise<number | undefined> {
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

  /** The pass type id (UID) of a verified client certificate, if the session presented one. */
  function certificateTopic(stream: http2.ServerHttp2Stream): string | undefined {
    const socket = stream.session?.socket as TLSSocket | undefined;
    if (!socket?.authorized) return undefined;
    const uid = (socket.getPeerCertificate().subject as Record<string, unknown> | undefined)?.UID;
    return typeof uid === 'string' ? uid : undefined;
  }

  interface Verdict {
    readonly status: number;
    readonly reason?: string;
    readonly auth: RecordedPush['auth'];
    readonly tokenIssuedAt?: number;
  }

  async function judge(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    payload: string,
    pushToken: string,
  ): Promise<Verdict> {
    const authorization = headers.authorization as string | undefined;
    const certTopic = certificateTopic(stream);
    const tokenIssuedAt = authorization ? await checkToken(authorization) : undefined;
    const auth: RecordedPush['auth'] = authorization ? 'token' : certTopic ? 'certificate' : undefined;
    if (authorization && tokenIssuedAt === undefined) {
      return { status: 403, reason: 'InvalidProviderToken', auth: undefined };
    }
    if (!auth) return { status: 403, reason: 'MissingProviderToken', auth };
    const topic = headers['apns-topic'] as string | undefined;
    if (!topic) return { status: 400, reason: 'MissingTopic', auth };
    const allowed = auth === 'certificate' ? topic === certTopic : (options.topics ?? []).includes(topic);
    if (!allowed) return { status: 400, reason: 'TopicDisallowed', auth };
    const problem =
      pushTypeProblem(
        headers['apns-push-type'] as string | undefined,
        headers['apns-priority'] as string | undefined,
      ) ??
      expirationProblem(headers['apns-expiration'] as string | undefined) ??
      payloadProblem(payload);
    if (problem) return { status: 400, reason: problem, auth };
    const fault = takeFault(pushToken);
    if (fault)
      return {
        status: fault.status,
        reason: fault.reason,
        auth,
        ...(tokenIssuedAt ? { tokenIssuedAt } : {}),
      };
    return { status: 200, auth, ...(tokenIssuedAt ? { tokenIssuedAt } : {}) };
  }

  const server = http2.createSecureServer({
    key: tls.key,
    cert: tls.cert,
    allowHTTP1: false,
    requestCert: true,
    // Token clients send no certificate; certificate clients are judged per push (socket.authorized).
    rejectUnauthorized: false,
    ...(options.clientCa ? { ca: [...options.clientCa] } : {}),
  });
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
        if (headers[':method'] !== 'POST') return answer(405, 'MethodNotAllowed');
        if (!match?.[1]) return answer(404, 'BadPath');
        const pushToken = match[1];
        const payload = Buffer.concat(chunks).toString('utf8');
        const verdict = await judge(stream, headers, payload, pushToken);
        const during = interludes.get(pushToken);
        if (during) {
          interludes.delete(pushToken);
          await during().catch((error: unknown) => options.log?.(`APNs interlude failed: ${error}`));
        }
        pushes.push({
          pushToken,
          auth: verdict.auth,
          topic: headers['apns-topic'] as string | undefined,
          pushType: headers['apns-push-type'] as string | undefined,
          priority: headers['apns-priority'] as string | undefined,
          expiration:
            headers['apns-expiration'] === undefined ? undefined : Number(headers['apns-expiration']),
          payload,
          tokenIssuedAt: verdict.tokenIssuedAt,
          status: verdict.status,
          ...(verdict.reason ? { reason: verdict.reason } : {}),
          receivedAt,
          receivedAtPerf,
        });
        options.log?.(
          `APNs push to ${pushToken.slice(0, 8)}... (${verdict.auth ?? 'no auth'}) -> ${verdict.status} ${verdict.reason ?? ''}`.trim(),
        );
        answer(verdict.status, verdict.status === 200 ? undefined : verdict.reason);
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
    url: `https://127.0.0.1:${port}`,
    ca: tls.cert,
    pushes,
    delivered,
    failToken(pushToken, status, times = Number.POSITIVE_INFINITY, reason = REASONS[status] ?? 'Error') {
      tokenFaults.set(pushToken, { status, reason, remaining: times });
    },
    failAll(status, times = Number.POSITIVE_INFINITY) {
      allFault = { status, reason: REASONS[status] ?? 'Error', remaining: times };
    },
    clearFaults() {
      tokenFaults.clear();
      allFault = undefined;
    },
    whilePushing(pushToken, during) {
      interludes.set(pushToken, during);
    },
    reset() {
      pushes.length = 0;
      tokenFaults.clear();
      interludes.clear();
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
