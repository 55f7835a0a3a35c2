import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { markMessageEvent } from '../../functions/app/delivery-events';
import { zonedToUtc } from '../../functions/core/delivery/zoned-time';
import { changeDelivery, findDelivery } from '../../functions/store/deliveries';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { type CapturedOutput, captureOutput } from '../support/log-capture';
import { type CaughtMail, mailbox } from '../support/mailbox';
import { startTestStack } from '../support/stack';

/**
 * E-gift delivery end to end (issue #19) through the local API, the SES stand-in and the mail catcher:
 * the recipient's message carries a claim link and never the code; the link opens the card (code,
 * balance, wallet token); a retried order sends nothing twice; a scheduled delivery goes out at its time
 * and not before (the sender job run with a clock the test sets); a bounce marks the delivery; a resend
 * kills the old link; no log line holds a code.
 */
let stack: LocalStack;
let apiKey: string;
let support: string;
let programId: string;
const logged: string[] = [];
let output: CapturedOutput | undefined;

// Before any module (the Powertools logger included) is loaded: the handlers log at DEBUG.
vi.hoisted(() => {
  process.env.LOG_LEVEL = 'DEBUG';
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
});

beforeAll(async () => {
  // Every line the handlers log, at every level, is kept: none may hold a code.
  output = captureOutput(logged);
  stack = await startTestStack({ mailCatcher: { smtpPort: 0, webPort: 0 }, consumers: [] });
  if (!stack.demo) throw new Error('no demo');
  apiKey = stack.demo.apiKey;
  support = stack.demo.staffTokens.support;
  programId = stack.demo.programId;
}, 60_000);
afterAll(async () => {
  output?.restore();
  delete process.env.LOG_LEVEL;
  delete process.env.POWERTOOLS_LOG_LEVEL;
  await stack?.stop();
});

interface Order {
  card: { id: string; balance: number; status: string };
  delivery: { status: string; sendAt: string };
}

const order = (body: Record<string, unknown>, key = `egift-${Math.random()}`) =>
  request<Order>('POST', '/v1/egift-orders', {
    token: apiKey,
    headers: { 'Idempotency-Key': key },
    body: { programId, amount: 2_500, senderName: 'Aunt Mary', message: 'Happy birthday!', ...body },
  });

const tokenIn = (mail: CaughtMail): string => {
  const match = /\/portal\/claim#token=([A-Za-z0-9_-]{43})/.exec(mail.text);
  if (!match?.[1]) throw new Error('no claim link in the message');
  return match[1];
};

const claim = (token: string) =>
  request<{ code: string; card: { balance: number; last4: string }; from: string; walletToken: string }>(
    'POST',
    '/v1/portal/claim',
    { body: { token } },
  );

const deliveryOf = (cardId: string) =>
  request<{ status: string; sends: number; problem: string | null }>('GET', `/v1/cards/${cardId}/delivery`, {
    token: support,
  });

async function statusBecomes(cardId: string, status: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await deliveryOf(cardId)).body.status === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect((await deliveryOf(cardId)).body.status).toBe(status);
}

const codes: string[] = [];

describe('an e-gift ordered for now', () => {
  let cardId: string;
  let firstToken: string;

  it('lands in the mail catcher with a working claim link and without the code', async () => {
    const key = `egift-now-${Date.now()}`;
    const ordered = await order({ recipient: { name: 'Sam', email: 'sam@example.com' } }, key);
    expect(ordered.status, JSON.stringify(ordered.body)).toBe(201);
    expect(JSON.stringify(ordered.body)).not.toMatch(/"code"/);
    cardId = ordered.body.card.id;
    expect(ordered.body.card).toMatchObject({ balance: 2_500, status: 'ACTIVE' });
    expect(ordered.body.delivery.status).toBe('SENT');

    const mail = await mailbox(stack).waitFor('sam@example.com');
    expect(mail.subject).toContain('Aunt Mary');
    expect(mail.text).toContain('Happy birthday!');
    firstToken = tokenIn(mail);
    const claimed = await claim(firstToken);
    expect(claimed.status, JSON.stringify(claimed.body)).toBe(200);
    codes.push(claimed.body.code);
    expect(claimed.body).toMatchObject({ from: 'Aunt Mary', card: { balance: 2_500 } });
    expect(claimed.body.walletToken).toMatch(/^gc_/);
    for (const text of [mail.text, mail.html, mail.subject]) expect(text).not.toContain(claimed.body.code);
    // The code the link showed is the card's.
    const looked = await request<{ id: string }>('POST', '/v1/cards/lookup', {
      token: support,
      body: { code: claimed.body.code },
    });
    expect(looked.body.id).toBe(cardId);
    await statusBecomes(cardId, 'CLAIMED');

    // The same order again (a retry): the same card, and no second message.
    const retried = await order({ recipient: { name: 'Sam', email: 'sam@example.com' } }, key);
    expect(retried.status).toBe(201);
    expect(retried.body.card.id).toBe(cardId);
    expect((await mailbox(stack).all()).filter((m) => m.to.includes('sam@example.com'))).toHaveLength(1);
  });

  it('resent by support to a corrected address: the old link dies, the new one opens the card', async () => {
    const resent = await request<{ status: string; sends: number }>(
      'POST',
      `/v1/cards/${cardId}/delivery/resend`,
      { token: support, body: { email: 'sam.new@example.com', reason: 'typo in the address' } },
    );
    expect(resent.status, JSON.stringify(resent.body)).toBe(200);
    expect(resent.body).toMatchObject({ status: 'SENT', sends: 2 });
    const old = await claim(firstToken);
    const unknown = await claim('A'.repeat(43));
    expect(old.status).toBe(404);
    expect(old.body).toEqual({
      ...unknown.body,
      requestId: (old.body as unknown as { requestId: string }).requestId,
    });
    const mail = await mailbox(stack).waitFor('sam.new@example.com');
    const fresh = await claim(tokenIn(mail));
    expect(fresh.status).toBe(200);
    expect(fresh.body.code).toBe(codes[0]);
    const audit = await request<{ items: { action: string; reason?: string }[] }>(
      'GET',
      `/v1/audit?cardId=${cardId}`,
      { token: support },
    );
    expect(audit.body.items.map((record) => record.action)).toContain('delivery.resend');
  });
});

