import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { fetchBytes, passJsonOf } from '../support/pkpass';
import { startTestStack } from '../support/stack';

/**
 * The card-holder portal's public routes, the console's card-care and ops reads, the exports list and CORS,
 * through the local HTTP server on the real handlers (the browser test drives the same through the pages).
 */
const PER_CARD = 4;
/** Failed checks a caller (here an IP) may make in the window before 429 (functions/http/rate-limit.ts). */
const FAILURES_PER_CALLER = 40;
const ORIGIN = 'https://console.giftcard.test';
let stack: LocalStack;
let demo: NonNullable<LocalStack['demo']>;
let pinProgramId: string;
let otherProgramId: string;

async function issue(programId: string, amount: number) {
  const issued = await request('POST', '/v1/cards', {
    token: demo.staffTokens.support,
    idempotencyKey: randomUUID(),
    body: { programId, type: 'DIGITAL', amount, activate: true },
  });
  expect(issued.status).toBe(201);
  return issued.body as { card: { id: string; last4: string }; code: string };
}

async function program(body: Record<string, unknown>): Promise<string> {
  const created = await request('POST', '/v1/programs', {
    token: demo.staffTokens.admin,
    idempotencyKey: randomUUID(),
    body: { currency: 'USD', ...body },
  });
  expect(created.status).toBe(201);
  return created.body.id;
}

const ledger = async (cardId: string) =>
  (await request('GET', `/v1/cards/${cardId}/transactions`, { token: demo.staffTokens.support })).body
    .items as { type: string; amount: number; channel: string; actor: { type: string; id: string } }[];

/** The answer without what differs per request. */
const shape = (response: { status: number; body: Record<string, unknown> }) => ({
  status: response.status,
  body: { ...response.body, requestId: undefined },
});

beforeAll(async () => {
  // Transfers check PINs: room for the refusals a test makes on one card from this one IP.
  process.env.FAILED_CHECKS_LIMIT_PER_CALLER = String(FAILURES_PER_CALLER);
  process.env.CORS_ALLOWED_ORIGIN = ORIGIN;
  stack = await startTestStack();
  if (!stack.demo) throw new Error('no demo data');
  demo = stack.demo;
  pinProgramId = await program({ name: 'Portal PIN program', pinPolicy: 'ALWAYS' });
  otherProgramId = await program({ name: 'Portal other program' });
});
afterAll(async () => {
  await stack?.stop();
  delete process.env.CORS_ALLOWED_ORIGIN;
  delete process.env.FAILED_CHECKS_LIMIT_PER_CALLER;
});

describe('portal balance', () => {
  it('answers an unknown code, a wrong PIN, a missing PIN and another region’s code exactly alike', async () => {
    const card = await issue(pinProgramId, 3000);
    const pinSet = await request('PUT', `/v1/cards/${card.card.id}/pin`, {
      token: demo.staffTokens.support,
      body: { pin: '2468' },
    });
    expect(pinSet.status).toBe(200);
    const ask = (body: unknown) => request('POST', '/v1/portal/balance', { body });
    const unknown = await ask({ code: `${card.code.slice(0, -5)}00000`, pin: '2468' });
    const wrongPin = await ask({ code: card.code, pin: '1357' });
    const noPin = await ask({ code: card.code });
    // Region 2's prefix: never a card of this region's table.
    const otherRegion = await ask({ code: `2${card.code.slice(1)}`, pin: '2468' });
    for (const miss of [wrongPin, noPin, otherRegion]) expect(shape(miss)).toEqual(shape(unknown));
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'NOT_FOUND', detail: 'The card was not found.' });

    const hit = await ask({ code: card.code, pin: '2468' });
    expect(hit.status).toBe(200);
    expect(hit.body.card).toEqual({
      last4: card.card.last4,
      status: 'ACTIVE',
      currency: 'USD',
      balance: 3000,
      available: 3000,
      expiresAt: null,
      programName: 'Portal PIN program',
    });
    // A holder sees no merchant ids, actors or staff reasons (only the wallet link token names the card,
    // as the pass's barcode does).
    expect(JSON.stringify(hit.body.transactions)).not.toContain('staff');
    expect(hit.body.transactions[0]).toEqual({
      type: 'PIN_SET',
      amount: 0,
      balanceAfter: 3000,
      channel: 'CONSOLE',
      createdAt: expect.any(String),
    });
    const pinState = await request('GET', `/v1/cards/${card.card.id}/pin`, {
      token: demo.staffTokens.support,
    });
    expect(pinState.body).toMatchObject({ set: true, failures: 0, locked: false, maxFailures: 5 });
  });

  it('refuses bad input with problem+json before any PIN attempt is spent', async () => {
    const card = await issue(pinProgramId, 800);
    const set = await request('PUT', `/v1/cards/${card.card.id}/pin`, {
      token: demo.staffTokens.support,
      body: { pin: '5820' },
    });
    expect(set.status).toBe(200);
    for (const body of [
      { code: card.code, pin: '12' },
      { code: card.code, pin: '5821', extra: true },
    ]) {
      const bad = await request('POST', '/v1/portal/balance', { body });
      expect(bad.status).toBe(400);
      expect(bad.headers['content-type']).toContain('application/problem+json');
      expect(bad.body.code).toBe('VALIDATION_FAILED');
    }
    const pinState = await request('GET', `/v1/cards/${card.card.id}/pin`, {
      token: demo.staffTokens.support,
    });
    expect(pinState.body).toMatchObject({ set: true, failures: 0 });
  });
});

