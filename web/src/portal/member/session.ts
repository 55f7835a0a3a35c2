import { ApiProblem } from '../../shared/api';

/**
 * The member's session in this tab: the `ms_...` token in sessionStorage (gone when the tab closes; the
 * API's sessions expire after 12 hours and are revoked on sign-out), keyed by loyalty program.
 */
const keyOf = (loyaltyProgramId: string) => `member-session:${loyaltyProgramId}`;

export interface MemberSession {
  readonly token: string;
  readonly memberId: string;
  readonly expiresAt: string;
}

export function loadSession(loyaltyProgramId: string): MemberSession | undefined {
  const raw = sessionStorage.getItem(keyOf(loyaltyProgramId));
  if (!raw) return undefined;
  const session = JSON.parse(raw) as MemberSession;
  return Date.parse(session.expiresAt) > Date.now() ? session : undefined;
}

export function saveSession(loyaltyProgramId: string, session: MemberSession | undefined): void {
  if (session) sessionStorage.setItem(keyOf(loyaltyProgramId), JSON.stringify(session));
  else sessionStorage.removeItem(keyOf(loyaltyProgramId));
}

/** The loyalty program of the page: `#/member/<loyaltyProgramId>`. */
export function programOfHash(hash: string): string | undefined {
  const match = /^#\/member\/([A-Za-z0-9_-]{1,64})/.exec(hash);
  return match?.[1];
}

export function memberMessage(error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.status === 429)
      return `Too many attempts. Try again in ${error.retryAfterSeconds ?? 60} seconds.`;
    if (error.status === 401) return 'That code did not work, or it has expired. Ask for a new one.';
    if (error.status === 404) return 'We could not find that. Check it and try again.';
    if (error.code === 'CONFLICT') return error.detail;
    if (error.code === 'INSUFFICIENT_FUNDS') return 'You do not have enough points for this reward.';
    return error.detail;
  }
  return 'Something went wrong. Try again in a moment.';
}
