import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usesAuthorizer } from '../../functions/http/gateway';
import { MERCHANT_SCOPES, ROUTES, STAFF_ROLES } from '../../functions/http/route-table';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { registerMember, signInDirect } from '../support/loyalty';
import { fetchBytes, passJsonOf } from '../support/pkpass';
import { startTestStack } from '../support/stack';

/**
 * Every route x every kind of caller: the route table's `access` is the whole truth. A caller it does
 * not name gets 401 (no credentials) or 403; a caller it names gets past authorisation (any other
 * answer: 2xx, 400, 404...). A route without an explicit rule fails the table check below. Apple's
 * PassKit web service routes take only the pass's own token (`Authorization: ApplePass <token>`, the
 * `pass` caller, on its own serial number): every other caller is 401 there, and the pass token is 401
 * everywhere else.
 */
let stack: LocalStack;
const tokens: Record<string, string> = {};
let loyaltyProgramId: string;
/** Member routes that end the caller's session or membership: each gets a member of its own. */
const ENDS_SESSION = new Set([
  'DELETE /v1/members/me',
  'POST /v1/members/me/sign-out',
  'POST /v1/members/me/sessions/revoke-all',
]);
let pass: { token: string; serialNumber: string; passTypeIdentifier: string };

beforeAll(async () => {
  // No stream consumers: nothing here reads what they write, and they would only load DynamoDB Local.
  stack = await startTestStack({ consumers: [] });
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
  const readOnly = await request('POST', `/v1/merchants/${demo.merchantId}/api-keys`, {
    token: demo.staffTokens.admin,
    idempotencyKey: randomUUID(),
    body: { scopes: ['cards:read'] },
  });
  tokens['merchant:cards:read'] = readOnly.body.apiKey;
  // A loyalty member signed in (`Bearer ms_...`): only member routes take it.
  const loyalty = await request('POST', '/v1/loyalty/programs', {
    token: demo.staffTokens.admin,
    idempotencyKey: randomUUID(),
    body: {
      name: 'Matrix loyalty',
      cardProgramIds: [demo.programId],
      currency: 'USD',
      earn: { pointsPerUnitRedeemed: 1 },
      pointValueMilliMinor: 1000,
    },
  });
  loyaltyProgramId = loyalty.body.id;
  tokens.member = await signInDirect(await registerMember(loyaltyProgramId), loyaltyProgramId);
  const card = await request('POST', '/v1/cards', {
    token: demo.apiKey,
    idempotencyKey: randomUUID(),
    body: { programId: demo.programId, type: 'DIGITAL', amount: 1000, activate: true },
  });
  const download = await fetchBytes(`${stack.baseUrl}/v1/cards/${card.body.card.id}/wallet/apple`, {
    headers: { Authorization: `Bearer ${demo.apiKey}` },
  });
  const passJson = passJsonOf(download.bytes);
  pass = {
    token: passJson.authenticationToken,
    serialNumber: passJson.serialNumber,
    passTypeIdentifier: passJson.passTypeIdentifier,
  };
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
    .replace('{exportId}', `exp_${'1'.repeat(26)}`)
    .replace('{loyaltyProgramId}', `lp_${'1'.repeat(26)}`)
    .replace('{memberId}', `mem_${'1'.repeat(26)}`)
    .replace('{rewardId}', `rwd_${'1'.repeat(26)}`)
    .replace('{promotionId}', `promo_${'1'.repeat(26)}`)
    .replace('{deviceLibraryIdentifier}', 'device0123456789')
    .replace('{passTypeIdentifier}', pass.passTypeIdentifier)
    .replace('{serialNumber}', `gc_${'1'.repeat(26)}`);

describe('route x principal matrix', () => {
  it('covers every staff role and every merchant scope', () => {
    expect(Object.keys(tokens).sort()).toEqual(
      [
        ...STAFF_ROLES.map((role) => `staff:${role}`),
        'merchant:all',
        ...MERCHANT_SCOPES.map((s) => `merchant:${s}`),
        'member',
      ].sort(),
    );
  });

  it('every route declares its callers explicitly', () => {
    for (const route of ROUTES) {
      const access = route.access;
      const declared =
        access.public === true ||
        access.passToken === true ||
        Boolean(access.merchant) ||
        Boolean(access.staff?.length) ||
        access.member === true;
      expect(declared, `${route.method} ${route.path}`).toBe(true);
    }
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.path}`, async () => {
      const callers = ['anonymous', 'pass', ...Object.keys(tokens)];
      for (const caller of callers) {
        const token =
          caller === 'anonymous' || caller === 'pass'
            ? undefined
            : caller === 'member' && ENDS_SESSION.has(`${route.method} ${route.path}`)
              ? await signInDirect(await registerMember(loyaltyProgramId), loyaltyProgramId)
              : tokens[caller];
        // The pass caller names its own pass where a route has a serial number.
        const path =
          caller === 'pass'
            ? samplePath(route.path.replace('{serialNumber}', pass.serialNumber))
            : samplePath(route.path);
        const response = await request(route.method, path, {
          ...(token ? { token } : {}),
          ...(caller === 'pass' ? { headers: { Authorization: `ApplePass ${pass.token}` } } : {}),
          idempotencyKey: randomUUID(),
          ...(route.method === 'POST' || route.method === 'PATCH' || route.method === 'PUT'
            ? { body: {} }
            : {}),
        });
        const access = route.access;
        let allowed: boolean;
        if (access.public) allowed = true;
        else if (access.passToken) allowed = caller === 'pass';
        else if (caller === 'anonymous' || caller === 'pass') allowed = false;
        else if (caller === 'member') allowed = access.member === true;
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
        else {
          // A member's session is no credential for the gateway's authorizer (merchant and staff routes): 401.
          const unauthenticated =
            caller === 'anonymous' ||
            caller === 'pass' ||
            access.passToken === true ||
            (caller === 'member' && usesAuthorizer(route));
          expect(response.status, label).toBe(unauthenticated ? 401 : 403);
        }
      }
    });
  }
});
