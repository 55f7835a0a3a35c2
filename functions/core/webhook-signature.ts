import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures in the Standard Webhooks shape (https://www.standardwebhooks.com): the secret is
 * `whsec_<base64 of 32 random bytes>`; each delivery carries `Webhook-Id`, `Webhook-Timestamp` (unix
 * seconds) and `Webhook-Signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` over
 * `<id>.<timestamp>.<body>`, one entry per secret that is live (two while a rotation overlaps).
 */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
const SECRET_PATTERN = /^whsec_([A-Za-z0-9+/]{43}=)$/;

/** How far a receiver should let a timestamp drift before refusing the delivery as a replay. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

function secretKey(secret: string): Buffer {
  const match = SECRET_PATTERN.exec(secret);
  if (!match?.[1]) throw new Error('not a webhook secret');
  return Buffer.from(match[1], 'base64');
}

export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  return createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
}

/** The `Webhook-Signature` value: one `v1,<signature>` per secret, newest secret first. */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): string {
  return secrets.map((secret) => `v1,${signWebhook(secret, id, timestamp, body)}`).join(' ');
}

export interface SignedHeaders {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
}

/**
 * What a receiver does: true when one of the `v1` signatures matches the secret and the timestamp is
 * within the tolerance. Constant-time comparison.
 */
export function verifyWebhook(
  secret: string,
  headers: SignedHeaders,
  body: string,
  options: { now?: Date; toleranceSeconds?: number } = {},
): boolean {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  const seconds = Number(timestamp);
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - seconds) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(signWebhook(secret, id, seconds, body), 'base64');
  return signature.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const presented = Buffer.from(value, 'base64');
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  });
}
