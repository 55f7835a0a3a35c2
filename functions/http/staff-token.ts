import { createHash } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { config } from '../config';
import { STAFF_ROLES, type StaffRole } from '../core/access';

export interface StaffIdentity {
  readonly sub: string;
  readonly email?: string;
  readonly roles: readonly StaffRole[];
}

let keys: JWTVerifyGetKey | undefined;

function keySet(): JWTVerifyGetKey {
  if (!keys) {
    const { STAFF_JWKS_URL, STAFF_JWKS_JSON } = config();
    keys = STAFF_JWKS_JSON
      ? createLocalJWKSet(JSON.parse(STAFF_JWKS_JSON))
      : createRemoteJWKSet(new URL(String(STAFF_JWKS_URL)));
  }
  return keys;
}

/**
 * Tokens this instance has verified, by SHA-256 of the token, until they expire: a signature check
 * (ES256, ~0.25 ms) per request would be the largest cost of a staff request. A JWT is valid until its
 * `exp` whoever checks it, so remembering the verdict changes nothing; only successes are kept, and
 * only so many (the oldest is dropped first).
 */
const verified = new Map<string, { readonly identity: StaffIdentity; readonly expiresAt: number }>();
const MAX_VERIFIED = 1_000;

export async function verifyStaffToken(token: string, now = Date.now()): Promise<StaffIdentity | undefined> {
  const digest = createHash('sha256').update(token).digest('base64url');
  const known = verified.get(digest);
  if (known && known.expiresAt > now) return known.identity;
  if (known) verified.delete(digest);
  const checked = await verifySignedToken(token);
  if (!checked) return undefined;
  if (verified.size >= MAX_VERIFIED) {
    const oldest = verified.keys().next();
    if (!oldest.done) verified.delete(oldest.value);
  }
  verified.set(digest, checked);
  return checked.identity;
}

/**
 * Staff JWTs: Cognito tokens in AWS, the local issuer's under `npm start`. Roles are the Cognito groups.
 * Cognito access tokens carry the app client in `client_id`, ID tokens in `aud`: either must match.
 */
async function verifySignedToken(
  token: string,
): Promise<{ identity: StaffIdentity; expiresAt: number } | undefined> {
  const { STAFF_JWT_ISSUER, STAFF_JWT_AUDIENCE } = config();
  try {
    const { payload } = await jwtVerify(token, keySet(), {
      issuer: STAFF_JWT_ISSUER,
      algorithms: ['ES256', 'RS256'],
      requiredClaims: ['sub', 'exp'],
    });
    if (STAFF_JWT_AUDIENCE) {
      const audiences = [payload.aud, payload.client_id].flat().filter((value) => typeof value === 'string');
      if (!audiences.includes(STAFF_JWT_AUDIENCE)) return undefined;
    }
    const groups = payload['cognito:groups'];
    const roles = (Array.isArray(groups) ? groups : []).filter((group): group is StaffRole =>
      STAFF_ROLES.includes(group as StaffRole),
    );
    if (!payload.sub || roles.length === 0) return undefined;
    return {
      identity: {
        sub: payload.sub,
        roles,
        ...(typeof payload.email === 'string' ? { email: payload.email } : {}),
      },
      // requiredClaims guarantees a numeric exp (seconds).
      expiresAt: Number(payload.exp) * 1000,
    };
  } catch {
    return undefined;
  }
}

export function resetStaffKeysForTests(): void {
  keys = undefined;
  verified.clear();
}
