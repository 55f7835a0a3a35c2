import { randomUUID } from 'node:crypto';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfigForTests } from '../../functions/config';
import { dynamoDbClient } from '../../local/dynamodb';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

let stack: LocalStack;
let apiKey: string;
let admin: string;
let support: string;
let pinProgramId: string;

beforeAll(async () => {
  // These tests count PIN attempts: lift the failed-check limits of the demo key out of the way (the
  // tests of the limits make keys of their own and lower them).
  process.env.FAILED_CHECKS_LIMIT_PER_CALLER = '1000';
  process.env.FAILED_CHECKS_LIMIT_PER_MERCHANT = '1000';
  // No stream consumers: nothing here reads what they write, and they would only load DynamoDB Local.
  stack = await startTestStack({ consumers: [] });
  if (!stack.demo) throw new Error('the test stack did not seed');
  apiKey = stack.demo.apiKey;
  admin = stack.demo.staffTokens.admin;
  support = stack.demo.staffTokens.support;
  const program = await request('POST', '/v1/programs', {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { name: 'PIN cards', currency: 'USD', pinPolicy: 'ALWAYS' },
  });
  pinProgramId = program.body.id;
  const merchantId = stack.demo.merchantId;
  const merchant = await request('GET', `/v1/merchants/${merchantId}`, { token: admin });
  await request('PATCH', `/v1/merchants/${merchantId}`, {
    token: admin,
    body: { programs: [...merchant.body.programIds, pinProgramId] },
  });
});
afterAll(async () => {
  await stack.stop();
  delete process.env.FAILED_CHECKS_LIMIT_PER_CALLER;
  delete process.env.FAILED_CHECKS_LIMIT_PER_MERCHANT;
});

/** A fresh API key of the demo merchant: its failed checks start from nothing. */
async function newApiKey(): Promise<string> {
  const created = await request('POST', `/v1/merchants/${stack.demo?.merchantId}/api-keys`, {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { description: 'PIN limit test' },
  });
  expect(created.status).toBe(201);
  return created.body.apiKey as string;
}

/** Runs `body` with the per-caller failed-check limit lowered to `limit`. */
async function withCallerLimit(limit: number, body: () => Promise<void>): Promise<void> {
  process.env.FAILED_CHECKS_LIMIT_PER_CALLER = String(limit);
  resetConfigForTests();
  try {
    await body();
  } finally {
    process.env.FAILED_CHECKS_LIMIT_PER_CALLER = '1000';
    resetConfigForTests();
  }
}

const post = (path: string, body: unknown, token = apiKey) =>
  request('POST', path, { token, idempotencyKey: randomUUID(), body });

async function pinCard(pin = '2580') {
  const issued = await post('/v1/cards', {
    programId: pinProgramId,
    type: 'PHYSICAL',
    amount: 5000,
    activate: true,
  });
  expect(issued.status).toBe(201);
  const set = await request('PUT', `/v1/cards/${issued.body.card.id}/pin`, { token: apiKey, body: { pin } });
  expect(set.status).toBe(200);
  expect(set.body.transaction.type).toBe('PIN_SET');
  return { cardId: issued.body.card.id as string, code: issued.body.code as string };
}

