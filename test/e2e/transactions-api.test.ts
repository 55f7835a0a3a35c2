import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

let stack: LocalStack;
let apiKey: string;
let admin: string;
let support: string;
let programId: string;

beforeAll(async () => {
  // No stream consumers: nothing here reads what they write, and they would only load DynamoDB Local.
  stack = await startTestStack({ consumers: [] });
  if (!stack.demo) throw new Error('the test stack did not seed');
  ({ apiKey, programId } = stack.demo);
  admin = stack.demo.staffTokens.admin;
  support = stack.demo.staffTokens.support;
});
afterAll(async () => stack.stop());

const post = (path: string, body: unknown, idempotencyKey: string = randomUUID(), token = apiKey) =>
  request('POST', path, { token, idempotencyKey, body });

async function cardWith(amount: number) {
  const issued = await post('/v1/cards', { programId, type: 'DIGITAL', amount, activate: true });
  expect(issued.status).toBe(201);
  return issued.body.card.id as string;
}

async function ledgerOf(cardId: string) {
  const page = await request('GET', `/v1/cards/${cardId}/transactions?limit=200`, { token: admin });
  return page.body.items as {
    id: string;
    type: string;
    amount: number;
    balanceAfter: number;
    availableAfter: number;
  }[];
}

async function expectBooksBalance(cardId: string) {
  const card = (await request('GET', `/v1/cards/${cardId}`, { token: admin })).body;
  const entries = await ledgerOf(cardId);
  expect(entries.reduce((sum, entry) => sum + entry.amount, 0)).toBe(card.balance);
  expect(card.available).toBeGreaterThanOrEqual(0);
  expect(card.available).toBeLessThanOrEqual(card.balance);
  // The newest entry carries the card's current figures.
  expect(entries[0]).toMatchObject({ balanceAfter: card.balance, availableAfter: card.available });
  return card;
}

describe('e-commerce: hold, capture, void', () => {
  it('authorises, captures part, releases the rest; the hold is visible', async () => {
    const cardId = await cardWith(10_000);
    const hold = await post(`/v1/cards/${cardId}/holds`, {
      amount: 6000,
      expiresInSeconds: 3600,
      reference: 'order-77',
    });
    expect(hold.status).toBe(201);
    expect(hold.body.hold).toMatchObject({ status: 'ACTIVE', amount: 6000, reference: 'order-77' });
    expect(hold.body.card).toMatchObject({ balance: 10_000, available: 4000 });
    const holdId = hold.body.hold.id;
    expect((await request('GET', `/v1/cards/${cardId}/holds/${holdId}`, { token: apiKey })).body.status).toBe(
      'ACTIVE',
    );
    const capture = await post(`/v1/cards/${cardId}/holds/${holdId}/capture`, { amount: 5500 });
    expect(capture.status).toBe(200);
    expect(capture.body.card).toMatchObject({ balance: 4500, available: 4500 });
    expect(capture.body.hold).toMatchObject({ status: 'CAPTURED', capturedAmount: 5500 });
    const again = await post(`/v1/cards/${cardId}/holds/${holdId}/void`, {});
    expect(again.status).toBe(409);
    const tooShort = await post(`/v1/cards/${cardId}/holds`, { amount: 100, expiresInSeconds: 5 });
    expect(tooShort.status).toBe(400);
    await expectBooksBalance(cardId);
  });
});

