import type { StaffRole } from '../core/access';
import type { AuditContext } from '../core/audit';
import type { Card } from '../core/card';
import { DomainError } from '../core/errors';
import type { Actor } from '../core/ledger';
import { isMemberToken } from '../core/member-session';
import { type ApiKeyRecord, type Merchant, merchantMaySee } from '../core/merchant';
import type { Program } from '../core/program';
import { authenticateApiKey } from '../store/api-keys';
import { findSession } from '../store/member-sessions';
import type { RouteDefinition } from './route-table';

export type Principal =
  | { readonly type: 'merchant'; readonly merchant: Merchant; readonly key: ApiKeyRecord }
  | {
      readonly type: 'staff';
      readonly sub: string;
      readonly email?: string;
      readonly roles: readonly StaffRole[];
    }
  | { readonly type: 'anonymous' }
  /** A loyalty member signed in with a one-time code (`Authorization: Bearer ms_...`, functions/app/member-sign-in.ts). */
  | {
      readonly type: 'member';
      readonly memberId: string;
      readonly loyaltyProgramId: string;
      readonly sessionId: string;
    }
  /** An Apple Wallet device holding the pass of this card (`Authorization: ApplePass <token>`). */
  | {
      readonly type: 'pass';
      readonly cardId: string;
      readonly passTypeIdentifier: string;
      /** The stored hash the token matched: a registration is written only while it still holds. */
      readonly tokenHash: string;
      /** The pass's version when the token was checked (a consistent read, before anything else). */
      readonly version: string;
      /** The card's program, as the pass item records it (absent on items from before it was recorded). */
      readonly programId?: string;
    };

const unauthenticated = () =>
  new DomainError(
    'UNAUTHENTICATED',
    'Send a valid API key or staff token as `Authorization: Bearer <token>`.',
  );

/**
 * API keys start with `gk_`; anything else that looks like a JWT is tried as a staff token.
 * `merchantHint`: the merchant API Gateway's authorizer named for this request (requestContext.authorizer),
 * read alongside the key on a cold request; the key itself decides which merchant it belongs to.
 */
export async function authenticate(
  authorization: string | undefined,
  options: { readonly merchantHint?: string } = {},
): Promise<Principal> {
  if (authorization === undefined) return { type: 'anonymous' };
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{10,4096})$/.exec(authorization.trim());
  const token = match?.[1];
  if (!token) throw unauthenticated();
  if (token.startsWith('gk_')) {
    const found = await authenticateApiKey(token, new Date(), options);
    if (!found) throw unauthenticated();
    return { type: 'merchant', merchant: found.merchant, key: found.key };
  }
  if (isMemberToken(token)) {
    // A session unknown, expired or revoked answers like any bad credential.
    const session = await findSession(token, new Date());
    if (!session) throw unauthenticated();
    return {
      type: 'member',
      memberId: session.memberId,
      loyaltyProgramId: session.loyaltyProgramId,
      sessionId: session.sessionId,
    };
  }
  // Loaded on the first staff token: merchant-only instances never evaluate jose (cold start).
  const { verifyStaffToken } = await import('./staff-token');
  const staff = await verifyStaffToken(token);
  if (!staff) throw unauthenticated();
  return { type: 'staff', ...staff };
}

/** Every route says who may call it; anything the route does not name is refused. */
export function authorize(route: RouteDefinition, principal: Principal): void {
  const { access } = route;
  if (access.public) return;
  if (access.passToken) {
    if (principal.type === 'pass') return;
    throw unauthenticated();
  }
  if (principal.type === 'anonymous' || principal.type === 'pass') throw unauthenticated();
  if (principal.type === 'member') {
    if (access.member) return;
    throw new DomainError('FORBIDDEN', 'Members may not call this route.');
  }
  if (access.member && !access.merchant && !access.staff) {
    throw new DomainError('FORBIDDEN', 'Only a signed-in member may call this route.');
  }
  if (principal.type === 'merchant') {
    if (access.merchant && principal.key.scopes.includes(access.merchant)) return;
    throw new DomainError(
      'FORBIDDEN',
      access.merchant
        ? `This API key lacks the scope ${access.merchant}.`
        : 'Merchants may not call this route.',
    );
  }
  if (access.staff?.some((role) => principal.roles.includes(role))) return;
  throw new DomainError('FORBIDDEN', 'Your role may not call this route.');
}

export function actorOf(principal: Principal): Actor {
  switch (principal.type) {
    case 'merchant':
      return { type: 'merchant', id: principal.merchant.id, keyId: principal.key.id };
    case 'staff':
      return {
        type: 'staff',
        id: principal.sub,
        ...(principal.roles[0] ? { role: principal.roles[0] } : {}),
      };
    case 'member':
      return { type: 'holder', id: principal.memberId };
    case 'anonymous':
    case 'pass':
      throw unauthenticated();
  }
}

/** Staff see every card; a merchant only cards of its programs. */
/** Who makes a change and why, for its audit record. */
export function auditOf(principal: Principal, reason: string | undefined): AuditContext {
  return { actor: actorOf(principal), ...(reason ? { reason } : {}) };
}

export function cardVisibility(principal: Principal): (card: Card) => boolean {
  if (principal.type === 'pass') return (card) => card.id === principal.cardId;
  // A member reaches cards only through their links (functions/app/member-cards.ts), never by id.
  if (principal.type === 'member') return () => false;
  return principal.type === 'merchant'
    ? (card) => merchantMaySee(principal.merchant, card)
    : () => principal.type === 'staff';
}

export function programVisibility(principal: Principal): (program: Program) => boolean {
  return principal.type === 'merchant'
    ? (program) => principal.merchant.programIds.includes(program.id)
    : () => principal.type === 'staff';
}

/** The idempotency scope: keys of different principals never collide. */
export function principalScope(principal: Principal): string {
  switch (principal.type) {
    case 'merchant':
      return `M:${principal.merchant.id}`;
    case 'staff':
      return `S:${principal.sub}`;
    case 'anonymous':
      return 'A';
    case 'pass':
      return `P:${principal.cardId}`;
    case 'member':
      return `MB:${principal.memberId}`;
  }
}
