import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MERCHANT_SCOPES, ROUTES, STAFF_ROLES } from '../../functions/http/route-table';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * Every route x every kind of caller: the route table's `access` is the whole truth. A caller it does
 * not name gets 401 (no credentials) or 403; a caller it names gets past authorisation (any other
 * answer: 2xx, 400, 404...). A route without an explicit rule fails the table check below.
 */
let stack: LocalStack;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  stack = await startTestStack();
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  for (const role of STAFF_ROLES) tokens[`staff:${role}`] = demo.staffTokens[role];
  tokens['merchant:all'] = demo.apiKey;
  // A key with each single scope: a route needing another scope refuses it.
  for (const scope of MERCHANT_SCOPES) {
    const key = await request('POST', `/v1/merchants/${demo.merchantId}/api-keys`, {
      token: demo.staffTokens.admin,
      idempotencyKey: randomUUID(),
      body: { scopes: [scope] },
    });
    tokens[`merchant:${scope}`] = key.body.apiKey;
  }
});
afterAll(async () => stack.stop());

const samplePath = (path: string) =>
  path
    .replace('{cardId}', `gc_${'1'.repeat(26)}`)
    .replace('{programId}', `prg_${'1'.repeat(26)}`)
    .replace('{merchantId}', `mer_${'1'.repeat(26)}`)
    .replace('{keyId}', `key_${'1'.repeat(26)}`)
    .replace('{transactionId}', `tx_${'1'.repeat(26)}_1`)
    .replace('{alertId}', `fa_${'1'.repeat(26)}`)
    .replace('{exportId}', `exp_${'1'.repeat(26)}`);

describe('route x principal matrix', () => {
  it('covers every staff role and every merchant scope', () => {
    expect(Object.keys(tokens).sort()).toEqual(
      [
        ...STAFF_ROLES.map((role) => `staff:${role}`),
        'merchant:all',
        ...MERCHANT_SCOPES.map((s) => `merchant:${s}`),
      ].sort(),
    );
  });

  it('every route declares its callers explicitly', () => {
    for (const route of ROUTES) {
      const access = route.access;
      const declared = access.public === true || Boolean(access.merchant) || Boolean(access.staff?.length);
      expect(declared, `${route.method} ${route.path}`).toBe(true);
    }
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.path}`, async () => {
      const callers = ['anonymous', ...Object.keys(tokens)];
      for (const caller of callers) {
        const token = caller === 'anonymous' ? undefined : tokens[caller];
        const response = await request(route.method, samplePath(route.path), {
          ...(token ? { token } : {}),
          idempotencyKey: randomUUID(),
          ...(route.method === 'POST' || route.method === 'PATCH' || route.method === 'PUT'
            ? { body: {} }
            : {}),
        });
        const access = route.access;
        let allowed: boolean;
        if (access.public) allowed = true;
        else if (caller === 'anonymous') allowed = false;
        else if (caller.startsWith('merchant:')) {
          allowed =
            caller === 'merchant:all'
              ? Boolean(access.merchant)
              : access.merchant === caller.slice('merchant:'.length);
        } else {
          allowed = access.staff?.includes(caller.slice('staff:'.length) as never) ?? false;
        }
        const label = `${caller} -> ${response.status} ${response.body?.code ?? ''}`;
        if (allowed) expect([401, 403], label).not.toContain(response.status);
        else expect(response.status, label).toBe(caller === 'anonymous' ? 401 : 403);
      }
    });
  }
});
