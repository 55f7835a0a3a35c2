import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A short-lived link token for the card-holder portal's wallet buttons: after a balance check by code
 * (and PIN), the portal may fetch that card's Apple pass or Google save link for a few minutes without
 * sending the code again, and the buttons can be plain links (iOS opens a .pkpass only from a
 * navigation). The token names the card id and an expiry and is an HMAC under the sealing pepper; it
 * grants nothing else.
 */
export const PORTAL_WALLET_TOKEN_SECONDS = 15 * 60;

const PURPOSE = 'portal-wallet-v1';
const TOKEN = /^(gc_[0-9a-z]{26})\.(\d{10})\.([A-Za-z0-9_-]{43})$/;

const mac = (secret: string, cardId: string, expiresAt: number): string =>
  createHmac('sha256', secret).update(`${PURPOSE}|${cardId}|${expiresAt}`).digest('base64url');

export function portalWalletToken(secret: string, cardId: string, now: Date): string {
  const expiresAt = Math.floor(now.getTime() / 1000) + PORTAL_WALLET_TOKEN_SECONDS;
  return `${cardId}.${expiresAt}.${mac(secret, cardId, expiresAt)}`;
}

/** The card id the token names, or undefined when it is malformed, forged or expired. */
export function portalWalletCard(secret: string, token: string, now: Date): string | undefined {
  const match = TOKEN.exec(token);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  const expiresAt = Number(match[2]);
  const expected = Buffer.from(mac(secret, match[1], expiresAt));
  const given = Buffer.from(match[3]);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  return expiresAt * 1000 > now.getTime() ? match[1] : undefined;
}
