import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateLocalSecrets } from '../../local/secrets';
import { createStaffIssuer } from '../../local/staff-issuer';

const dir = mkdtempSync(join(tmpdir(), 'giftcard-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the local staff issuer', () => {
  it('keeps one pepper and one ES256 key in secrets.json across starts', async () => {
    const file = join(dir, 'secrets.json');
    const first = await loadOrCreateLocalSecrets(file);
    const second = await loadOrCreateLocalSecrets(file);
    expect(second).toEqual(first);
    expect(first.codePepper).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).staffSigningKey.privateJwk.d).toEqual(expect.any(String));
  });

  it('mints tokens the JWKS verifies, with the Cognito-like claims the handlers read', async () => {
    const secrets = await loadOrCreateLocalSecrets(join(dir, 'secrets.json'));
    const issuer = await createStaffIssuer({
      signingKey: secrets.staffSigningKey,
      issuer: 'http://127.0.0.1:3000/local-issuer',
    });
    const jwks = JSON.parse(issuer.jwksJson);
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
      kid: secrets.staffSigningKey.kid,
    });
    expect(jwks.keys[0].d).toBeUndefined();

    const token = await issuer.mintStaffToken('finance');
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: secrets.staffSigningKey.kid });
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: 'http://127.0.0.1:3000/local-issuer',
      audience: 'giftcard-local',
    });
    expect(payload).toMatchObject({ 'cognito:groups': ['finance'], sub: 'staff-finance', token_use: 'id' });
    expect(payload.email).toEqual(expect.any(String));
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(12 * 3600);

    const custom = await issuer.mintStaffToken('support', {
      sub: 'alice',
      email: 'alice@example.com',
      expiresIn: '5m',
    });
    const claims = (await jwtVerify(custom, createLocalJWKSet(jwks))).payload;
    expect(claims).toMatchObject({ sub: 'alice', email: 'alice@example.com', 'cognito:groups': ['support'] });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(300);
  });
});
