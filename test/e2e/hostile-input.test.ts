import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

let stack: LocalStack;
let apiKey: string;
let admin: string;
let programId: string;
let cardId: string;

beforeAll(async () => {
  // No stream consumers: nothing here reads what they write, and they would only load DynamoDB Local.
  stack = await startTestStack({ consumers: [] });
  if (!stack.demo) throw new Error('the test stack did not seed');
  ({ apiKey, programId } = stack.demo);
  admin = stack.demo.staffTokens.admin;
  const issued = await request('POST', '/v1/cards', {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body: { programId, type: 'DIGITAL', amount: 5000, activate: true },
  });
  cardId = issued.body.card.id;
});
afterAll(async () => stack.stop());

async function state() {
  const card = await request('GET', `/v1/cards/${cardId}`, { token: admin });
  const ledger = await request('GET', `/v1/cards/${cardId}/transactions?limit=200`, { token: admin });
  return { balance: card.body.balance, entries: ledger.body.items.length };
}

function expectProblem(
  response: { status: number; headers: Record<string, string>; body: Record<string, unknown> },
  status: number,
  code: string,
) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toContain('application/problem+json');
  expect(response.body).toMatchObject({
    status,
    code,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
}

const redeemWith = (body: unknown, headers: Record<string, string> = {}) =>
  request('POST', `/v1/cards/${cardId}/redeem`, {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body,
    headers,
  });

describe('hostile input gets a clear 4xx problem and writes nothing', () => {
  const cases: [string, unknown, string[]][] = [
    ['a negative amount', { amount: -100 }, ['amount']],
    ['a fractional amount', { amount: 10.5 }, ['amount']],
    ['an amount as a string', { amount: '100' }, ['amount']],
    ['an amount beyond any balance', { amount: 1e20 }, ['amount']],
    ['zero', { amount: 0 }, ['amount']],
    ['NaN smuggled as null', { amount: null }, ['amount']],
    ['unknown fields', { amount: 100, balance: 999999, admin: true }, ['balance', 'admin']],
    ['a prototype key', JSON.parse('{"amount": 100, "__proto__": {"polluted": true}}'), ['__proto__']],
    ['an array body', [{ amount: 100 }], ['body']],
    [
      'every field wrong at once',
      { amount: 'x', allowPartial: 'yes', channel: 'SPACE' },
      ['amount', 'allowPartial', 'channel'],
    ],
    ['a reference with a bidi override', { amount: 100, reference: 'paid\u202Eevil' }, ['reference']],
    ['a reference with a zero-width joiner', { amount: 100, reference: 'a\u200db' }, ['reference']],
    ['a reference with a NUL', { amount: 100, reference: 'a\u0000b' }, ['reference']],
    ['a terminal id with spaces and quotes', { amount: 100, terminalId: "till' OR 1=1" }, ['terminalId']],
    ['a wrong currency code', { amount: 100, currency: 'XXX' }, ['currency']],
  ];

  for (const [name, body, fields] of cases) {
    it(`refuses ${name}`, async () => {
      const before = await state();
      const response = await redeemWith(body);
      expectProblem(response, 400, 'VALIDATION_FAILED');
      const reported = (response.body.errors as { field: string }[]).map((error) => error.field);
      for (const field of fields) expect(reported).toContain(field);
      expect(await state()).toEqual(before);
    });
  }

  it('refuses bad JSON', async () => {
    const response = await redeemWith('{"amount": 100,');
    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(response.body.errors).toEqual([{ field: 'body', message: 'not valid JSON' }]);
  });

  it('refuses a huge body with 413', async () => {
    const before = await state();
    const response = await redeemWith({ amount: 100, reference: 'x'.repeat(20_000) });
    expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
    expect(await state()).toEqual(before);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const response = await redeemWith('amount=100', { 'Content-Type': 'application/x-www-form-urlencoded' });
    expectProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses an idempotency key with control characters or over 255 characters', async () => {
    const long = await request('POST', `/v1/cards/${cardId}/redeem`, {
      token: apiKey,
      idempotencyKey: 'k'.repeat(256),
      body: { amount: 1 },
    });
    expectProblem(long, 400, 'VALIDATION_FAILED');
    expect(long.body.errors).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
  });

  it('answers hostile path ids and query values without touching anything', async () => {
    for (const path of [
      `/v1/cards/${encodeURIComponent("' OR 1=1 --")}`,
      '/v1/cards/..%2F..%2Fetc%2Fpasswd',
      `/v1/cards/GC_${'A'.repeat(26)}`,
      `/v1/transactions/tx_${'0'.repeat(26)}_0`,
    ]) {
      const response = await request('GET', path, { token: admin });
      expectProblem(response, 404, 'NOT_FOUND');
    }
    const badLimit = await request('GET', `/v1/cards/${cardId}/transactions?limit=100000`, { token: admin });
    expectProblem(badLimit, 400, 'VALIDATION_FAILED');
    const badCursor = await request(
      'GET',
      `/v1/cards/${cardId}/transactions?cursor=eyJQSyI6IkNBUkQjb3RoZXIifQ`,
      { token: admin },
    );
    expectProblem(badCursor, 400, 'VALIDATION_FAILED');
    const twice = await request('GET', `/v1/cards/${cardId}/transactions?limit=1&limit=2`, { token: admin });
    expectProblem(twice, 400, 'VALIDATION_FAILED');
  });

  it('refuses prototype names as query parameters, and ignores them as headers (they were a 500)', async () => {
    for (const name of ['__proto__', 'constructor', 'hasOwnProperty']) {
      const response = await request('GET', `/v1/cards/${cardId}/transactions?${name}=x&limit=1`, {
        token: admin,
      });
      expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(response.body.errors).toEqual([{ field: `query.${name}`, message: 'unknown field' }]);
    }
    const twice = await request('GET', `/v1/cards/${cardId}/transactions?__proto__=a&__proto__=b`, {
      token: admin,
    });
    expectProblem(twice, 400, 'VALIDATION_FAILED');
    const header = await request('GET', `/v1/cards/${cardId}`, {
      token: admin,
      headers: Object.fromEntries([
        ['__proto__', 'x'],
        ['constructor', 'y'],
      ]),
    });
    expect(header.status).toBe(200);
    expect(header.body.id).toBe(cardId);
  });

  it('answers a request line over 16 KiB with 431 problem+json (it was a bare status line)', async () => {
    const response = await request('GET', `/v1/cards/${cardId}/transactions?cursor=${'x'.repeat(20_000)}`, {
      token: admin,
    });
    expectProblem(response, 431, 'PAYLOAD_TOO_LARGE');
  });

  it('refuses a program with limits that do not nest, listing each field', async () => {
    const response = await request('POST', '/v1/programs', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: '  ', currency: 'usd', minLoad: -1, maxLoad: 1.5 },
    });
    expectProblem(response, 400, 'VALIDATION_FAILED');
    const fields = (response.body.errors as { field: string }[]).map((error) => error.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'currency', 'minLoad', 'maxLoad']));
  });

  it('refuses forged or malformed credentials with 401', async () => {
    const forged = `${admin.slice(0, -4)}AAAA`;
    for (const authorization of [
      `Bearer ${forged}`,
      'Bearer gk_key_nope',
      'Basic YWRtaW46YWRtaW4=',
      'Bearer ',
    ]) {
      const response = await request('GET', `/v1/cards/${cardId}`, {
        headers: { Authorization: authorization },
      });
      expectProblem(response, 401, 'UNAUTHENTICATED');
    }
  });
});
