import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LedgerEntry } from '../../functions/core/ledger';
import { eventTypesOf, WEBHOOK_EVENT_TYPES } from '../../functions/core/webhook-events';
import { verifyWebhook } from '../../functions/core/webhook-signature';
import { logger } from '../../functions/logger';
import type { runWebhookRetries as RunWebhookRetries } from '../../functions/scheduled/webhook-retries';
import { DEMO_PROGRAM } from '../../local/seed';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * Webhooks end to end: the local API registers endpoints, the stream poller feeds the webhooks consumer,
 * and a real HTTP receiver on 127.0.0.1 (allowed by WEBHOOKS_ALLOW_HTTP_LOCALHOST under the local
 * runtime) checks signatures and order. Retries are driven by calling the sweep with a later clock.
 */
interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read payloads field by field.
  readonly event: any;
  /** What the receiver answered. */
  readonly status: number;
}

interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Requests answered 2xx, in arrival order. */
  accepted(): Received[];
  answerWith(respond: (count: number) => number): void;
  close(): Promise<void>;
}

async function startReceiver(respond: (count: number) => number = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  let answer = respond;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = answer(received.length + 1);
      received.push({ path: req.url ?? '', headers: req.headers, body, event: JSON.parse(body), status });
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/giftcard`,
    received,
    accepted: () => received.filter((r) => r.status < 300),
    answerWith: (next) => {
      answer = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let stack: LocalStack;
/** Imported once the stack has set the handlers' environment (log level included), like a cold start. */
let runWebhookRetries: typeof RunWebhookRetries;
let admin: string;
let ops: string;
let support: string;
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  ({ runWebhookRetries } = await import('../../functions/scheduled/webhook-retries'));
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  admin = demo.staffTokens.admin;
  ops = demo.staffTokens.ops;
  support = demo.staffTokens.support;
});
afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.close()));
  await stack.stop();
});

const receiver = async (respond?: (count: number) => number) => {
  const started = await startReceiver(respond);
  receivers.push(started);
  return started;
};

/** A program of its own with one merchant in it: other tests' cards never reach its endpoints. */
async function newTenant(): Promise<{ programId: string; merchantId: string; apiKey: string }> {
  const program = await request('POST', '/v1/programs', {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { ...DEMO_PROGRAM, name: `Webhook test ${randomUUID().slice(0, 8)}` },
  });
  expect(program.status).toBe(201);
  const merchant = await request('POST', '/v1/merchants', {
    token: admin,
    idempotencyKey: randomUUID(),
    body: { name: 'Webhook test shop', programs: [program.body.id] },
  });
  expect(merchant.status).toBe(201);
  const key = await request('POST', `/v1/merchants/${merchant.body.id}/api-keys`, {
    token: admin,
    idempotencyKey: randomUUID(),
    body: {},
  });
  expect(key.status).toBe(201);
  return { programId: program.body.id, merchantId: merchant.body.id, apiKey: key.body.apiKey };
}

async function register(
  apiKey: string,
  url: string,
  events: readonly string[] = WEBHOOK_EVENT_TYPES,
): Promise<{ id: string; secret: string }> {
  const created = await request('POST', '/v1/webhooks', {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body: { url, events },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { id: created.body.id, secret: created.body.secret };
}

async function issue(apiKey: string, programId: string): Promise<string> {
  const issued = await request('POST', '/v1/cards', {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body: { programId, type: 'DIGITAL', amount: 2500, activate: true },
  });
  expect(issued.status, JSON.stringify(issued.body)).toBe(201);
  return issued.body.card.id;
}

async function verb(token: string, cardId: string, action: string, body: unknown = {}) {
  const answer = await request('POST', `/v1/cards/${cardId}/${action}`, {
    token,
    idempotencyKey: randomUUID(),
    body,
  });
  expect(answer.status, `${action}: ${JSON.stringify(answer.body)}`).toBe(200);
}

/** The events a card's ledger should have produced, in order: `<transaction id> <type>`. */
async function expectedEvents(
  apiKey: string,
  cardId: string,
  types: readonly string[] = WEBHOOK_EVENT_TYPES,
) {
  const history = await request('GET', `/v1/cards/${cardId}/transactions?limit=200`, { token: apiKey });
  const entries = [...(history.body.items as LedgerEntry[])].sort(
    (a, b) => Number(a.id.split('_').at(-1)) - Number(b.id.split('_').at(-1)),
  );
  return entries.flatMap((entry) =>
    eventTypesOf(entry)
      .filter((type) => types.includes(type))
      .map((type) => `${entry.id} ${type}`),
  );
}

/** What an endpoint received for a card, in arrival order, each event once (delivery is at least once). */
function receivedEvents(received: readonly Received[], cardId: string): string[] {
  const seen = new Set<string>();
  const events: string[] = [];
  for (const { event } of received) {
    if (event.data.transaction.cardId !== cardId || seen.has(event.id)) continue;
    seen.add(event.id);
    events.push(`${event.data.transaction.id} ${event.type}`);
  }
  return events;
}

const signedHeaders = (r: Received) => ({
  id: r.headers['webhook-id'] as string | undefined,
  timestamp: r.headers['webhook-timestamp'] as string | undefined,
  signature: r.headers['webhook-signature'] as string | undefined,
});

const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3600_000);

describe('merchant webhooks, end to end', () => {
  it('registers an endpoint: the secret is shown once, never listed; an idempotent retry gets the same one', async () => {
    const tenant = await newTenant();
    const target = await receiver();
    const key = randomUUID();
    const body = { url: target.url, events: ['card.issued', 'transaction.created'] };
    const created = await request('POST', '/v1/webhooks', {
      token: tenant.apiKey,
      idempotencyKey: key,
      body,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      url: target.url,
      events: body.events,
      merchantId: tenant.merchantId,
    });
    expect(created.body.id).toMatch(/^wh_[0-9a-z]{26}$/);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const again = await request('POST', '/v1/webhooks', { token: tenant.apiKey, idempotencyKey: key, body });
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(created.body);

    const listed = await request('GET', '/v1/webhooks', { token: tenant.apiKey });
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0].id).toBe(created.body.id);
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');
    expect(listed.body.items[0]).not.toHaveProperty('secret');
  });

  it('delivers signed events of each card in ledger order; during a rotation both secrets sign', async () => {
    const tenant = await newTenant();
    const target = await receiver();
    const hook = await register(tenant.apiKey, target.url);
    const first = await issue(tenant.apiKey, tenant.programId);
    const second = await issue(tenant.apiKey, tenant.programId);
    await verb(tenant.apiKey, first, 'redeem', { amount: 500 });
    await verb(tenant.apiKey, second, 'redeem', { amount: 700 });
    await verb(tenant.apiKey, first, 'block', { reason: 'lost' });
    await verb(admin, first, 'unblock', { reason: 'found by the holder' });
    await verb(tenant.apiKey, first, 'load', { amount: 1000 });
    await verb(admin, second, 'deactivate', { reason: 'closed at the holder request' });
    await stack.poller.drain();

    for (const cardId of [first, second]) {
      expect(receivedEvents(target.received, cardId)).toEqual(await expectedEvents(tenant.apiKey, cardId));
    }
    const types = new Set(target.received.map((r) => r.event.type));
    expect([...types].sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
    for (const delivery of target.received) {
      const headers = signedHeaders(delivery);
      expect(headers.id).toBe(delivery.event.id);
      expect(headers.signature?.split(' ')).toHaveLength(1);
      expect(verifyWebhook(hook.secret, headers, delivery.body)).toBe(true);
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(delivery.event).toMatchObject({ createdAt: delivery.event.data.transaction.createdAt });
      expect(delivery.event.data.card.id).toBe(delivery.event.data.transaction.cardId);
      expect(JSON.stringify(delivery.event)).not.toMatch(/"code"|codeHash|secret/);
    }

    const rotated = await request('POST', `/v1/webhooks/${hook.id}/rotate-secret`, {
      token: tenant.apiKey,
      idempotencyKey: randomUUID(),
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(hook.secret);
    const expires = Date.parse(rotated.body.previousSecretExpiresAt);
    expect(Math.abs(expires - (Date.now() + 24 * 3600_000))).toBeLessThan(5 * 60_000);
    const before = target.received.length;
    await verb(tenant.apiKey, first, 'redeem', { amount: 100 });
    await stack.poller.drain();
    const afterRotation = target.received.slice(before);
    expect(afterRotation.map((r) => r.event.type)).toEqual(['transaction.created']);
    for (const delivery of afterRotation) {
      const headers = signedHeaders(delivery);
      expect(headers.signature?.split(' ')).toHaveLength(2);
      expect(verifyWebhook(rotated.body.secret, headers, delivery.body)).toBe(true);
      expect(verifyWebhook(hook.secret, headers, delivery.body)).toBe(true);
    }
    const listed = await request('GET', '/v1/webhooks', { token: tenant.apiKey });
    expect(listed.body.items[0].previousSecretExpiresAt).toBe(rotated.body.previousSecretExpiresAt);
  });

  it('a receiver that fails the first attempts gets every event later, still in order (at least once)', async () => {
    const tenant = await newTenant();
    const target = await receiver((count) => (count <= 3 ? 503 : 200));
    const hook = await register(tenant.apiKey, target.url);
    const cardId = await issue(tenant.apiKey, tenant.programId);
    await verb(tenant.apiKey, cardId, 'redeem', { amount: 300 });
    await stack.poller.drain();
    // The first delivery failed; the ones behind it wait for it instead of overtaking it.
    expect(target.accepted()).toHaveLength(0);
    const pending = await request('GET', `/v1/webhooks/${hook.id}/deliveries?status=PENDING`, {
      token: tenant.apiKey,
    });
    const expected = await expectedEvents(tenant.apiKey, cardId);
    expect(pending.body.items).toHaveLength(expected.length);

    // Retries are due after 30 s, 2 min, 10 min...: run the sweep with a clock that far ahead.
    for (let hour = 1; hour <= 10 && target.accepted().length < expected.length; hour++) {
      await runWebhookRetries({ now: hoursFromNow(hour) });
    }
    expect(receivedEvents(target.accepted(), cardId)).toEqual(expected);
    const firstEventId = target.received[0]?.event.id;
    expect(target.received.filter((r) => r.event.id === firstEventId).map((r) => r.status)).toEqual([
      503, 503, 503, 200,
    ]);
    const delivered = await request('GET', `/v1/webhooks/${hook.id}/deliveries?status=DELIVERED`, {
      token: tenant.apiKey,
    });
    expect(delivered.body.items).toHaveLength(expected.length);
    const head = delivered.body.items.find((d: { eventId: string }) => d.eventId === firstEventId);
    expect(head).toMatchObject({
      status: 'DELIVERED',
      attempts: 4,
      lastStatusCode: 200,
      nextAttemptAt: null,
    });
  });

  it('a receiver that keeps failing ends DEAD after a day, visible to the merchant and ops, and can be re-driven', async () => {
    const tenant = await newTenant();
    const target = await receiver(() => 500);
    const hook = await register(tenant.apiKey, target.url, ['card.issued', 'card.activated']);
    const cardId = await issue(tenant.apiKey, tenant.programId);
    await stack.poller.drain();
    await runWebhookRetries({ now: hoursFromNow(1) });
    const warnings = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    await runWebhookRetries({ now: hoursFromNow(25) });
    expect(warnings).toHaveBeenCalledWith(
      'Webhook delivery dead',
      expect.objectContaining({ metric: 'WebhookDeliveryDead', webhookId: hook.id }),
    );
    warnings.mockRestore();

    const dead = await request('GET', `/v1/webhooks/${hook.id}/deliveries?status=DEAD`, {
      token: tenant.apiKey,
    });
    expect(dead.status).toBe(200);
    expect(dead.body.items.map((d: { eventType: string }) => d.eventType).sort()).toEqual([
      'card.activated',
      'card.issued',
    ]);
    for (const delivery of dead.body.items) {
      expect(delivery).toMatchObject({ status: 'DEAD', cardId, lastStatusCode: 500, lastError: 'HTTP 500' });
      expect(delivery.attempts).toBeGreaterThanOrEqual(1);
      expect(delivery.deadAt).toEqual(expect.any(String));
      expect(delivery.event.data.transaction.cardId).toBe(cardId);
    }
    expect(target.accepted()).toHaveLength(0);
    const pending = await request('GET', `/v1/webhooks/${hook.id}/deliveries?status=PENDING`, {
      token: tenant.apiKey,
    });
    expect(pending.body.items).toHaveLength(0);

    // Ops find the endpoint through the merchant and see the same dead letters; support may not.
    const listed = await request('GET', `/v1/webhooks?merchantId=${tenant.merchantId}`, { token: ops });
    expect(listed.body.items.map((w: { id: string }) => w.id)).toEqual([hook.id]);
    const asOps = await request('GET', `/v1/webhooks/${hook.id}/deliveries?status=DEAD`, { token: ops });
    expect(asOps.body.items).toHaveLength(2);
    expect((await request('GET', `/v1/webhooks/${hook.id}/deliveries`, { token: support })).status).toBe(403);

    // Fixed receiver: a re-driven delivery goes out with the next sweep; only DEAD ones can be re-driven.
    target.answerWith(() => 200);
    const issued = dead.body.items.find((d: { eventType: string }) => d.eventType === 'card.issued');
    const retried = await request('POST', `/v1/webhooks/${hook.id}/deliveries/${issued.id}/retry`, {
      token: tenant.apiKey,
    });
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id: issued.id, status: 'PENDING', deadAt: null });
    const twice = await request('POST', `/v1/webhooks/${hook.id}/deliveries/${issued.id}/retry`, {
      token: ops,
    });
    expect(twice.status).toBe(409);
    await runWebhookRetries();
    expect(target.accepted().map((r) => r.event.id)).toEqual([issued.eventId]);
    expect(
      verifyWebhook(
        hook.secret,
        signedHeaders(target.accepted()[0] as Received),
        target.accepted()[0]?.body ?? '',
      ),
    ).toBe(true);
    const after = await request('GET', `/v1/webhooks/${hook.id}/deliveries?status=DELIVERED`, { token: ops });
    expect(after.body.items.map((d: { id: string }) => d.id)).toEqual([issued.id]);
  });

  it("delivers only events of the merchant's programs, only to the events subscribed", async () => {
    const mine = await newTenant();
    const other = await newTenant();
    const mineTarget = await receiver();
    const otherTarget = await receiver();
    await register(mine.apiKey, mineTarget.url, ['card.blocked']);
    await register(other.apiKey, otherTarget.url);
    const cardId = await issue(mine.apiKey, mine.programId);
    await verb(mine.apiKey, cardId, 'block', {});
    await stack.poller.drain();
    expect(otherTarget.received).toHaveLength(0);
    expect(mineTarget.received.map((r) => r.event.type)).toEqual(['card.blocked']);
  });

  it.each([
    ['http://hooks.example.com/giftcard'],
    ['https://169.254.169.254/latest/meta-data/'],
    ['https://10.0.0.8/hook'],
    ['https://192.168.1.20/hook'],
    ['https://[fd00::1]/hook'],
    ['https://[::ffff:10.0.0.1]/hook'],
    ['https://127.0.0.2/hook'],
    ['http://0.0.0.0:3000/hook'],
    ['https://user:secret@hooks.example.com/hook'],
    ['https://hooks.example.com/hook#fragment'],
    ['https://metadata.google.internal/'],
    ['https://intranet/hook'],
    ['file:///etc/passwd'],
    ['javascript:alert(1)'],
    ['gopher://hooks.example.com/'],
    [`https://hooks.example.com/${'a'.repeat(2048)}`],
    ['https://hooks.example.com/\u202e/hook'],
  ])('refuses the hostile URL %s with 400 problem+json and writes nothing', async (url) => {
    const tenant = await newTenant();
    const refused = await request('POST', '/v1/webhooks', {
      token: tenant.apiKey,
      idempotencyKey: randomUUID(),
      body: { url, events: ['card.issued'] },
    });
    expect(refused.status).toBe(400);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.body.code).toBe('VALIDATION_FAILED');
    expect(refused.body.errors.map((e: { field: string }) => e.field)).toContain('url');
    const listed = await request('GET', '/v1/webhooks', { token: tenant.apiKey });
    expect(listed.body.items).toEqual([]);
  });

  it('refuses unknown event types and empty lists', async () => {
    const tenant = await newTenant();
    for (const events of [[], ['card.exploded'], 'card.issued']) {
      const refused = await request('POST', '/v1/webhooks', {
        token: tenant.apiKey,
        idempotencyKey: randomUUID(),
        body: { url: 'https://hooks.example.com/x', events },
      });
      expect(refused.status, JSON.stringify(events)).toBe(400);
    }
  });

  it("keeps merchants out of each other's endpoints; staff list by merchant; admin may delete", async () => {
    const owner = await newTenant();
    const stranger = await newTenant();
    const hook = await register(owner.apiKey, 'https://hooks.example.com/owner');
    for (const [method, path] of [
      ['DELETE', `/v1/webhooks/${hook.id}`],
      ['GET', `/v1/webhooks/${hook.id}/deliveries`],
      ['POST', `/v1/webhooks/${hook.id}/rotate-secret`],
      ['POST', `/v1/webhooks/${hook.id}/deliveries/whd_${'0'.repeat(26)}/retry`],
    ] as const) {
      const answer = await request(method, path, { token: stranger.apiKey, idempotencyKey: randomUUID() });
      expect(answer.status, `${method} ${path}`).toBe(404);
    }
    expect(
      (await request('GET', `/v1/webhooks?merchantId=${owner.merchantId}`, { token: stranger.apiKey }))
        .status,
    ).toBe(400);
    expect((await request('GET', '/v1/webhooks', { token: stranger.apiKey })).body.items).toEqual([]);
    expect((await request('GET', '/v1/webhooks', { token: admin })).status).toBe(400);
    expect((await request('GET', '/v1/webhooks', { token: support })).status).toBe(403);
    expect((await request('DELETE', `/v1/webhooks/${hook.id}`, { token: ops })).status).toBe(403);

    const listed = await request('GET', `/v1/webhooks?merchantId=${owner.merchantId}`, { token: admin });
    expect(listed.body.items.map((w: { id: string }) => w.id)).toEqual([hook.id]);
    const deleted = await request('DELETE', `/v1/webhooks/${hook.id}`, { token: admin });
    expect(deleted.status).toBe(204);
    expect((await request('GET', '/v1/webhooks', { token: owner.apiKey })).body.items).toEqual([]);
    expect((await request('DELETE', `/v1/webhooks/${hook.id}`, { token: owner.apiKey })).status).toBe(404);
  });
});
