import { randomInt, randomUUID } from 'node:crypto';
import { QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDbClient } from '../../local/dynamodb';
import type { LocalStack } from '../../local/stack';
import { request, type TestResponse } from '../support/http';
import { startTestStack } from '../support/stack';

/** Lowered for the test (functions/config.ts reads them; the stack resets the parsed config). */
const PER_CALLER = 8;
const PER_MERCHANT = 20;

let stack: LocalStack;
let admin: string;
let support: string;
let programId: string;
let pinProgramId: string;

beforeAll(async () => {
  process.env.FAILED_CHECKS_LIMIT_PER_CALLER = String(PER_CALLER);
  process.env.FAILED_CHECKS_LIMIT_PER_MERCHANT = String(PER_MERCHANT);
  stack = await startTestStack();
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  programId = demo.programId;
  admin = demo.staffTokens.admin;
  support = demo.staffTokens.support;
  const pinProgram = await request('POST', '/v1/programs', {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { name: 'PIN cards', currency: 'USD', pinPolicy: 'ALWAYS' },
  });
  expect(pinProgram.status).toBe(201);
  pinProgramId = pinProgram.body.id;
});
afterAll(async () => {
  await stack.stop();
  delete process.env.FAILED_CHECKS_LIMIT_PER_CALLER;
  delete process.env.FAILED_CHECKS_LIMIT_PER_MERCHANT;
});

interface Merchant {
  readonly id: string;
  newKey(): Promise<string>;
}

/**
 * A merchant of its own (so its counts start from nothing), on the high-volume usage plan so the local
 * gateway's per-merchant volume limit stays out of the way of hundreds of parallel requests.
 */
