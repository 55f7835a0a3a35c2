import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import type { StaffRole } from '../functions/http/route-table';

/** An ES256 key pair as JWKs (kept in .local/secrets.json by the local runtime). */
export interface StaffSigningKey {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

export interface StaffTokenOptions {
  readonly sub?: string;
  readonly email?: string;
  /** A jose time span ('12h', '5m') or seconds; default 12 h. */
  readonly expiresIn?: string | number;
}

/** The local stand-in for Cognito: signs staff ID tokens the handlers verify like Cognito's. */
export interface StaffIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** `{"keys":[<public JWK>]}`: the value of STAFF_JWKS_JSON. */
  readonly jwksJson: string;
  mintStaffToken(role: StaffRole, options?: StaffTokenOptions): Promise<string>;
}

export const LOCAL_STAFF_AUDIENCE = 'giftcard-local';
export const STAFF_TOKEN_LIFETIME = '12h';

export async function generateStaffSigningKey(): Promise<StaffSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `local-${randomUUID()}`;
  const describe = (jwk: JWK): JWK => ({ ...jwk, kid, alg: 'ES256', use: 'sig' });
  return {
    kid,
    privateJwk: describe(await exportJWK(privateKey)),
    publicJwk: describe(await exportJWK(publicKey)),
  };
}

export async function createStaffIssuer(options: {
  readonly signingKey: StaffSigningKey;
  readonly issuer: string;
  readonly audience?: string;
}): Promise<StaffIssuer> {
  const { signingKey, issuer } = options;
  const audience = options.audience ?? LOCAL_STAFF_AUDIENCE;
  const privateKey = await importJWK(signingKey.privateJwk, 'ES256');
  const { d: _secret, ...publicJwk } = signingKey.publicJwk;
  return {
    issuer,
    audience,
    jwksJson: JSON.stringify({ keys: [publicJwk] }),
    mintStaffToken: (role, token = {}) =>
      new SignJWT({
        'cognito:groups': [role],
        email: token.email ?? `${role}@staff.giftcard.local`,
        token_use: 'id',
      })
        .setProtectedHeader({ alg: 'ES256', kid: signingKey.kid, typ: 'JWT' })
        .setSubject(token.sub ?? `staff-${role}`)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setJti(randomUUID())
        .setExpirationTime(token.expiresIn ?? STAFF_TOKEN_LIFETIME)
        .sign(privateKey),
  };
}
