import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DomainError } from '../../functions/core/errors';
import type { Merchant } from '../../functions/core/merchant';
import { WEBHOOK_EVENT_TYPES } from '../../functions/core/webhook-events';
import { MAX_WEBHOOKS_PER_MERCHANT } from '../../functions/core/webhook-model';
import { verifyWebhook } from '../../functions/core/webhook-signature';
import { logger } from '../../functions/logger';
import { runWebhookRetries } from '../../functions/scheduled/webhook-retries';
import { db, tableName } from '../../functions/store/dynamo-client';
import { createMerchant, updateMerchant } from '../../functions/store/merchants';
import { guardedLookup, httpTransport } from '../../functions/store/webhook-http';
import { createWebhook, deleteWebhook, listDeliveries } from '../../functions/store/webhooks';
import { handler } from '../../functions/streams/webhooks';
import { lambdaContext } from '../../local/handlers';
import { issueCard, operateOnCard } from '../support/cards';
import { everyone, everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * The webhooks consumer and retry sweep against DynamoDB Local, fed with stream records built from the
 * table's own ledger items (so a test can replay them at will), sending to a receiver on 127.0.0.1.
 */
interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read payloads field by field.
  readonly event: any;
  readonly status: number;
}

const servers: Server[] = [];

async function receiver(respond: (event: { type: string; cardId: string }, count: number) => number) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const event = body ? JSON.parse(body) : {};
      const status =
        req.url === '/moved'
          ? 200
          : respond({ type: event.type, cardId: event.data?.transaction?.cardId }, received.length + 1);
      received.push({ headers: req.headers, body, event, status });
      if (status === 302) res.writeHead(302, { Location: '/moved' }).end();
      else res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    accepted: () => received.filter((r) => r.status < 300),
  };
}

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('webhooks');
  await testEnv();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await table.drop();
});

async function ledgerItems(cardId: string): Promise<Record<string, unknown>[]> {
  const out = await db().send(
    new QueryCommand({
      TableName: tableName(),
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :tx)',
      ExpressionAttributeValues: { ':pk': `CARD#${cardId}`, ':tx': 'TX#' },
    }),
  );
  return out.Items ?? [];
}

