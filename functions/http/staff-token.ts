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
 * Staff JWTs: Cognito tokens in AWS, the local issuer's under `npm start`. Roles are the Cognito groups.
 * Cognito access tokens carry the app client in `client_id`, ID tokens in `aud`: either must match.
 */
export async function verifyStaffToken(token: string): Promise<StaffIdentity | undefined> {
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
      sub: payload.sub,
      roles,
      ...(typeof payload.email === 'string' ? { email: payload.email } : {}),
    };
  } catch {
    return undefined;
  }
}

export function resetStaffKeysForTests(): void {
  keys = undefined;
}
