import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

let stack: LocalStack;
let apiKey: string;
let admin: string;
let support: string;
let finance: string;
let programId: string;

beforeAll(async () => {
  // No stream consumers: nothing here reads what they write, and they would only load DynamoDB Local.
  stack = await startTestStack({ consumers: [] });
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  apiKey = demo.apiKey;
  admin = demo.staffTokens.admin;
  support = demo.staffTokens.support;
  finance = demo.staffTokens.finance;
  programId = demo.programId;
});
afterAll(async () => stack.stop());

const key = () => randomUUID();

async function issue(amount = 5000, token = apiKey) {
  const response = await request('POST', '/v1/cards', {
    token,
    idempotencyKey: key(),
    body: { programId, type: 'DIGITAL', amount, activate: true },
  });
  expect(response.status).toBe(201);
  return response.body as { card: { id: string; balance: number; last4: string }; code: string };
}

async function ledgerOf(cardId: string, token = admin) {
  const response = await request('GET', `/v1/cards/${cardId}/transactions?limit=200`, { token });
  expect(response.status).toBe(200);
  return response.body.items as { type: string; amount: number; balanceAfter: number }[];
}

describe('a till: issue, look up by code, redeem, history', () => {
  it('works end to end and the balance always equals the ledger', async () => {
    const issued = await issue(5000);
    // The default format: region code 1, 16 random digits, the Luhn digit (10^7 cards at 10^9 per card).
    expect(issued.code).toMatch(/^1\d{17}$/);
    expect(issued.card).toMatchObject({ balance: 5000, available: 5000, status: 'ACTIVE', currency: 'USD' });

    const lookup = await request('POST', '/v1/cards/lookup', { token: apiKey, body: { code: issued.code } });
    expect(lookup.status).toBe(200);
    expect(lookup.body).toMatchObject({ id: issued.card.id, balance: 5000, last4: issued.code.slice(-4) });
    expect(JSON.stringify(lookup.body)).not.toContain(issued.code);

    const redeem = await request('POST', `/v1/cards/${issued.card.id}/redeem`, {
      token: apiKey,
      idempotencyKey: key(),
      body: {
        amount: 1250,
        channel: 'POS',
        locationId: 'store-12',
        terminalId: 'till-3',
        reference: 'receipt 991',
      },
    });
    expect(redeem.status).toBe(200);
    expect(redeem.body.transaction).toMatchObject({
      type: 'REDEEM',
      amount: -1250,
      balanceAfter: 3750,
      channel: 'POS',
      locationId: 'store-12',
      terminalId: 'till-3',
      reference: 'receipt 991',
      merchantId: stack.demo?.merchantId,
    });
    expect(redeem.body.card.balance).toBe(3750);

    const tx = await request('GET', `/v1/transactions/${redeem.body.transaction.id}`, { token: apiKey });
    expect(tx.status).toBe(200);
    expect(tx.body.id).toBe(redeem.body.transaction.id);

    const ledger = await ledgerOf(issued.card.id);
    expect(ledger.map((entry) => entry.type)).toEqual(['REDEEM', 'ACTIVATE', 'ISSUE']);
    expect(ledger.reduce((sum, entry) => sum + entry.amount, 0)).toBe(3750);
  });

  it('replays a retried redemption with Idempotent-Replayed and refuses the key for another body', async () => {
    const issued = await issue(1000);
    const idem = key();
    const first = await request('POST', `/v1/cards/${issued.card.id}/redeem`, {
      token: apiKey,
      idempotencyKey: idem,
      body: { amount: 1000 },
    });
    const again = await request('POST', `/v1/cards/${issued.card.id}/redeem`, {
      token: apiKey,
      idempotencyKey: idem,
      body: { amount: 1000 },
    });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const reused = await request('POST', `/v1/cards/${issued.card.id}/redeem`, {
      token: apiKey,
      idempotencyKey: idem,
      body: { amount: 999 },
    });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await ledgerOf(issued.card.id)).filter((entry) => entry.type === 'REDEEM')).toHaveLength(1);
  });

  it('replays a card issue with the same one-time code', async () => {
    const idem = key();
    const body = { programId, type: 'PHYSICAL', amount: 2000, activate: false };
    const first = await request('POST', '/v1/cards', { token: apiKey, idempotencyKey: idem, body });
    const again = await request('POST', '/v1/cards', { token: apiKey, idempotencyKey: idem, body });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.code).toBe(first.body.code);
    expect(again.body.card.id).toBe(first.body.card.id);
  });

  it('requires an Idempotency-Key from merchants on money-moving POSTs', async () => {
    const issued = await issue(1000);
    const response = await request('POST', `/v1/cards/${issued.card.id}/redeem`, {
      token: apiKey,
      body: { amount: 100 },
    });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
  });

  it('lets support adjust with a mandatory reason, block and unblock; a merchant cannot adjust', async () => {
    const issued = await issue(1000);
    const noReason = await request('POST', `/v1/cards/${issued.card.id}/adjust`, {
      token: support,
      body: { amount: 500 },
    });
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors).toEqual([expect.objectContaining({ field: 'reason' })]);
    const adjusted = await request('POST', `/v1/cards/${issued.card.id}/adjust`, {
      token: support,
      body: { amount: -300, reason: 'till error 4411' },
    });
    expect(adjusted.status).toBe(200);
    expect(adjusted.body.transaction).toMatchObject({
      type: 'ADJUST_DECREMENT',
      amount: -300,
      reason: 'till error 4411',
      actor: { type: 'staff' },
    });
    const byMerchant = await request('POST', `/v1/cards/${issued.card.id}/adjust`, {
      token: apiKey,
      idempotencyKey: key(),
      body: { amount: 100, reason: 'x' },
    });
    expect(byMerchant.status).toBe(403);
    expect(
      (
        await request('POST', `/v1/cards/${issued.card.id}/block`, {
          token: apiKey,
          idempotencyKey: key(),
          body: { reason: 'stolen' },
        })
      ).status,
    ).toBe(200);
    const blocked = await request('POST', `/v1/cards/${issued.card.id}/redeem`, {
      token: apiKey,
      idempotencyKey: key(),
      body: { amount: 1 },
    });
    expect(blocked.body.code).toBe('CARD_BLOCKED');
    expect(
      (
        await request('POST', `/v1/cards/${issued.card.id}/unblock`, {
          token: apiKey,
          idempotencyKey: key(),
          body: {},
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await request('POST', `/v1/cards/${issued.card.id}/unblock`, {
          token: support,
          body: { reason: 'found' },
        })
      ).status,
    ).toBe(200);
    const card = await request('GET', `/v1/cards/${issued.card.id}`, { token: finance });
    expect(card.body).toMatchObject({ status: 'ACTIVE', balance: 700 });
  });

  it('lists cards for staff with filters and pages', async () => {
    const issued = await issue(500);
    const page = await request(
      'GET',
      `/v1/cards?programId=${programId}&last4=${issued.card.last4}&limit=200`,
      { token: support },
    );
    expect(page.status).toBe(200);
    expect(page.body.items.map((card: { id: string }) => card.id)).toContain(issued.card.id);
    const small = await request('GET', `/v1/cards?programId=${programId}&limit=1`, { token: support });
    expect(small.body.items).toHaveLength(1);
    expect(small.body.nextCursor).toBeTypeOf('string');
    const next = await request(
      'GET',
      `/v1/cards?programId=${programId}&limit=1&cursor=${small.body.nextCursor}`,
      { token: support },
    );
    expect(next.body.items[0].id).not.toBe(small.body.items[0].id);
    expect((await request('GET', `/v1/cards?programId=${programId}`, { token: apiKey })).status).toBe(403);
  });
});

