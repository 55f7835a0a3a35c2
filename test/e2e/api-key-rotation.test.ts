import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

let stack: LocalStack;
let admin: string;
let merchantId: string;

beforeAll(async () => {
  stack = await startTestStack();
  if (!stack.demo) throw new Error('the test stack did not seed');
  admin = stack.demo.staffTokens.admin;
  merchantId = stack.demo.merchantId;
});
afterAll(async () => stack.stop());

async function newKey() {
  const created = await request('POST', `/v1/merchants/${merchantId}/api-keys`, {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { scopes: ['cards:read'], description: 'till 7' },
  });
  expect(created.status).toBe(201);
  return created.body as { id: string; apiKey: string };
}

const rotate = (keyId: string, body: unknown, idempotencyKey = randomUUID(), token = admin) =>
  request('POST', `/v1/merchants/${merchantId}/api-keys/${keyId}/rotate`, { token, idempotencyKey, body });

/** A lookup of an unknown code: 404 to a caller whose key works, 401 once it does not. */
const statusWith = async (apiKey: string) =>
  (await request('POST', '/v1/cards/lookup', { token: apiKey, body: { code: '0000000000000000' } })).status;

describe('API key rotation', () => {
  it('gives a new key once, with the same scopes; the old one works through the grace period, then never again', async () => {
    const old = await newKey();
    const idempotencyKey = randomUUID();
    // Long enough that the calls below finish inside it on a busy machine; the wait below is only the rest.
    const graceMs = 8_000;
    const rotatedAt = Date.now();
    const rotated = await rotate(
      old.id,
      { gracePeriodSeconds: graceMs / 1000, reason: 'yearly rotation' },
      idempotencyKey,
    );
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({
      scopes: ['cards:read'],
      description: 'till 7',
      rotatedFrom: old.id,
      apiKey: expect.stringMatching(/^gk_key_/),
    });
    expect(rotated.body.id).not.toBe(old.id);
    // A retry of the same request gets the same new key, and makes no third key.
    const again = await rotate(
      old.id,
      { gracePeriodSeconds: graceMs / 1000, reason: 'yearly rotation' },
      idempotencyKey,
    );
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.apiKey).toBe(rotated.body.apiKey);

    // Both work during the grace period (404: an unknown code, answered to an authenticated caller).
    expect(await statusWith(old.apiKey)).toBe(404);
    expect(await statusWith(rotated.body.apiKey)).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, rotatedAt + graceMs + 500 - Date.now())));
    expect(await statusWith(old.apiKey)).toBe(401);
    expect(await statusWith(rotated.body.apiKey)).toBe(404);

    const listed = await request('GET', `/v1/merchants/${merchantId}/api-keys?limit=200`, { token: admin });
    const byId = new Map(
      (listed.body.items as { id: string; apiKey?: string }[]).map((key) => [key.id, key] as const),
    );
    expect(byId.get(old.id)).toMatchObject({ rotatedTo: rotated.body.id, expiresAt: expect.any(String) });
    expect(byId.get(rotated.body.id)).toMatchObject({ rotatedFrom: old.id });
    expect(JSON.stringify(listed.body)).not.toContain(rotated.body.apiKey);

    const audit = await request('GET', `/v1/audit?actor=staff-admin&limit=50`, { token: admin });
    expect(audit.body.items).toContainEqual(
      expect.objectContaining({
        action: 'apiKey.rotate',
        reason: 'yearly rotation',
        before: expect.not.objectContaining({ rotatedTo: expect.anything() }),
        after: expect.objectContaining({ rotatedTo: rotated.body.id }),
      }),
    );
    expect(JSON.stringify(audit.body)).not.toContain(rotated.body.apiKey);
  });

  it('rotates a key once: a second rotation of it, or of a revoked key, is 409 and makes nothing', async () => {
    const old = await newKey();
    expect((await rotate(old.id, { gracePeriodSeconds: 0 })).status).toBe(201);
    // Grace 0: the old key is refused at once.
    expect(await statusWith(old.apiKey)).toBe(401);
    const twice = await rotate(old.id, {});
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ code: 'CONFLICT' });

    const revoked = await newKey();
    await request('DELETE', `/v1/merchants/${merchantId}/api-keys/${revoked.id}`, { token: admin });
    expect((await rotate(revoked.id, {})).status).toBe(409);
    const listed = await request('GET', `/v1/merchants/${merchantId}/api-keys?limit=200`, { token: admin });
    const replacements = (listed.body.items as { rotatedFrom?: string }[]).filter(
      (key) => key.rotatedFrom === old.id || key.rotatedFrom === revoked.id,
    );
    expect(replacements).toHaveLength(1);
  });

  it('refuses bad input and other callers, writing nothing', async () => {
    const old = await newKey();
    expect((await rotate(old.id, { gracePeriodSeconds: 8 * 86_400 })).status).toBe(400);
    expect((await rotate(old.id, { gracePeriodSeconds: -1 })).status).toBe(400);
    expect((await rotate(old.id, { gracePeriodSeconds: 1.5 })).status).toBe(400);
    expect((await rotate(old.id, { extra: true })).status).toBe(400);
    expect((await rotate(`key_${'1'.repeat(26)}`, {})).status).toBe(404);
    const support = stack.demo?.staffTokens.support ?? '';
    expect((await rotate(old.id, {}, randomUUID(), support)).status).toBe(403);
    expect((await rotate(old.id, {}, randomUUID(), old.apiKey)).status).toBe(403);
    // Still the live, unrotated key.
    expect(await statusWith(old.apiKey)).toBe(404);
  });
});