async function newMerchant(extra: Record<string, unknown> = {}, programs = [programId, pinProgramId]) {
  const created = await request('POST', '/v1/merchants', {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { name: 'Till chain', programs, usagePlan: 'high-volume', ...extra },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const merchant: Merchant = {
    id,
    newKey: async () => {
      const key = await request('POST', `/v1/merchants/${id}/api-keys`, {
        token: admin,
        idempotencyKey: randomUUID(),
        body: { description: 'tills' },
      });
      expect(key.status).toBe(201);
      return key.body.apiKey as string;
    },
  };
  return merchant;
}

async function issue(token: string, program = programId) {
  const response = await request('POST', '/v1/cards', {
    token,
    idempotencyKey: randomUUID(),
    body: { programId: program, type: 'DIGITAL', amount: 1000, activate: true },
  });
  expect(response.status).toBe(201);
  return response.body as { card: { id: string }; code: string };
}

const randomCode = () => Array.from({ length: 16 }, () => String(randomInt(10))).join('');
const lookup = (token: string, code: string, pin?: string) =>
  request('POST', '/v1/cards/lookup', { token, body: { code, ...(pin ? { pin } : {}) } });

function statusCounts(responses: readonly TestResponse[]): Record<number, number> {
  return responses.reduce<Record<number, number>>((all, r) => {
    all[r.status] = (all[r.status] ?? 0) + 1;
    return all;
  }, {});
}

function expectRateLimited(response: TestResponse) {
  expect(response.status).toBe(429);
  expect(response.headers['content-type']).toBe('application/problem+json');
  expect(response.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  const retryAfter = response.headers['retry-after'] ?? '';
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(1200);
}

/** The merchant's failed-check counter items, as stored. */
async function counters(merchantId: string) {
  const client = dynamoDbClient(stack.dynamodbEndpoint);
  try {
    const out = await client.send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': { S: `FRAUD#caller#merchant#${merchantId}` } },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((item) => unmarshall(item));
  } finally {
    client.destroy();
  }
}
const totalCount = async (merchantId: string) =>
  (await counters(merchantId)).reduce((sum, item) => sum + Number(item.count ?? 0), 0);

describe('lookups by code: failures are limited per API key', () => {
  it('a brute-force loop of unknown codes is stopped after the limit and stays stopped; 429s count nothing', async () => {
    const merchant = await newMerchant();
    const attacker = await merchant.newKey();
    const victim = await issue(attacker);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await lookup(attacker, randomCode())).status);
    expect(statuses).toEqual([...Array(PER_CALLER).fill(404), ...Array(30 - PER_CALLER).fill(429)]);
    expectRateLimited(await lookup(attacker, randomCode()));
    // Even a right code gets no answer while the key is over its limit.
    expectRateLimited(await lookup(attacker, victim.code));
    // Only the failures that were answered 404 were written; the 429s wrote nothing.
    expect(await totalCount(merchant.id)).toBe(PER_CALLER);

    // Another key of the same merchant has its own count; routes without a limit are not affected.
    const honest = await merchant.newKey();
    const found = await lookup(honest, victim.code);
    expect(found.status).toBe(200);
    expect(found.body.id).toBe(victim.card.id);
    expect((await request('GET', `/v1/cards/${victim.card.id}`, { token: attacker })).status).toBe(200);
  });

  it('300 unknown codes at once from one key: exactly the limit is answered 404, the rest 429', async () => {
    const merchant = await newMerchant();
    const key = await merchant.newKey();
    const responses = await Promise.all(Array.from({ length: 300 }, () => lookup(key, randomCode())));
    // The bound on failed answers is exact however many run at once: the counter's write condition
    // refuses every failure past the limit (answered 429, counted nowhere).
    expect(statusCounts(responses)).toEqual({ 404: PER_CALLER, 429: 300 - PER_CALLER });
    expect(await totalCount(merchant.id)).toBe(PER_CALLER);
  });

  it("a merchant's keys together stop at the merchant's limit", async () => {
    const merchant = await newMerchant();
    const keys = await Promise.all(Array.from({ length: 4 }, () => merchant.newKey()));
    const responses = await Promise.all(
      keys.flatMap((key) => Array.from({ length: PER_CALLER }, () => lookup(key, randomCode()))),
    );
    // 4 keys x 8 failures would be 32: the merchant's 20 stop them.
    expect(statusCounts(responses)).toEqual({ 404: PER_MERCHANT, 429: 4 * PER_CALLER - PER_MERCHANT });
    expectRateLimited(await lookup(await merchant.newKey(), randomCode()));
  });

  it('failures counted by other instances stop the key here: its next miss is 429 and counts nothing, then a right code too', async () => {
    const merchant = await newMerchant();
    const key = await merchant.newKey();
    const card = await issue(key);
    expect((await lookup(key, card.code)).status).toBe(200);
    // Other instances answered the key's failures meanwhile: its count for this window is at the limit.
    const client = dynamoDbClient(stack.dynamodbEndpoint);
    const windowStart = new Date(Math.floor(Date.now() / 600_000) * 600_000).toISOString();
    const keyId = (await request('GET', `/v1/merchants/${merchant.id}/api-keys`, { token: admin })).body
      .items[0].id as string;
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: stack.tableName,
          Key: { PK: { S: `FRAUD#caller#merchant#${merchant.id}` }, SK: { S: `F#${windowStart}` } },
          UpdateExpression: 'ADD #count :n, #by :n',
          ExpressionAttributeNames: { '#count': 'count', '#by': `by#key#${keyId}` },
          ExpressionAttributeValues: { ':n': { N: String(PER_CALLER) } },
        }),
      );
    } finally {
      client.destroy();
    }
    expectRateLimited(await lookup(key, randomCode()));
    expectRateLimited(await lookup(key, card.code));
    expect(await totalCount(merchant.id)).toBe(PER_CALLER);
  });

  it('honest lookups (hits) are never limited: 300 in a minute from one key', async () => {
    const merchant = await newMerchant();
    const key = await merchant.newKey();
    const cards = await Promise.all(Array.from({ length: 10 }, () => issue(key)));
    const responses: TestResponse[] = [];
    for (let batch = 0; batch < 6; batch++) {
      responses.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, (_, i) => lookup(key, cards[i % cards.length]?.code ?? '')),
        )),
      );
    }
    expect(statusCounts(responses)).toEqual({ 200: 300 });
    // Successes write nothing.
    expect(await counters(merchant.id)).toEqual([]);
  });

  it('staff users are limited per user, too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < PER_CALLER + 2; i++) statuses.push((await lookup(support, randomCode())).status);
    expect(statuses).toEqual([...Array(PER_CALLER).fill(404), 429, 429]);
  });
});

