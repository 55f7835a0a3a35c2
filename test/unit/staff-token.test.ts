import * as jose from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyStaffToken } from '../../functions/http/staff-token';
import { createStaffIssuer, generateStaffSigningKey, LOCAL_STAFF_AUDIENCE } from '../../local/staff-issuer';
import { resetHandlerState } from '../support/reset';

vi.mock('jose', async (importOriginal) => {
  const original = await importOriginal<typeof import('jose')>();
  return { ...original, jwtVerify: vi.fn(original.jwtVerify) };
});

const ISSUER = 'http://127.0.0.1:3000/local-issuer';
const saved = { ...process.env };

async function issuerWithKeys() {
  const issuer = await createStaffIssuer({ signingKey: await generateStaffSigningKey(), issuer: ISSUER });
  process.env.STAFF_JWT_ISSUER = ISSUER;
  process.env.STAFF_JWT_AUDIENCE = LOCAL_STAFF_AUDIENCE;
  process.env.STAFF_JWKS_JSON = issuer.jwksJson;
  process.env.TABLE_NAME ??= 'unused';
  process.env.CODE_PEPPER ??= 'p'.repeat(32);
  resetHandlerState();
  return issuer;
}

describe('staff token verification', () => {
  beforeEach(() => resetHandlerState());
  afterEach(() => {
    vi.useRealTimers();
    vi.mocked(jose.jwtVerify).mockClear();
    process.env = { ...saved };
    resetHandlerState();
  });

  it('checks a signature once, then remembers the verdict until the token expires', async () => {
    const issuer = await issuerWithKeys();
    const token = await issuer.mintStaffToken('support', { sub: 'alice', expiresIn: '5m' });
    const first = await verifyStaffToken(token);
    expect(first).toEqual({ sub: 'alice', roles: ['support'], email: expect.any(String) });
    expect(await verifyStaffToken(token)).toEqual(first);
    expect(jose.jwtVerify).toHaveBeenCalledTimes(1);

    // Past its exp the token is checked again, and refused.
    vi.useFakeTimers({ now: Date.now() + 6 * 60_000 });
    expect(await verifyStaffToken(token)).toBeUndefined();
    expect(jose.jwtVerify).toHaveBeenCalledTimes(2);
  });

  it('never remembers a failure, nor a token signed by someone else', async () => {
    const issuer = await issuerWithKeys();
    const stranger = await createStaffIssuer({ signingKey: await generateStaffSigningKey(), issuer: ISSUER });
    const forged = await stranger.mintStaffToken('admin');
    expect(await verifyStaffToken(forged)).toBeUndefined();
    expect(
      await verifyStaffToken(`${(await issuer.mintStaffToken('admin')).slice(0, -2)}xx`),
    ).toBeUndefined();
    const genuine = await issuer.mintStaffToken('admin');
    expect(await verifyStaffToken(genuine)).toMatchObject({ roles: ['admin'] });
    expect(await verifyStaffToken(forged)).toBeUndefined();
    // Every failed attempt was checked again; only the genuine token's verdict could be remembered.
    expect(jose.jwtVerify).toHaveBeenCalledTimes(4);
  });
});
