import { createHash, randomBytes } from 'node:crypto';

/**
 * The claim link's token: 256 random bits, base64url, single-purpose. Only its SHA-256 is stored (with the
 * purpose and an expiry), so a table read gives nothing that opens a card. One token lives per delivery:
 * a resend draws a new one and the old one stops working.
 */
export const CLAIM_TOKEN_PURPOSE = 'egift-claim-v1';
export const CLAIM_TOKEN_DAYS = 30;
/** Opens of one link at most (the holder may come back to it; a leaked link is not a code forever). */
export const CLAIM_TOKEN_MAX_OPENS = 50;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface ClaimToken {
  readonly token: string;
  readonly hash: string;
  readonly expiresAt: string;
}

export const hashClaimToken = (token: string): string =>
  createHash('sha256').update(`${CLAIM_TOKEN_PURPOSE}|${token}`).digest('hex');

export function newClaimToken(now: Date, days = CLAIM_TOKEN_DAYS): ClaimToken {
  const token = randomBytes(32).toString('base64url');
  return {
    token,
    hash: hashClaimToken(token),
    expiresAt: new Date(now.getTime() + days * 86_400_000).toISOString(),
  };
}

/** A string that could be a token; anything else is a miss before any read. */
export const isClaimTokenShape = (token: string): boolean => TOKEN_PATTERN.test(token);

/** The link the message carries: the portal's claim page, the token in the fragment (never sent to a server log). */
export const claimLink = (portalBaseUrl: string, token: string): string =>
  `${portalBaseUrl.replace(/\/+$/, '')}/portal/claim#token=${token}`;