describe('PINs', () => {
  it('30 PINs set on new cards within a minute with one key all succeed', async () => {
    const merchant = await newMerchant();
    const key = await merchant.newKey();
    const cards = await Promise.all(Array.from({ length: 30 }, () => issue(key, pinProgramId)));
    // A CONFLICT (409: the card stayed busy past the write budget on a loaded machine, nothing written) is
    // retried as a till would; what this test guards is that the rate limit never refuses these.
    const setPin = async (cardId: string, pin: string) => {
      for (let attempt = 1; ; attempt++) {
        const answer = await request('PUT', `/v1/cards/${cardId}/pin`, { token: key, body: { pin } });
        if (answer.status !== 409 || answer.body.code !== 'CONFLICT' || attempt === 3) return answer;
      }
    };
    const sets = await Promise.all(
      cards.map((card, i) => setPin(card.card.id, String(2580 + i * 7).padStart(4, '0'))),
    );
    expect(statusCounts(sets)).toEqual({ 200: 30 });
    expect(await counters(merchant.id)).toEqual([]);
  });

  it('wrong PINs stop at the PIN lock per card, and at the limit per caller across cards', async () => {
    const merchant = await newMerchant();
    const key = await merchant.newKey();
    const [first, second] = await Promise.all([issue(key, pinProgramId), issue(key, pinProgramId)]);
    if (!first || !second) throw new Error('no cards');
    for (const card of [first, second]) {
      const set = await request('PUT', `/v1/cards/${card.card.id}/pin`, {
        token: key,
        body: { pin: '2580' },
      });
      expect(set.status).toBe(200);
    }
    const verify = (cardId: string, pin: string) =>
      request('POST', `/v1/cards/${cardId}/pin/verify`, { token: key, body: { pin } });
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push((await verify(first.card.id, String(1000 + i))).body.code);
    // The card locks at its fifth wrong PIN; a locked PIN is a failure too.
    expect(codes).toEqual([
      'PIN_INVALID',
      'PIN_INVALID',
      'PIN_INVALID',
      'PIN_INVALID',
      'PIN_LOCKED',
      'PIN_LOCKED',
    ]);
    // A PIN change that checks the current PIN counts like any PIN check.
    const change = await request('PUT', `/v1/cards/${second.card.id}/pin`, {
      token: key,
      body: { pin: '8642', currentPin: '1111' },
    });
    expect(change.body.code).toBe('PIN_INVALID');
    expect((await verify(second.card.id, '1112')).body.code).toBe('PIN_INVALID');
    // 8 failures: the key is stopped on every card, the right PIN included.
    expectRateLimited(await verify(second.card.id, '2580'));
    expect(await totalCount(merchant.id)).toBe(PER_CALLER);
  });

  it('no oracle: unknown code and wrong PIN answer byte-identical bodies (but for the request id)', async () => {
    const merchant = await newMerchant();
    const key = await merchant.newKey();
    const card = await issue(key, pinProgramId);
    const set = await request('PUT', `/v1/cards/${card.card.id}/pin`, { token: key, body: { pin: '2580' } });
    expect(set.status).toBe(200);
    const bare = (response: TestResponse) => {
      const { requestId: _requestId, ...rest } = response.body as Record<string, unknown>;
      return { status: response.status, type: response.headers['content-type'], body: JSON.stringify(rest) };
    };
    const unknown = await lookup(key, randomCode(), '2580');
    const wrongPin = await lookup(key, card.code, '1357');
    expect(unknown.status).toBe(404);
    expect(bare(wrongPin)).toEqual(bare(unknown));
    // Both cost the caller one failure each.
    expect(await totalCount(merchant.id)).toBe(2);
  });
});