let sequence = 1000;
/** Lambda-shaped INSERT records of ledger items, as the stream would carry them. */
function streamEvent(items: readonly Record<string, unknown>[]): DynamoDBStreamEvent {
  return {
    Records: items.map((item): DynamoDBRecord => {
      sequence += 1;
      return {
        eventID: String(sequence),
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        awsRegion: 'us-east-1',
        dynamodb: {
          Keys: marshall({ PK: item.PK, SK: item.SK }) as never,
          NewImage: marshall(item, { removeUndefinedValues: true }) as never,
          SequenceNumber: String(sequence),
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      };
    }),
  };
}

const consume = (items: readonly Record<string, unknown>[]) =>
  handler(streamEvent(items), lambdaContext('giftcard-webhooks', 60_000));

async function tenant(): Promise<{ programId: string; merchant: Merchant }> {
  const program = await makeProgram();
  const merchant = await createMerchant({ name: 'Hook shop', programIds: [program.id] }, undefined);
  return { programId: program.id, merchant };
}

async function newCard(programId: string): Promise<string> {
  const { card } = await issueCard(
    programId,
    { type: 'DIGITAL', amount: 2000, activate: true },
    staffContext(),
    undefined,
    everyProgram,
  );
  await operateOnCard(card.id, { type: 'REDEEM', amount: 500 }, staffContext(), undefined, everyone);
  return card.id;
}

const inHours = (hours: number) => new Date(Date.now() + hours * 3600_000);
const eventsOf = (received: readonly Received[], cardId: string) =>
  received
    .filter((r) => r.event.data.transaction.cardId === cardId)
    .map((r) => `${r.event.data.transaction.id} ${r.event.type}`);

describe('webhooks consumer and retry sweep', () => {
  it('a replayed batch writes no second delivery and sends nothing twice', async () => {
    const { programId, merchant } = await tenant();
    const target = await receiver(() => 200);
    const hook = await createWebhook(
      merchant.id,
      { url: target.url, events: WEBHOOK_EVENT_TYPES },
      undefined,
    );
    const cardId = await newCard(programId);
    const items = await ledgerItems(cardId);
    expect(items).toHaveLength(3); // ISSUE, ACTIVATE (with the value), REDEEM

    expect(await consume(items)).toEqual({ batchItemFailures: [] });
    const first = eventsOf(target.received, cardId);
    expect(first.map((e) => e.split(' ')[1])).toEqual([
      'card.issued',
      'transaction.created',
      'card.activated',
      'transaction.created',
      'transaction.created',
    ]);
    for (const r of target.received) {
      const headers = {
        id: r.headers['webhook-id'] as string,
        timestamp: r.headers['webhook-timestamp'] as string,
        signature: r.headers['webhook-signature'] as string,
      };
      expect(verifyWebhook(hook.secret, headers, r.body)).toBe(true);
    }

    // The same records again, and each twice in one batch: Lambda and the poller may replay.
    expect(await consume(items)).toEqual({ batchItemFailures: [] });
    expect(await consume(items.flatMap((item) => [item, item]))).toEqual({ batchItemFailures: [] });
    await runWebhookRetries({ now: inHours(2) });
    expect(target.received).toHaveLength(5);
    const deliveries = await listDeliveries(hook.id, { limit: 50 });
    expect(deliveries.items).toHaveLength(5);
    expect(new Set(deliveries.items.map((d) => d.status))).toEqual(new Set(['DELIVERED']));
    expect(new Set(deliveries.items.map((d) => d.attempts))).toEqual(new Set([1]));
  });

  it("keeps each card's order behind a failing delivery while other cards go on", async () => {
    const { programId, merchant } = await tenant();
    let failing = true;
    let failingCard = '';
    const target = await receiver(({ cardId }) => (failing && cardId === failingCard ? 500 : 200));
    await createWebhook(merchant.id, { url: target.url, events: WEBHOOK_EVENT_TYPES }, undefined);
    const a = await newCard(programId);
    const b = await newCard(programId);
    failingCard = a;
    const [a1, a2, a3] = await ledgerItems(a);
    const [b1, b2, b3] = await ledgerItems(b);
    const batch = [a1, b1, a2, b2, a3, b3].filter((item): item is Record<string, unknown> => Boolean(item));
    expect(await consume(batch)).toEqual({ batchItemFailures: [] });
    // A's first delivery failed: nothing of A may overtake it; the endpoint is left to the sweep.
    expect(target.accepted()).toHaveLength(0);

    await runWebhookRetries();
    expect(eventsOf(target.accepted(), a)).toEqual([]);
    expect(eventsOf(target.accepted(), b)).toHaveLength(5);

    failing = false;
    await runWebhookRetries({ now: inHours(1) });
    const aEvents = eventsOf(target.accepted(), a);
    expect(aEvents).toHaveLength(5);
    expect(aEvents.map((e) => e.split(' ')[1])).toEqual([
      'card.issued',
      'transaction.created',
      'card.activated',
      'transaction.created',
      'transaction.created',
    ]);
    const seqs = aEvents.map((e) => Number(e.split(' ')[0]?.split('_').at(-1)));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it('a merchant taken off the program gets nothing more; a deleted endpoint drops what waits', async () => {
    const { programId, merchant } = await tenant();
    const target = await receiver(() => 503);
    const hook = await createWebhook(merchant.id, { url: target.url, events: ['card.issued'] }, undefined);
    const gone = await createWebhook(merchant.id, { url: target.url, events: ['card.activated'] }, undefined);
    const cardId = await newCard(programId);
    await consume(await ledgerItems(cardId));
    expect(target.received).toHaveLength(2);

    await deleteWebhook(gone);
    await updateMerchant(merchant.id, { programIds: [] });
    const warnings = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const report = await runWebhookRetries({ now: inHours(1) });
    expect(report).toMatchObject({ dropped: 1, dead: 1, attempted: 0 });
    expect(target.received).toHaveLength(2);
    const [dead] = (await listDeliveries(hook.id, { status: 'DEAD', limit: 10 })).items;
    expect(dead).toMatchObject({ status: 'DEAD', attempts: 1 });
    expect(dead?.lastError).toContain('no longer belongs');
    // Ops' alarm: one metric-friendly warning per delivery given up on.
    expect(warnings).toHaveBeenCalledWith(
      'Webhook delivery dead',
      expect.objectContaining({ metric: 'WebhookDeliveryDead', deliveryId: dead?.id, webhookId: hook.id }),
    );
    warnings.mockRestore();
  });

  it(`caps a merchant at ${MAX_WEBHOOKS_PER_MERCHANT} endpoints`, async () => {
    const merchant = await createMerchant({ name: 'Busy shop', programIds: [] }, undefined);
    const created = [];
    for (let i = 0; i < MAX_WEBHOOKS_PER_MERCHANT; i++) {
      created.push(
        await createWebhook(
          merchant.id,
          { url: `https://hooks.example.com/${i}`, events: ['card.issued'] },
          undefined,
        ),
      );
    }
    await expect(
      createWebhook(merchant.id, { url: 'https://hooks.example.com/x', events: ['card.issued'] }, undefined),
    ).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' } satisfies Partial<DomainError>);
    await deleteWebhook(created[0] as (typeof created)[number]);
    await createWebhook(
      merchant.id,
      { url: 'https://hooks.example.com/x', events: ['card.issued'] },
      undefined,
    );
  });

  it('stores signing secrets sealed, never in clear', async () => {
    const merchant = await createMerchant({ name: 'Sealed shop', programIds: [] }, undefined);
    const hook = await createWebhook(
      merchant.id,
      { url: 'https://hooks.example.com/s', events: ['card.issued'] },
      undefined,
    );
    const raw = await db().send(
      new GetCommand({ TableName: tableName(), Key: { PK: `WEBHOOK#${hook.id}`, SK: 'WEBHOOK' } }),
    );
    const stored = JSON.stringify(raw.Item);
    expect(stored).not.toContain('whsec_');
    expect(stored).not.toContain(hook.secret.slice('whsec_'.length, 20));
  });
});

describe('sending', () => {
  it('checks the addresses a host name resolves to inside the connection (DNS rebinding)', async () => {
    const answer = (options: { all: boolean }) =>
      new Promise<unknown>((resolve) =>
        guardedLookup(false)('localhost', { all: options.all }, (error, address) =>
          resolve(error ?? address),
        ),
      );
    expect(await answer({ all: false })).toMatchObject({ code: 'EPRIVATEADDRESS' });
    expect(await answer({ all: true })).toMatchObject({ code: 'EPRIVATEADDRESS' });
    const allowed = await new Promise<unknown>((resolve) =>
      guardedLookup(true)('localhost', { all: true }, (error, address) => resolve(error ?? address)),
    );
    expect(allowed).toEqual(
      expect.arrayContaining([expect.objectContaining({ address: expect.any(String) })]),
    );
  });

  it('refuses a private destination without the local policy, never follows redirects, times out', async () => {
    const target = await receiver(({ type }) => (type === 'redirect' ? 302 : 200));
    const send = (body: unknown, allowHttpLocalhost: boolean, url = target.url) =>
      httpTransport(
        { url, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) },
        { allowHttpLocalhost },
      );

    expect(await send({ type: 'x' }, false)).toMatchObject({
      ok: false,
      error: expect.stringContaining('refused'),
    });
    expect(target.received).toHaveLength(0);

    expect(await send({ type: 'x' }, true)).toEqual({ ok: true, statusCode: 200 });
    expect(await send({ type: 'redirect' }, true)).toEqual({ ok: false, statusCode: 302, error: 'HTTP 302' });
    expect(target.received.map((r) => r.event.type)).toEqual(['x', 'redirect']);

    const silent = createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const timedOut = await send({ type: 'x' }, true, `http://127.0.0.1:${port}/hook`);
    expect(timedOut).toMatchObject({ ok: false, error: expect.stringContaining('timed out') });
    silent.closeAllConnections();
  });
});
