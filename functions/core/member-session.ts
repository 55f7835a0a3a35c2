import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * Passwordless member sign-in: a one-time code sent to the member's contact, then a session token.
 * Codes are 6 digits drawn without bias, kept only as an HMAC, valid for SIGN_IN_CODE_TTL_SECONDS and
 * SIGN_IN_MAX_ATTEMPTS tries. Session tokens are 32 random bytes (`ms_` + base64url), kept only as their
 * SHA-256; they expire after SESSION_TTL_SECONDS and may be revoked one by one or all at once.
 */
export const SIGN_IN_CODE_TTL_SECONDS = 10 * 60;
export const SIGN_IN_MAX_ATTEMPTS = 5;
/** Codes a contact may ask for in one SIGN_IN_WINDOW_SECONDS. */
export const SIGN_IN_CODES_PER_WINDOW = 5;
export const SIGN_IN_WINDOW_SECONDS = 15 * 60;
export const SESSION_TTL_SECONDS = 12 * 60 * 60;
export const MEMBER_TOKEN_PREFIX = 'ms_';

export const newSignInCode = (): string => String(randomInt(0, 1_000_000)).padStart(6, '0');

export const signInCodeHash = (pepper: string, challengeId: string, code: string): string =>
  createHmac('sha256', pepper).update(`member-sign-in:${challengeId}:${code}`).digest('base64url');

export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export const newSessionToken = (): string => `${MEMBER_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

export const sessionTokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

export const isMemberToken = (token: string): boolean => token.startsWith(MEMBER_TOKEN_PREFIX);

/** The rate-limit window a moment falls in (fixed windows, by epoch). */
export const signInWindow = (now: Date): number => Math.floor(now.getTime() / 1000 / SIGN_IN_WINDOW_SECONDS);

export interface MemberSession {
  readonly sessionId: string;
  readonly memberId: string;
  readonly loyaltyProgramId: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export const sessionAlive = (session: MemberSession & { readonly revokedAt?: string }, now: Date): boolean =>
  session.revokedAt === undefined && Date.parse(session.expiresAt) > now.getTime();
