import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrinterRow } from '../../functions/core/production/printer-row';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import {
  decryptOrderFile,
  type PrinterKeys,
  placeOrder,
  printerKeyPair,
  registerPrinter,
} from '../support/production';
import { startTestStack } from '../support/stack';

/**
 * Activation at the till as an attacker would try it (POST /v1/cards/activate, docs/production.md): a
 * merchant of another program, a card of a lost carton, an open-value amount outside the program's
 * limits, a fixed-value card with another amount, the same Idempotency-Key replayed with another amount,
 * and many tills racing to sell one card. Every refusal leaves the card PENDING with nothing loaded.
 */
let stack: LocalStack;
let admin: string;
let ops: string;
let apiKey: string;
let keys: PrinterKeys;
let open: PrinterRow[];
let fixed: PrinterRow[];
let openOrderId: string;

const MIN_LOAD = 500;
const MAX_LOAD = 10_000;
const DENOMINATION = 2_500;

const activate = (code: string | undefined, amount: number | undefined, key = randomUUID(), token = apiKey) =>
  request('POST', '/v1/cards/activate', {
    token,
    idempotencyKey: key,
    body: { code, ...(amount === undefined ? {} : { amount }), channel: 'POS', locationId: 'store-9' },
  });

async function cardOf(code: string | undefined) {
  const looked = await request('POST', '/v1/cards/lookup', { token: apiKey, body: { code } });
  expect(looked.status).toBe(200);
  return looked.body as { id: string; status: string; balance: number };
}

async function expectUntouched(code: string | undefined) {
  const card = await cardOf(code);
  expect(card).toMatchObject({ status: 'PENDING', balance: 0 });
  const history = await request('GET', `/v1/cards/${card.id}/transactions`, { token: apiKey });
  expect((history.body.items as { type: string }[]).map((entry) => entry.type)).toEqual(['ISSUE']);
}

beforeAll(async () => {
  stack = await startTestStack({ consumers: [] });
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  admin = demo.staffTokens.admin;
  ops = demo.staffTokens.ops;
  apiKey = demo.apiKey;
  keys = await printerKeyPair();
  const printerId = await registerPrinter(admin, keys);
  // The demo merchant's program, narrowed to a load range.
  const program = await request('PATCH', `/v1/programs/${demo.programId}`, {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { minLoad: MIN_LOAD, maxLoad: MAX_LOAD },
  });
  expect(program.status, JSON.stringify(program.body)).toBe(200);
  const order = {
    programId: demo.programId,
    withPin: false,
    artworkRef: 'ART-TILL',
    printerId,
    layout: 'CSV',
  };
  const openOrder = await placeOrder(ops, { ...order, count: 12, cartonCards: 4 });
  openOrderId = openOrder.id;
  open = (await decryptOrderFile(ops, openOrderId, keys)).rows;
  const fixedOrder = await placeOrder(ops, {
    ...order,
    count: 4,
    cartonCards: 4,
    denomination: DENOMINATION,
  });
  fixed = (await decryptOrderFile(ops, fixedOrder.id, keys)).rows;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('activation at the till, attacked', () => {
  it('a merchant of another program cannot see, let alone activate, the card', async () => {
    const program = await request('POST', '/v1/programs', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Other retailer', currency: 'USD' },
    });
    const merchant = await request('POST', '/v1/merchants', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Other store', programs: [program.body.id] },
    });
    const created = await request('POST', `/v1/merchants/${merchant.body.id}/api-keys`, {
      token: admin,
      idempotencyKey: randomUUID(),
      body: {},
    });
    expect(created.status).toBe(201);
    const stranger = await activate(open[0]?.code, 1_000, randomUUID(), created.body.apiKey);
    expect(stranger.status).toBe(404);
    // Answered like an unknown code: nothing tells the stranger the code exists.
    const unknown = await activate('6000000000000000', 1_000, randomUUID(), created.body.apiKey);
    expect(unknown.status).toBe(404);
    expect(stranger.body.type).toBe(unknown.body.type);
    await expectUntouched(open[0]?.code);
  });

  it('refuses an open-value amount outside the program limits, and a fixed value sold for another amount', async () => {
    const low = await activate(open[1]?.code, MIN_LOAD - 1);
    expect(low.status, JSON.stringify(low.body)).toBe(422);
    const high = await activate(open[1]?.code, MAX_LOAD + 1);
    expect(high.status, JSON.stringify(high.body)).toBe(422);
    const zero = await activate(open[1]?.code, 0);
    expect(zero.status).toBe(400);
    await expectUntouched(open[1]?.code);
    const cheaper = await activate(fixed[0]?.code, DENOMINATION - 1);
    expect(cheaper.status).toBe(400);
    await expectUntouched(fixed[0]?.code);
    // Left out, the fixed value activates with its denomination.
    const sold = await activate(fixed[0]?.code, undefined);
    expect(sold.status, JSON.stringify(sold.body)).toBe(200);
    expect(sold.body.card).toMatchObject({ status: 'ACTIVE', balance: DENOMINATION });
  });

  it('replays a key with its first answer, and refuses it with another amount (422)', async () => {
    const key = randomUUID();
    const first = await activate(open[2]?.code, 1_000, key);
    expect(first.status).toBe(200);
    const again = await activate(open[2]?.code, 1_000, key);
    expect(again.status).toBe(200);
    expect(again.body.transaction.id).toBe(first.body.transaction.id);
    const other = await activate(open[2]?.code, 9_000, key);
    expect(other.status, JSON.stringify(other.body)).toBe(422);
    const card = await cardOf(open[2]?.code);
    expect(card).toMatchObject({ status: 'ACTIVE', balance: 1_000 });
  });

  it('lets exactly one of many tills racing on one card sell it', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, index) => activate(open[3]?.code, 1_000 + index * 100)),
    );
    const won = answers.filter((answer) => answer.status === 200);
    expect(won).toHaveLength(1);
    expect(answers.filter((answer) => answer.status !== 200).map((answer) => answer.status)).toEqual(
      Array.from({ length: 7 }, () => 409),
    );
    const card = await cardOf(open[3]?.code);
    expect(card).toMatchObject({ status: 'ACTIVE', balance: won[0]?.body.card.balance });
    const history = await request('GET', `/v1/cards/${card.id}/transactions`, { token: apiKey });
    expect((history.body.items as { type: string }[]).map((entry) => entry.type).sort()).toEqual([
      'ACTIVATE',
      'ISSUE',
    ]);
  });

  it('refuses every card of a lost carton and leaves the one sold before the loss alone', async () => {
    // Carton 3 holds sequences 9 to 12; sequence 9 is sold before the carton is reported lost.
    const sold = await activate(open[8]?.code, 2_000);
    expect(sold.status).toBe(200);
    const lost = await request('POST', `/v1/production/orders/${openOrderId}/cartons/3/deactivate`, {
      token: ops,
      body: { reason: 'carton missing from the delivery' },
    });
    expect(lost.status, JSON.stringify(lost.body)).toBe(200);
    expect(lost.body).toMatchObject({ deactivated: 3, alreadyLive: 1 });
    for (const row of open.slice(9, 12)) {
      const refused = await activate(row.code, 1_000);
      expect(refused.status).toBe(409);
      expect((await cardOf(row.code)).status).toBe('DEACTIVATED');
    }
    // The card sold before the loss stays sold.
    expect(await cardOf(open[8]?.code)).toMatchObject({ status: 'ACTIVE', balance: 2_000 });
  });
});