describe('PINs', () => {
  it("wrong PINs count against the caller's failed-check limit (429 with Retry-After); right ones never", async () => {
    const { cardId } = await pinCard('5173');
    const other = await pinCard('5173');
    const key = await newApiKey();
    await withCallerLimit(3, async () => {
      const verify = (id: string, pin: string) => post(`/v1/cards/${id}/pin/verify`, { pin }, key);
      // Right PINs are not failures: as many as the caller likes.
      for (let i = 0; i < 5; i++) expect((await verify(cardId, '5173')).status).toBe(204);
      expect((await verify(cardId, '1470')).body.code).toBe('PIN_INVALID');
      expect((await verify(cardId, '1470')).body.code).toBe('PIN_INVALID');
      expect((await verify(other.cardId, '1470')).body.code).toBe('PIN_INVALID');
      // Three failures across two cards: the key is stopped, for the right PIN too, on any card.
      const refused = await verify(other.cardId, '5173');
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await verify(cardId, '1470')).status).toBe(429);
      // Another key of the same merchant is not stopped by this key's failures.
      expect((await post(`/v1/cards/${cardId}/pin/verify`, { pin: '5173' })).status).toBe(204);
    });
  });

  it('a program that requires a PIN refuses redemption without the right one', async () => {
    const { cardId } = await pinCard();
    expect((await post(`/v1/cards/${cardId}/redeem`, { amount: 100 })).body.code).toBe('PIN_REQUIRED');
    expect((await post(`/v1/cards/${cardId}/redeem`, { amount: 100, pin: '1111' })).body.code).toBe(
      'PIN_INVALID',
    );
    const ok = await post(`/v1/cards/${cardId}/redeem`, { amount: 100, pin: '2580' });
    expect(ok.status).toBe(200);
    expect(ok.body.card.balance).toBe(4900);
    // Support, in the console, acts without the holder's PIN.
    expect((await post(`/v1/cards/${cardId}/redeem`, { amount: 100 }, support)).status).toBe(200);
  });

  it('refuses guessable new PINs', async () => {
    const issued = await post('/v1/cards', {
      programId: pinProgramId,
      type: 'DIGITAL',
      amount: 1000,
      activate: true,
    });
    for (const pin of ['1234', '0000', '9876', '12']) {
      const response = await request('PUT', `/v1/cards/${issued.body.card.id}/pin`, {
        token: apiKey,
        body: { pin },
      });
      expect(response.status, pin).toBe(400);
    }
  });

  it('a lookup refused by the limit checks no PIN (spends no attempt); one without a PIN still answers 429', async () => {
    const { cardId, code } = await pinCard('3141');
    const key = await newApiKey();
    await withCallerLimit(2, async () => {
      const statuses = [];
      for (let i = 0; i < 5; i++)
        statuses.push(
          (await request('POST', '/v1/cards/lookup', { token: key, body: { code, pin: '0000' } })).status,
        );
      // Wrong PIN: the same 404 as an unknown code, twice; then the key has no room for a failure.
      expect(statuses).toEqual([404, 404, 429, 429, 429]);
      const withoutPin = await request('POST', '/v1/cards/lookup', { token: key, body: { code } });
      expect(withoutPin.status).toBe(429);
      expect(withoutPin.body).toMatchObject({ code: 'RATE_LIMITED' });
      const client = dynamoDbClient(stack.dynamodbEndpoint);
      const stored = await client.send(
        new GetItemCommand({
          TableName: stack.tableName,
          Key: { PK: { S: `CARD#${cardId}` }, SK: { S: 'PIN' } },
        }),
      );
      client.destroy();
      expect(stored.Item?.failures).toEqual({ N: '2' });
    });
  });

  it('parallel wrong guesses lock the PIN at exactly 5 attempts; the right PIN then fails too until support resets', async () => {
    const { cardId } = await pinCard('4826');
    const guesses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => post(`/v1/cards/${cardId}/pin/verify`, { pin: String(5000 + i) })),
    );
    const codes = guesses.map((g) => g.body?.code);
    // Four wrong answers, then the fifth attempt locks; every other guess is refused unchecked.
    expect(codes.filter((code) => code === 'PIN_INVALID')).toHaveLength(4);
    expect(codes.filter((code) => code === 'PIN_INVALID' || code === 'PIN_LOCKED')).toHaveLength(30);
    const client = dynamoDbClient(stack.dynamodbEndpoint);
    const stored = await client.send(
      new GetItemCommand({
        TableName: stack.tableName,
        Key: { PK: { S: `CARD#${cardId}` }, SK: { S: 'PIN' } },
      }),
    );
    client.destroy();
    // Exactly five attempts were spent, however many guesses ran at once.
    expect(stored.Item?.failures).toEqual({ N: '5' });
    const right = await post(`/v1/cards/${cardId}/pin/verify`, { pin: '4826' });
    expect(right.body.code).toBe('PIN_LOCKED');
    expect((await post(`/v1/cards/${cardId}/redeem`, { amount: 100, pin: '4826' })).body.code).toBe(
      'PIN_LOCKED',
    );
    const byMerchant = await post(`/v1/cards/${cardId}/pin/reset`, { reason: 'x' });
    expect(byMerchant.status).toBe(403);
    const reset = await request('POST', `/v1/cards/${cardId}/pin/reset`, {
      token: support,
      body: { reason: 'holder called, identity checked', pin: '7319' },
    });
    expect(reset.status).toBe(200);
    expect(reset.body.transaction).toMatchObject({
      type: 'PIN_RESET',
      reason: 'holder called, identity checked',
    });
    expect((await post(`/v1/cards/${cardId}/pin/verify`, { pin: '7319' })).status).toBe(204);
  });

  it('a right PIN gives the attempts back', async () => {
    const { cardId } = await pinCard('3692');
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++)
        expect((await post(`/v1/cards/${cardId}/pin/verify`, { pin: '1470' })).body.code).toBe('PIN_INVALID');
      expect((await post(`/v1/cards/${cardId}/pin/verify`, { pin: '3692' })).status).toBe(204);
    }
  });

  it('a merchant changing a PIN must give the current one', async () => {
    const { cardId } = await pinCard('2580');
    const without = await request('PUT', `/v1/cards/${cardId}/pin`, { token: apiKey, body: { pin: '8642' } });
    expect(without.body.code).toBe('PIN_REQUIRED');
    const wrong = await request('PUT', `/v1/cards/${cardId}/pin`, {
      token: apiKey,
      body: { pin: '8642', currentPin: '1111' },
    });
    expect(wrong.body.code).toBe('PIN_INVALID');
    const right = await request('PUT', `/v1/cards/${cardId}/pin`, {
      token: apiKey,
      body: { pin: '8642', currentPin: '2580' },
    });
    expect(right.status).toBe(200);
  });

  it('no oracle: to a merchant, a wrong PIN, no PIN and an unknown code look the same on lookup', async () => {
    const { code } = await pinCard('2580');
    const unknown = await post('/v1/cards/lookup', { code: '4539578763621486', pin: '2580' });
    const wrongPin = await post('/v1/cards/lookup', { code, pin: '1357' });
    const noPin = await post('/v1/cards/lookup', { code });
    for (const response of [unknown, wrongPin, noPin]) {
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('NOT_FOUND');
      expect(response.body.detail).toBe(unknown.body.detail);
      expect(Object.keys(response.body).sort()).toEqual(Object.keys(unknown.body).sort());
    }
    const right = await post('/v1/cards/lookup', { code, pin: '2580' });
    expect(right.status).toBe(200);
    const staff = await request('POST', '/v1/cards/lookup', { token: support, body: { code, pin: '1357' } });
    expect(staff.body.code).toBe('PIN_INVALID');
  });

  it('no PIN is stored or kept in clear anywhere in the table', async () => {
    await pinCard('8024');
    const client = dynamoDbClient(stack.dynamodbEndpoint);
    const items = await client.send(new ScanCommand({ TableName: stack.tableName }));
    client.destroy();
    // A card's last 4 digits are shown anyway, and equal a PIN here by chance once in 10,000 cards.
    const dump = JSON.stringify(items.Items?.map(({ last4: _shown, ...item }) => item));
    for (const pin of ['8024', '2580', '4826', '7319', '3692', '8642'])
      expect(dump).not.toMatch(new RegExp(`"S":"${pin}"`));
  });
});