describe('tenants', () => {
  it('a merchant of another program sees none of these cards: NOT_FOUND everywhere, nothing written', async () => {
    const program = await request('POST', '/v1/programs', {
      token: admin,
      idempotencyKey: key(),
      body: { name: 'Other retailer', currency: 'EUR' },
    });
    const merchant = await request('POST', '/v1/merchants', {
      token: admin,
      idempotencyKey: key(),
      body: { name: 'Other store', programs: [program.body.id] },
    });
    const created = await request('POST', `/v1/merchants/${merchant.body.id}/api-keys`, {
      token: admin,
      idempotencyKey: key(),
      body: {},
    });
    expect(created.status).toBe(201);
    const otherKey = created.body.apiKey as string;
    const issued = await issue(1000);
    const attempts = [
      request('GET', `/v1/cards/${issued.card.id}`, { token: otherKey }),
      request('POST', '/v1/cards/lookup', { token: otherKey, body: { code: issued.code } }),
      request('POST', `/v1/cards/${issued.card.id}/redeem`, {
        token: otherKey,
        idempotencyKey: key(),
        body: { amount: 100 },
      }),
      request('POST', `/v1/cards/${issued.card.id}/load`, {
        token: otherKey,
        idempotencyKey: key(),
        body: { amount: 100 },
      }),
      request('POST', `/v1/cards/${issued.card.id}/block`, {
        token: otherKey,
        idempotencyKey: key(),
        body: {},
      }),
      request('GET', `/v1/cards/${issued.card.id}/transactions`, { token: otherKey }),
      request('POST', '/v1/cards', {
        token: otherKey,
        idempotencyKey: key(),
        body: { programId, type: 'DIGITAL' },
      }),
    ];
    const unknown = await request('GET', `/v1/cards/gc_${'0'.repeat(26)}`, { token: otherKey });
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
      expect(Object.keys(response.body).sort()).toEqual(Object.keys(unknown.body).sort());
    }
    const ledger = await ledgerOf(issued.card.id);
    const tx = await request('GET', `/v1/transactions/${(ledger[0] as unknown as { id: string }).id}`, {
      token: otherKey,
    });
    expect(tx.status).toBe(404);
    expect(ledger).toHaveLength(2);
  });

  it('a revoked key stops working at once', async () => {
    const merchantId = stack.demo?.merchantId;
    const created = await request('POST', `/v1/merchants/${merchantId}/api-keys`, {
      token: admin,
      idempotencyKey: key(),
      body: { scopes: ['cards:read'], description: 'kiosk' },
    });
    const kiosk = created.body.apiKey as string;
    expect((await request('GET', `/v1/cards/gc_${'0'.repeat(26)}`, { token: kiosk })).status).toBe(404);
    const listed = await request('GET', `/v1/merchants/${merchantId}/api-keys`, { token: admin });
    expect(JSON.stringify(listed.body)).not.toContain(kiosk.slice(-20));
    expect(listed.body.items.find((item: { id: string }) => item.id === created.body.id)).toMatchObject({
      scopes: ['cards:read'],
      description: 'kiosk',
    });
    const revoked = await request('DELETE', `/v1/merchants/${merchantId}/api-keys/${created.body.id}`, {
      token: admin,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toBeTypeOf('string');
    const after = await request('GET', `/v1/cards/gc_${'0'.repeat(26)}`, { token: kiosk });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('UNAUTHENTICATED');
  });

  it('a read-only key may look but not spend', async () => {
    const merchantId = stack.demo?.merchantId;
    const created = await request('POST', `/v1/merchants/${merchantId}/api-keys`, {
      token: admin,
      idempotencyKey: key(),
      body: { scopes: ['cards:read'] },
    });
    const issued = await issue(1000);
    expect((await request('GET', `/v1/cards/${issued.card.id}`, { token: created.body.apiKey })).status).toBe(
      200,
    );
    const spend = await request('POST', `/v1/cards/${issued.card.id}/redeem`, {
      token: created.body.apiKey,
      idempotencyKey: key(),
      body: { amount: 1 },
    });
    expect(spend.status).toBe(403);
    expect(spend.body.code).toBe('FORBIDDEN');
  });
});
