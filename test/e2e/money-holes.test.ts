import { randomUUID } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDbClient } from '../../local/dynamodb';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * The card-verb policy's holes as they were found on main (8e5ec49), each tried the way an attacker or
 * a careless till would, through HTTP: every one must now be refused, or replayed, as the policy says.
 */
let stack: LocalStack;
let admin: string;
let support: string;
/** Two merchants sharing one program (cashOut enabled, PIN always). */
let programId: string;
let merchantA: string;
let merchantB: string;

const post = (path: string, token: string, body: unknown, idempotencyKey: string = randomUUID()) =>
  request('POST', path, { token, idempotencyKey, body });

async function merchantWithKey(name: string): Promise<string> {
  const merchant = await post('/v1/merchants', admin, { name, programs: [programId] });
  expect(merchant.status).toBe(201);
  const key = await post(`/v1/merchants/${merchant.body.id}/api-keys`, admin, {});
  expect(key.status).toBe(201);
  return key.body.apiKey as string;
}

beforeAll(async () => {
  // No stream consumers: nothing here reads what they write, and they would only load DynamoDB Local.
  stack = await startTestStack({ consumers: [] });
  if (!stack.demo) throw new Error('the test stack did not seed');
  admin = stack.demo.staffTokens.admin;
  support = stack.demo.staffTokens.support;
  const program = await post('/v1/programs', admin, {
    name: 'Shared, PIN always',
    currency: 'USD',
    pinPolicy: 'ALWAYS',
    cashOut: { enabled: true },
    expiryPolicy: { type: 'MONTHS_AFTER_LAST_LOAD', months: 12 },
  });
  expect(program.status).toBe(201);
  programId = program.body.id;
  merchantA = await merchantWithKey('Merchant A');
  merchantB = await merchantWithKey('Merchant B');
});
afterAll(async () => stack.stop());

async function cardOf(token: string, amount: number, pin?: string): Promise<string> {
  const issued = await post('/v1/cards', token, { programId, type: 'DIGITAL', amount, activate: true });
  expect(issued.status).toBe(201);
  const cardId = issued.body.card.id as string;
  if (pin) {
    const set = await request('PUT', `/v1/cards/${cardId}/pin`, { token, body: { pin } });
    expect(set.status).toBe(200);
  }
  return cardId;
}

const getCard = async (cardId: string) =>
  (await request('GET', `/v1/cards/${cardId}`, { token: admin })).body;
const seqOf = async (cardId: string) =>
  (await request('GET', `/v1/cards/${cardId}/transactions?limit=1`, { token: admin })).body.items[0]?.id;

/** Sets a card item's attribute straight in the table (what no API allows: an expiry in the past). */
async function setCardAttribute(cardId: string, name: string, value: string): Promise<void> {
  const client = dynamoDbClient(stack.dynamodbEndpoint);
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: stack.tableName,
        Key: { PK: { S: `CARD#${cardId}` }, SK: { S: 'CARD' } },
        UpdateExpression: 'SET #name = :value',
        ExpressionAttributeNames: { '#name': name },
        ExpressionAttributeValues: { ':value': { S: value } },
      }),
    );
  } finally {
    client.destroy();
  }
}

describe('1. a transfer off a PIN-protected card takes its PIN', () => {
  it('refuses no PIN and a wrong PIN, writes nothing, and moves the value with the right one', async () => {
    const from = await cardOf(merchantA, 5000, '4821');
    const to = await cardOf(merchantA, 100, '9911');
    const before = await seqOf(from);
    const none = await post(`/v1/cards/${from}/transfer`, merchantA, { toCardId: to });
    expect([none.status, none.body.code]).toEqual([401, 'PIN_REQUIRED']);
    const wrong = await post(`/v1/cards/${from}/transfer`, merchantA, { toCardId: to, pin: '0000' });
    expect([wrong.status, wrong.body.code]).toEqual([401, 'PIN_INVALID']);
    expect(await seqOf(from)).toBe(before);
    expect((await getCard(from)).balance).toBe(5000);
    const right = await post(`/v1/cards/${from}/transfer`, merchantA, { toCardId: to, pin: '4821' });
    expect(right.status).toBe(200);
    expect(right.body.card.balance).toBe(0);
    expect(right.body.destination.card.balance).toBe(5100);
  });
});

describe('2. cash-out only of an active, unexpired card', () => {
  it('refuses a blocked card and an expired one, and writes nothing', async () => {
    const blocked = await cardOf(merchantA, 800, '1357');
    expect((await post(`/v1/cards/${blocked}/block`, support, { reason: 'reported stolen' })).status).toBe(
      200,
    );
    const before = await seqOf(blocked);
    const cash = await post(`/v1/cards/${blocked}/cash-out`, merchantA, { pin: '1357' });
    expect([cash.status, cash.body.code]).toEqual([422, 'CARD_BLOCKED']);
    expect(await seqOf(blocked)).toBe(before);

    const expired = await cardOf(merchantA, 800, '2468');
    await setCardAttribute(expired, 'expiresAt', '2020-01-01T00:00:00.000Z');
    const late = await post(`/v1/cards/${expired}/cash-out`, merchantA, { pin: '2468' });
    expect([late.status, late.body.code]).toEqual([422, 'CARD_EXPIRED']);
    const bySupport = await post(`/v1/cards/${expired}/cash-out`, support, { reason: 'customer asked' });
    expect([bySupport.status, bySupport.body.code]).toEqual([422, 'CARD_EXPIRED']);
    expect((await getCard(expired)).balance).toBe(800);
  });
});