describe('limits per merchant and per program', () => {
  it("a merchant's own limits take effect, validated (bad input writes nothing), and PATCH changes them", async () => {
    const bad = await request('POST', '/v1/merchants', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Bad', programs: [programId], checkLimits: { failuresPerCaller: 0, extra: 1 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe('application/problem+json');
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    const fields = (bad.body.errors as { field: string }[]).map((error) => error.field);
    expect(fields).toEqual(expect.arrayContaining(['checkLimits.failuresPerCaller']));
    const names = await request('GET', '/v1/merchants?limit=200', { token: admin });
    expect(names.body.items.map((m: { name: string }) => m.name)).not.toContain('Bad');

    const merchant = await newMerchant({ checkLimits: { failuresPerCaller: 3 } });
    const got = await request('GET', `/v1/merchants/${merchant.id}`, { token: admin });
    expect(got.body.checkLimits).toEqual({ failuresPerCaller: 3 });
    const key = await merchant.newKey();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await lookup(key, randomCode())).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);

    const patched = await request('PATCH', `/v1/merchants/${merchant.id}`, {
      token: admin,
      body: { checkLimits: { failuresPerMerchant: 40 } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.checkLimits).toEqual({ failuresPerCaller: 3, failuresPerMerchant: 40 });
    const badPatch = await request('PATCH', `/v1/merchants/${merchant.id}`, {
      token: admin,
      body: { checkLimits: { failuresPerMerchant: 1.5 } },
    });
    expect(badPatch.status).toBe(400);
  });

  it("a program's limits apply to its merchants that set none; a merchant's own setting wins", async () => {
    const strict = await request('POST', '/v1/programs', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Strict', currency: 'USD', checkLimits: { failuresPerCaller: 2 } },
    });
    expect(strict.status).toBe(201);
    expect(strict.body.checkLimits).toEqual({ failuresPerCaller: 2 });
    const strictId = strict.body.id as string;
    const inherits = await newMerchant({}, [programId, strictId]);
    const owns = await newMerchant({ checkLimits: { failuresPerCaller: 5 } }, [programId, strictId]);
    const run = async (key: string) => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await lookup(key, randomCode())).status);
      return statuses;
    };
    expect(await run(await inherits.newKey())).toEqual([404, 404, 429, 429, 429, 429]);
    expect(await run(await owns.newKey())).toEqual([404, 404, 404, 404, 404, 429]);

    const badProgram = await request('PATCH', `/v1/programs/${strictId}`, {
      token: admin,
      body: { checkLimits: { failuresPerCaller: 'many' } },
    });
    expect(badProgram.status).toBe(400);
    expect((await request('GET', `/v1/programs/${strictId}`, { token: admin })).body.checkLimits).toEqual({
      failuresPerCaller: 2,
    });
  });
});

describe('the API reference', () => {
  it('documents 429 with Retry-After on the limited routes only', async () => {
    const doc = await request('GET', '/openapi.json');
    expect(doc.body.paths['/v1/cards/lookup'].post.responses['429']).toEqual({
      $ref: '#/components/responses/RateLimited',
    });
    expect(doc.body.paths['/v1/cards/{cardId}/pin'].put.responses['429']).toBeDefined();
    expect(doc.body.paths['/v1/cards/{cardId}'].get.responses['429']).toBeUndefined();
    expect(doc.body.components.responses.RateLimited.headers['Retry-After']).toBeDefined();
  });
});