function randomDigits(count: number): string {
  return Array.from({ length: count }, () => Math.floor(Math.random() * 10)).join('');
}

describe('portal transfer', () => {
  it('moves the whole available balance to a card of the same program, as the portal channel', async () => {
    // Transfers count in the `pin` buckets, not the lookups spent above.
    const from = await issue(demo.programId, 1800);
    const to = await issue(demo.programId, 600);
    const moved = await request('POST', '/v1/portal/transfer', {
      idempotencyKey: randomUUID(),
      body: { code: from.code, toCode: to.code },
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ amount: 1800, card: { balance: 0 }, destination: { balance: 2400 } });
    const [out] = await ledger(from.card.id);
    expect(out).toMatchObject({ type: 'TRANSFER_OUT', amount: -1800, channel: 'PORTAL' });
    // The card holder, who showed the source card's code: the card-verb policy lets a holder transfer.
    expect(out?.actor).toEqual({ type: 'holder', id: from.card.id });

    // A retried submission (same key) answers as the first time and moves nothing more; no key, nothing.
    const again = await issue(demo.programId, 1200);
    const submission = { idempotencyKey: randomUUID(), body: { code: again.code, toCode: to.code } };
    const first = await request('POST', '/v1/portal/transfer', submission);
    const retry = await request('POST', '/v1/portal/transfer', submission);
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    const unkeyed = await request('POST', '/v1/portal/transfer', {
      body: { code: again.code, toCode: to.code },
    });
    expect(unkeyed.status).toBe(400);
    expect(unkeyed.body.errors).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
    expect((await ledger(again.card.id)).filter((entry) => entry.type === 'TRANSFER_OUT')).toHaveLength(1);
  });

  it('moves nothing on a wrong source PIN, a missing PIN, or a destination of another program', async () => {
    const from = await issue(pinProgramId, 900);
    const pins = [
      await request('PUT', `/v1/cards/${from.card.id}/pin`, {
        token: demo.staffTokens.support,
        body: { pin: '8642' },
      }),
    ];
    const samePin = await issue(pinProgramId, 100);
    pins.push(
      await request('PUT', `/v1/cards/${samePin.card.id}/pin`, {
        token: demo.staffTokens.support,
        body: { pin: '7395' },
      }),
    );
    expect(pins.map((answer) => answer.status)).toEqual([200, 200]);
    const elsewhere = await issue(otherProgramId, 100);
    const attempts = [
      { code: from.code, pin: '0000', toCode: samePin.code, toPin: '7395' },
      { code: from.code, toCode: samePin.code, toPin: '7395' },
      { code: from.code, pin: '8642', toCode: elsewhere.code },
      { code: from.code, pin: '8642', toCode: `${samePin.code.slice(0, -5)}00000`, toPin: '7395' },
    ];
    const answers = [];
    for (const body of attempts)
      answers.push(await request('POST', '/v1/portal/transfer', { body, idempotencyKey: randomUUID() }));
    const [first, ...rest] = answers.map(shape);
    for (const answer of rest) expect(answer).toEqual(first);
    expect(first?.status).toBe(404);
    const card = await request('GET', `/v1/cards/${from.card.id}`, { token: demo.staffTokens.support });
    expect(card.body.balance).toBe(900);
    expect((await ledger(from.card.id)).some((entry) => entry.type === 'TRANSFER_OUT')).toBe(false);

    const ok = await request('POST', '/v1/portal/transfer', {
      idempotencyKey: randomUUID(),
      body: { code: from.code, pin: '8642', toCode: samePin.code, toPin: '7395' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.destination.balance).toBe(1000);
  });

  it('refuses a blocked card to its holder without showing a balance', async () => {
    const card = await issue(demo.programId, 700);
    const blocked = await request('POST', `/v1/cards/${card.card.id}/block`, {
      token: demo.staffTokens.support,
      idempotencyKey: randomUUID(),
      body: { reason: 'reported stolen' },
    });
    expect(blocked.status).toBe(200);
    const other = await issue(demo.programId, 500);
    const moved = await request('POST', '/v1/portal/transfer', {
      idempotencyKey: randomUUID(),
      body: { code: card.code, toCode: other.code },
    });
    expect(moved.status).toBe(422);
    expect(moved.body).toEqual(expect.objectContaining({ code: 'CARD_BLOCKED' }));
    expect(JSON.stringify(moved.body)).not.toContain('700');
  });
});

describe('portal wallet links', () => {
  it("gives the card's Apple pass and Google save link for a token from a balance check, and nothing for a forged one", async () => {
    const card = await issue(otherProgramId, 1200);
    const balance = await request('POST', '/v1/portal/balance', { body: { code: card.code } });
    const token = String(balance.body.walletToken);
    expect(token.startsWith(`${card.card.id}.`)).toBe(true);

    const pass = await fetchBytes(`${stack.baseUrl}/v1/portal/wallet/apple/${token}`);
    expect(pass.status).toBe(200);
    expect(passJsonOf(pass.bytes).serialNumber).toBe(card.card.id);

    const google = await request('GET', `/v1/portal/wallet/google/${token}`);
    expect(google.status).toBe(200);
    expect(google.body.saveUrl).toMatch(/^https:\/\/pay\.google\.com\/gp\/v\/save\//);
    const wallets = await request('GET', `/v1/cards/${card.card.id}/wallet/registrations`, {
      token: demo.staffTokens.support,
    });
    expect(wallets.body).toEqual({ apple: { passIssued: true, devices: 0 }, google: { objectSaved: true } });

    const forged = `${token.slice(0, -4)}AAAA`;
    expect((await request('GET', `/v1/portal/wallet/apple/${forged}`)).status).toBe(404);
    const otherCard = await issue(otherProgramId, 100);
    const swapped = token.replace(card.card.id, otherCard.card.id);
    expect((await request('GET', `/v1/portal/wallet/google/${swapped}`)).status).toBe(404);
  });
});

describe('console reads', () => {
  it('lists the scheduled job runs and the local dead-letter files for ops', async () => {
    await stack.scheduler.runNow('hold-expiry');
    const runs = await request('GET', '/v1/ops/job-runs?limit=10', { token: demo.staffTokens.ops });
    expect(runs.status).toBe(200);
    expect(runs.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ job: 'hold-expiry', status: 'SUCCEEDED', failed: 0 }),
      ]),
    );
    const queues = await request('GET', '/v1/ops/queues', { token: demo.staffTokens.ops });
    expect(queues.body).toEqual({ source: 'local-files', queues: [] });
    expect((await request('GET', '/v1/ops/queues', { token: demo.staffTokens.support })).status).toBe(403);
  });

  it('lists the exports asked for, with their status', async () => {
    const cutoff = new Date(Date.now() - 120_000).toISOString();
    const started = await request('POST', '/v1/exports', {
      token: demo.staffTokens.finance,
      idempotencyKey: randomUUID(),
      body: { cutoff },
    });
    expect(started.status).toBe(202);
    const list = await request('GET', '/v1/exports', { token: demo.staffTokens.finance });
    expect(list.status).toBe(200);
    expect(list.body.items.map((run: { id: string }) => run.id)).toContain(started.body.id);
    expect((await request('GET', '/v1/exports', { token: demo.staffTokens.support })).status).toBe(403);
  });
});