describe("3. a merchant acts only on its own entries and holds, even on a shared program's card", () => {
  it("another merchant cannot reverse, refund against, read, capture or void A's", async () => {
    const cardId = await cardOf(merchantA, 10_000, '8642');
    const redeemed = await post(`/v1/cards/${cardId}/redeem`, merchantA, {
      amount: 2500,
      pin: '8642',
      reference: 'A-receipt-1',
      terminalId: 'A-till-7',
    });
    expect(redeemed.status).toBe(200);
    const txId = redeemed.body.transaction.id as string;
    const held = await post(`/v1/cards/${cardId}/holds`, merchantA, { amount: 1000, pin: '8642' });
    expect(held.status).toBe(201);
    const holdId = held.body.hold.id as string;
    const before = await seqOf(cardId);

    for (const [method, path, body] of [
      ['POST', `/v1/transactions/${txId}/reverse`, {}],
      ['POST', `/v1/cards/${cardId}/refund`, { amount: 100, transactionId: txId }],
      ['GET', `/v1/transactions/${txId}`, undefined],
      ['POST', `/v1/cards/${cardId}/holds/${holdId}/capture`, {}],
      ['POST', `/v1/cards/${cardId}/holds/${holdId}/void`, {}],
      ['GET', `/v1/cards/${cardId}/holds/${holdId}`, undefined],
    ] as const) {
      const answer = await request(method, path, {
        token: merchantB,
        ...(method === 'POST' ? { idempotencyKey: randomUUID(), body } : {}),
      });
      expect([path, answer.status, answer.body.code]).toEqual([path, 404, 'NOT_FOUND']);
    }
    expect(await seqOf(cardId)).toBe(before);
    // B still sees the card's history, but not A's reference, store or till.
    const history = await request('GET', `/v1/cards/${cardId}/transactions`, { token: merchantB });
    const seenByB = history.body.items.find((entry: { id: string }) => entry.id === txId);
    expect(seenByB).toMatchObject({ amount: -2500, reference: null, terminalId: null, merchantId: null });
    // A itself may do all of it.
    expect((await post(`/v1/cards/${cardId}/holds/${holdId}/void`, merchantA, {})).status).toBe(200);
    expect((await post(`/v1/transactions/${txId}/reverse`, merchantA, {})).status).toBe(200);
  });
});

describe('4. a reversal honours its Idempotency-Key', () => {
  it('replays the committed reversal, and a timeout reversal of that key says what it did', async () => {
    const cardId = await cardOf(merchantA, 5000, '1122');
    const redeemed = await post(`/v1/cards/${cardId}/redeem`, merchantA, { amount: 1500, pin: '1122' });
    const key = randomUUID();
    const first = await post(`/v1/transactions/${redeemed.body.transaction.id}/reverse`, merchantA, {}, key);
    expect(first.status).toBe(200);
    const retry = await post(`/v1/transactions/${redeemed.body.transaction.id}/reverse`, merchantA, {}, key);
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.reversal.id).toBe(first.body.reversal.id);
    const timeout = await post('/v1/reversals', merchantA, { idempotencyKey: key });
    expect([timeout.status, timeout.body.code]).toEqual([409, 'CONFLICT']);
    expect(timeout.body.detail).toContain('REVERSAL');
    expect((await getCard(cardId)).balance).toBe(5000);
  });
});

describe('5. a timeout reversal of a hold capture gives the money back', () => {
  it('reverses the capture, once', async () => {
    const cardId = await cardOf(merchantA, 5000, '3344');
    const held = await post(`/v1/cards/${cardId}/holds`, merchantA, { amount: 2000, pin: '3344' });
    const key = randomUUID();
    const captured = await post(`/v1/cards/${cardId}/holds/${held.body.hold.id}/capture`, merchantA, {}, key);
    expect(captured.status).toBe(200);
    expect((await getCard(cardId)).balance).toBe(3000);
    const timeout = await post('/v1/reversals', merchantA, { idempotencyKey: key });
    expect([timeout.status, timeout.body.status]).toEqual([200, 'REVERSED']);
    expect(timeout.body.reversed.type).toBe('CAPTURE');
    const again = await post('/v1/reversals', merchantA, { idempotencyKey: key });
    expect(again.body.status).toBe('ALREADY_REVERSED');
    expect(await getCard(cardId)).toMatchObject({ balance: 5000, available: 5000 });
  });
});
