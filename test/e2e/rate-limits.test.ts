import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/** Lowered for the test (functions/config.ts reads them; the stack resets the parsed config). */
const PER_KEY = 8;
const PER_CARD = 3;

let stack: LocalStack;
let apiKey: string;
let admin: string;
let support: string;
let programId: string;
let merchantId: string;

beforeAll(async () => {
  process.env.RATE_LIMIT_LOOKUP_PER_KEY_PER_MINUTE = String(PER_KEY);
  process.env.RATE_LIMIT_LOOKUP_PER_CARD_PER_MINUTE = String(PER_CARD);
  stack = await startTestStack();
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  ({ apiKey, programId, merchantId } = demo);
  admin = demo.staffTokens.admin;
  support = demo.staffTokens.support;
});
afterAll(async () => {
  await stack.stop();
  delete process.env.RATE_LIMIT_LOOKUP_PER_KEY_PER_MINUTE;
  delete process.env.RATE_LIMIT_LOOKUP_PER_CARD_PER_MINUTE;
});

async function newApiKey(): Promise<string> {
  const created = await request('POST', `/v1/merchants/${merchantId}/api-keys`, {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { description: 'rate limit test' },
  });
  expect(created.status).toBe(201);
  return created.body.apiKey as string;
}

async function issue(token: string) {
  const response = await request('POST', '/v1/cards', {
    token,
    idempotencyKey: randomUUID(),
    body: { programId, type: 'DIGITAL', amount: 1000, activate: true },
  });
  expect(response.status).toBe(201);
  return response.body as { card: { id: string }; code: string };
}

const randomCode = () => Array.from({ length: 16 }, () => String(randomInt(10))).join('');
const lookup = (token: string, code: string) =>
  request('POST', '/v1/cards/lookup', { token, body: { code } });

function expectRateLimited(response: Awaited<ReturnType<typeof request>>) {
  expect(response.status).toBe(429);
  expect(response.headers['content-type']).toBe('application/problem+json');
  expect(response.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  const retryAfter = response.headers['retry-after'] ?? '';
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
}

describe('lookups by code are rate limited per API key', () => {
  it('a brute-force loop of random codes is stopped with 429 and Retry-After; another key is unaffected', async () => {
    const attacker = await newApiKey();
    const victim = await issue(apiKey);
    const statuses: number[] = [];
    let first429: Awaited<ReturnType<typeof request>> | undefined;
    for (let i = 0; i < 30; i++) {
      const response = await lookup(attacker, randomCode());
      statuses.push(response.status);
      if (response.status === 429) first429 ??= response;
    }
    expect(statuses.slice(0, PER_KEY)).toEqual(Array(PER_KEY).fill(404));
    expect(statuses.slice(PER_KEY)).toEqual(Array(30 - PER_KEY).fill(429));
    if (!first429) throw new Error('never rate limited');
    expectRateLimited(first429);
    // Even a right code gets no answer while the key is over its limit.
    expectRateLimited(await lookup(attacker, victim.code));

    // Another key (same merchant even) has its own bucket.
    const honest = await lookup(apiKey, victim.code);
    expect(honest.status).toBe(200);
    expect(honest.body.id).toBe(victim.card.id);
    // Routes without a limit are not affected by the lookup limit.
    expect((await request('GET', `/v1/cards/${victim.card.id}`, { token: attacker })).status).toBe(200);
  });

  it('parallel bursts do not get past the limit', async () => {
    const key = await newApiKey();
    const responses = await Promise.all(Array.from({ length: 40 }, () => lookup(key, randomCode())));
    const counts = responses.reduce<Record<number, number>>((all, r) => {
      all[r.status] = (all[r.status] ?? 0) + 1;
      return all;
    }, {});
    expect(counts).toEqual({ 404: PER_KEY, 429: 40 - PER_KEY });
  });

  it('staff users are limited per user, too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < PER_KEY + 2; i++) statuses.push((await lookup(support, randomCode())).status);
    expect(statuses).toEqual([...Array(PER_KEY).fill(404), 429, 429]);
  });
});

describe('lookups are rate limited per card, across keys', () => {
  it('one card answers PER_CARD lookups a minute whoever asks; other cards still answer', async () => {
    const card = await issue(apiKey);
    const other = await issue(apiKey);
    const [first, second] = [await newApiKey(), await newApiKey()];
    for (let i = 0; i < PER_CARD - 1; i++) expect((await lookup(first, card.code)).status).toBe(200);
    expect((await lookup(second, card.code)).status).toBe(200);
    expectRateLimited(await lookup(second, card.code));
    expectRateLimited(await lookup(first, card.code));
    // The same card written with spaces is the same card.
    const spaced = card.code.replace(/(\d{4})(?=\d)/g, '$1 ');
    expectRateLimited(await lookup(first, spaced));
    expect((await lookup(second, other.code)).status).toBe(200);
  });
});

describe('the API reference', () => {
  it('documents 429 with Retry-After on the limited route only', async () => {
    const doc = await request('GET', '/openapi.json');
    expect(doc.body.paths['/v1/cards/lookup'].post.responses['429']).toEqual({
      $ref: '#/components/responses/RateLimited',
    });
    expect(doc.body.paths['/v1/cards/{cardId}'].get.responses['429']).toBeUndefined();
    expect(doc.body.components.responses.RateLimited.headers['Retry-After']).toBeDefined();
  });
});
