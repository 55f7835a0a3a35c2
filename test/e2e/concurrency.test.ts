import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

let stack: LocalStack;
let apiKey: string;
let admin: string;
let programId: string;

beforeAll(async () => {
  // Hundreds of requests on one card queue behind each other; on a busy 2-core machine they may take
  // longer than API Gateway's 29 s, which is not what this file tests (money under concurrency).
  // No stream consumers: nothing here reads what they write, and they would only load DynamoDB Local.
  stack = await startTestStack({ requestTimeoutMs: 600_000, consumers: [] });
  if (!stack.demo) throw new Error('the test stack did not seed');
  ({ apiKey, programId } = stack.demo);
  admin = stack.demo.staffTokens.admin;
});
afterAll(async () => stack.stop());

async function cardWith(amount: number) {
  const issued = await request('POST', '/v1/cards', {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body: { programId, type: 'DIGITAL', amount, activate: true },
  });
  expect(issued.status).toBe(201);
  return issued.body.card.id as string;
}

async function ledger(cardId: string) {
  const entries: { type: string; amount: number; balanceAfter: number }[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${cursor}` : '';
    const page = await request('GET', `/v1/cards/${cardId}/transactions?limit=200${query}`, { token: admin });
    entries.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return entries;
}

const tally = (statuses: string[]) =>
  statuses.reduce<Record<string, number>>((counts, status) => {
    counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }, {});

describe('one card under fire', () => {
  it('500 parallel redemptions of 1.00 on 100.00: exactly 100 succeed, the rest INSUFFICIENT_FUNDS', async () => {
    const cardId = await cardWith(10_000);
    const responses = await Promise.all(
      Array.from({ length: 500 }, () =>
        request('POST', `/v1/cards/${cardId}/redeem`, {
          token: apiKey,
          idempotencyKey: randomUUID(),
          body: { amount: 100 },
        }),
      ),
    );
    // Status and code, so a gateway timeout (504 INTERNAL) is told apart from a handler error (500).
    expect(tally(responses.map((r) => (r.status === 200 ? 'OK' : `${r.status} ${r.body.code}`)))).toEqual({
      OK: 100,
      '422 INSUFFICIENT_FUNDS': 400,
    });
    const card = await request('GET', `/v1/cards/${cardId}`, { token: admin });
    expect(card.body).toMatchObject({ balance: 0, available: 0 });
    const entries = await ledger(cardId);
    expect(entries.reduce((sum, entry) => sum + entry.amount, 0)).toBe(0);
    expect(entries.filter((entry) => entry.type === 'REDEEM')).toHaveLength(100);
    // Every balance from 99.00 down to 0 appears exactly once: no two redemptions saw the same balance.
    const balances = entries.filter((entry) => entry.type === 'REDEEM').map((entry) => entry.balanceAfter);
    expect(new Set(balances).size).toBe(100);
  }, 600_000);

  it('100 parallel retries of one Idempotency-Key debit exactly once and all answer alike', async () => {
    const cardId = await cardWith(5_000);
    const idempotencyKey = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        request('POST', `/v1/cards/${cardId}/redeem`, {
          token: apiKey,
          idempotencyKey,
          body: { amount: 700 },
        }),
      ),
    );
    const succeeded = responses.filter((response) => response.status === 200);
    expect(succeeded).toHaveLength(100);
    const ids = new Set(succeeded.map((response) => response.body.transaction.id));
    expect(ids.size).toBe(1);
    expect(responses.filter((response) => response.headers['idempotent-replayed'] === 'true')).toHaveLength(
      99,
    );
    const entries = await ledger(cardId);
    expect(entries.filter((entry) => entry.type === 'REDEEM')).toHaveLength(1);
    expect((await request('GET', `/v1/cards/${cardId}`, { token: admin })).body.balance).toBe(4_300);
  }, 600_000);

  it('mixed loads, redemptions and adjustments in parallel keep balance = ledger and never go negative', async () => {
    const cardId = await cardWith(2_000);
    const support = stack.demo?.staffTokens.support ?? '';
    const work = Array.from({ length: 150 }, (_, i) => {
      if (i % 5 === 0)
        return request('POST', `/v1/cards/${cardId}/load`, {
          token: apiKey,
          idempotencyKey: randomUUID(),
          body: { amount: 500 },
        });
      if (i % 7 === 0)
        return request('POST', `/v1/cards/${cardId}/adjust`, {
          token: support,
          body: { amount: -50, reason: 'count correction' },
        });
      return request('POST', `/v1/cards/${cardId}/redeem`, {
        token: apiKey,
        idempotencyKey: randomUUID(),
        body: { amount: 300, allowPartial: i % 2 === 0 },
      });
    });
    const responses = await Promise.all(work);
    for (const response of responses) expect([200, 422]).toContain(response.status);
    const entries = await ledger(cardId);
    const card = (await request('GET', `/v1/cards/${cardId}`, { token: admin })).body;
    expect(entries.reduce((sum, entry) => sum + entry.amount, 0)).toBe(card.balance);
    expect(entries.every((entry) => entry.balanceAfter >= 0)).toBe(true);
    expect(entries).toHaveLength(2 + responses.filter((response) => response.status === 200).length);
  }, 600_000);
});