describe('refunds, reversals and the POS timeout reversal', () => {
  it('refund against a redemption, then reverse the rest exactly once', async () => {
    const cardId = await cardWith(5000);
    const redeem = await post(`/v1/cards/${cardId}/redeem`, { amount: 3000 });
    const txId = redeem.body.transaction.id;
    expect((await post(`/v1/cards/${cardId}/refund`, { amount: 1000, transactionId: txId })).status).toBe(
      200,
    );
    const over = await post(`/v1/cards/${cardId}/refund`, { amount: 2001, transactionId: txId });
    expect(over.body.code).toBe('LIMIT_EXCEEDED');
    const reversed = await post(`/v1/transactions/${txId}/reverse`, {});
    expect(reversed.status).toBe(200);
    expect(reversed.body).toMatchObject({
      status: 'REVERSED',
      reversal: { type: 'REVERSAL', amount: 2000, relatedTransactionId: txId },
    });
    const twice = await post(`/v1/transactions/${txId}/reverse`, {});
    expect(twice.status).toBe(409);
    const card = await expectBooksBalance(cardId);
    expect(card.balance).toBe(5000);
  });

  it('the till lost the answer: /v1/reversals undoes it, and says so again on retry', async () => {
    const cardId = await cardWith(5000);
    const lostKey = randomUUID();
    await post(`/v1/cards/${cardId}/redeem`, { amount: 1800, channel: 'POS', terminalId: 't-9' }, lostKey);
    const first = await post('/v1/reversals', { idempotencyKey: lostKey });
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('REVERSED');
    const second = await post('/v1/reversals', { idempotencyKey: lostKey });
    expect(second.body.status).toBe('ALREADY_REVERSED');
    expect(second.body.reversal.id).toBe(first.body.reversal.id);
    expect((await expectBooksBalance(cardId)).balance).toBe(5000);
  });

  it('the request never arrived: the reversal spends the key and the late request is refused', async () => {
    const cardId = await cardWith(5000);
    const lostKey = randomUUID();
    const reversal = await post('/v1/reversals', { idempotencyKey: lostKey });
    expect(reversal.body.status).toBe('NOTHING_TO_REVERSE');
    const late = await post(`/v1/cards/${cardId}/redeem`, { amount: 1800 }, lostKey);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('CONFLICT');
    expect((await expectBooksBalance(cardId)).balance).toBe(5000);
  });

  it("a merchant cannot reverse through another merchant's key space", async () => {
    const cardId = await cardWith(5000);
    const key = randomUUID();
    await post(`/v1/cards/${cardId}/redeem`, { amount: 500 }, key);
    // Support's key space is its own: the same key names nothing there.
    const bySupport = await request('POST', '/v1/reversals', {
      token: support,
      body: { idempotencyKey: key },
    });
    expect(bySupport.body.status).toBe('NOTHING_TO_REVERSE');
    expect((await expectBooksBalance(cardId)).balance).toBe(4500);
  });
});

describe('transfers and cash-out over HTTP', () => {
  it("support moves a lost card's value to its replacement in one step", async () => {
    const lost = await cardWith(3300);
    const replacement = await cardWith(500);
    expect(
      (
        await request('POST', `/v1/cards/${lost}/block`, {
          token: support,
          body: { reason: 'reported lost' },
        })
      ).status,
    ).toBe(200);
    const moved = await request('POST', `/v1/cards/${lost}/transfer`, {
      token: support,
      body: { toCardId: replacement },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.card.balance).toBe(0);
    expect(moved.body.destination.card.balance).toBe(3800);
    await expectBooksBalance(lost);
    await expectBooksBalance(replacement);
  });

  it('cash-out is refused where the program does not allow it', async () => {
    const cardId = await cardWith(900);
    const response = await post(`/v1/cards/${cardId}/cash-out`, {});
    expect(response.status).toBe(403);
  });
});

describe('everything at once on one card', () => {
  it('parallel holds, captures, voids, redemptions and refunds leave balance and available matching the ledger', async () => {
    const cardId = await cardWith(50_000);
    const holds = await Promise.all(
      Array.from({ length: 10 }, () => post(`/v1/cards/${cardId}/holds`, { amount: 1500 })),
    );
    const holdIds = holds.filter((h) => h.status === 201).map((h) => h.body.hold.id as string);
    const redeemed = await post(`/v1/cards/${cardId}/redeem`, { amount: 2000 });
    const work = [
      ...holdIds.map((id, i) =>
        post(
          `/v1/cards/${cardId}/holds/${id}/${i % 2 === 0 ? 'capture' : 'void'}`,
          i % 4 === 0 ? { amount: 700 } : {},
        ),
      ),
      ...Array.from({ length: 30 }, () =>
        post(`/v1/cards/${cardId}/redeem`, { amount: 900, allowPartial: true }),
      ),
      ...Array.from({ length: 10 }, () =>
        post(`/v1/cards/${cardId}/refund`, { amount: 300, transactionId: redeemed.body.transaction.id }),
      ),
      ...Array.from({ length: 10 }, () => post(`/v1/cards/${cardId}/holds`, { amount: 2500 })),
    ];
    const responses = await Promise.all(work);
    for (const response of responses) expect([200, 201, 409, 422]).toContain(response.status);
    const refunds = responses.slice(holdIds.length + 30, holdIds.length + 40).filter((r) => r.status === 200);
    expect(refunds.length).toBeLessThanOrEqual(6);
    await expectBooksBalance(cardId);
  }, 240_000);
});