describe('a scheduled e-gift', () => {
  it('goes out at its time in the recipient’s zone and not before; a moved one follows its new time', async () => {
    const localTime = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 11).concat('09:00');
    const ordered = await order({
      recipient: { email: 'later@example.com' },
      deliverAt: { localTime, timeZone: 'Asia/Tokyo' },
    });
    expect(ordered.status, JSON.stringify(ordered.body)).toBe(201);
    const sendAt = zonedToUtc(localTime, 'Asia/Tokyo') as Date;
    expect(ordered.body.delivery).toMatchObject({ status: 'SCHEDULED', sendAt: sendAt.toISOString() });
    const cardId = ordered.body.card.id;

    await stack.scheduler.runNow('egift-deliveries', new Date());
    await stack.scheduler.runNow('egift-deliveries', new Date(sendAt.getTime() - 1_000));
    expect((await deliveryOf(cardId)).body.status).toBe('SCHEDULED');
    await stack.scheduler.runNow('egift-deliveries', sendAt);
    // Sent; the SES stand-in's delivery event may already have marked it delivered.
    expect(['SENT', 'DELIVERED']).toContain((await deliveryOf(cardId)).body.status);
    await mailbox(stack).waitFor('later@example.com');

    // Moved a day later, then cancelled: nothing goes out at either time.
    const other = await order({
      recipient: { email: 'never@example.com' },
      deliverAt: { localTime, timeZone: 'UTC' },
    });
    const otherId = other.body.card.id;
    const moved = await request<{ sendAt: string }>('PATCH', `/v1/cards/${otherId}/delivery`, {
      token: apiKey,
      body: { deliverAt: { localTime: localTime.replace('T09', 'T10'), timeZone: 'UTC' } },
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    const movedAt = new Date(moved.body.sendAt);
    await stack.scheduler.runNow('egift-deliveries', new Date(movedAt.getTime() - 60_000));
    expect((await deliveryOf(otherId)).body.status).toBe('SCHEDULED');
    const cancelled = await request('POST', `/v1/cards/${otherId}/delivery/cancel`, {
      token: apiKey,
      body: { reason: 'the customer changed their mind' },
    });
    expect(cancelled.status).toBe(200);
    await stack.scheduler.runNow('egift-deliveries', movedAt);
    expect((await deliveryOf(otherId)).body.status).toBe('CANCELLED');
    expect((await mailbox(stack).all()).some((m) => m.to.includes('never@example.com'))).toBe(false);
  });
});

describe('a bounce', () => {
  it('marks the delivery BOUNCED', async () => {
    const ordered = await order({ recipient: { email: 'bounce@simulator.amazonses.com' } });
    expect(ordered.status).toBe(201);
    await statusBecomes(ordered.body.card.id, 'BOUNCED');
    expect((await deliveryOf(ordered.body.card.id)).body.problem).toMatch(/bounced: Permanent/);
  });
});

describe('late mail events', () => {
  it("about the message a resend replaced change nothing, even while the resend is being sent; the new message's record the send", async () => {
    const ordered = await order({ recipient: { email: 'late@example.com' } });
    const cardId = ordered.body.card.id;
    await statusBecomes(cardId, 'DELIVERED');
    const first = (await findDelivery(cardId))?.delivery;
    if (!first?.providerMessageId) throw new Error('the first message has no id');
    // A resend caught mid-send: SENDING, still naming the first message (as resendDelivery leaves it).
    expect(await changeDelivery(first, { status: 'SENDING' }, ['DELIVERED'])).toBe(true);
    const event = { cardId, outcome: 'DELIVERED', at: new Date().toISOString() } as const;
    expect(await markMessageEvent({ ...event, providerMessageId: first.providerMessageId })).toBe('ignored');
    expect((await findDelivery(cardId))?.delivery).toMatchObject({ status: 'SENDING', sends: first.sends });
    // The new message's event, before its sender recorded it: the delivery is DELIVERED and counts the send.
    expect(await markMessageEvent({ ...event, providerMessageId: 'resent-message' })).toBe('marked');
    expect((await findDelivery(cardId))?.delivery).toMatchObject({
      status: 'DELIVERED',
      sends: first.sends + 1,
      providerMessageId: 'resent-message',
    });
  });
});

describe('the logs', () => {
  it('hold no card code', () => {
    expect(codes.length).toBeGreaterThan(0);
    expect(logged.length).toBeGreaterThan(0);
    for (const code of codes) expect(logged.filter((line) => line.includes(code))).toEqual([]);
  });
});