describe('CORS', () => {
  it("answers the console's origin, and no other, with Access-Control-Allow-Origin", async () => {
    const allowed = await request('GET', '/v1/programs', {
      token: demo.staffTokens.admin,
      headers: { Origin: ORIGIN },
    });
    expect(allowed.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(allowed.headers.vary).toContain('Origin');
    const other = await request('GET', '/v1/programs', {
      token: demo.staffTokens.admin,
      headers: { Origin: 'https://evil.example' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    // Refusals too (a problem+json from the handler).
    const refused = await request('POST', '/v1/portal/balance', { body: {}, headers: { Origin: ORIGIN } });
    expect(refused.status).toBe(400);
    expect(refused.headers['access-control-allow-origin']).toBe(ORIGIN);
  });
});

// Last: it spends this IP's failed checks for the window, which every test here shares.
describe('portal limits', () => {
  it('never limits a holder checking a real card; limits the failures of a caller IP (429 with Retry-After)', async () => {
    const card = await issue(demo.programId, 1000);
    for (let attempt = 0; attempt <= PER_CARD; attempt++) {
      const answer = await request('POST', '/v1/portal/balance', { body: { code: card.code } });
      expect(answer.status).toBe(200);
    }
    // Unknown codes from this IP are failures: they run out at the caller's limit.
    let limited: Awaited<ReturnType<typeof request>> | undefined;
    for (let attempt = 0; attempt < FAILURES_PER_CALLER + 1 && limited === undefined; attempt++) {
      const answer = await request('POST', '/v1/portal/balance', { body: { code: `1${randomDigits(17)}` } });
      if (answer.status === 429) limited = answer;
    }
    expect(limited?.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThan(0);
  });
});
