import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AttributeValue, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import { dynamoDbClient } from '../../local/dynamodb';
import { lambdaContext } from '../../local/handlers';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * Fraud rules end to end: the local API moves money, the stream poller feeds the real fraud consumer
 * (this file opts in to it: test stacks leave it out by default), and support works the alerts through
 * the API. Replays and failures call the consumer's handler directly with stream-shaped events.
 * The demo program runs on the default rules: card velocity (more than 5 redemptions in 10 min) blocks,
 * a drain right after activation and a load above 250.00 alert only.
 */
let stack: LocalStack;
let apiKey: string;
let programId: string;
let merchantId: string;
let support: string;
let admin: string;
let finance: string;
let ops: string;
type Handler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let fraudHandler: Handler;

beforeAll(async () => {
  stack = await startTestStack({ consumers: STREAM_CONSUMERS });
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  ({ apiKey, programId, merchantId } = demo);
  ({ support, admin, finance, ops } = demo.staffTokens);
  // Imported once the stack has set the handlers' environment, like a cold start.
  fraudHandler = (await import('../../functions/streams/fraud')).handler as Handler;
});
afterAll(async () => stack.stop());

async function issue(amount: number, options: { activate?: boolean } = {}): Promise<string> {
  const issued = await request('POST', '/v1/cards', {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body: { programId, type: 'DIGITAL', amount, activate: options.activate ?? true },
  });
  expect(issued.status).toBe(201);
  return issued.body.card.id as string;
}

async function redeem(cardId: string, amount: number) {
  return request('POST', `/v1/cards/${cardId}/redeem`, {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body: { amount, channel: 'POS', locationId: 'store-1' },
  });
}

async function alertsOf(cardId: string) {
  const answer = await request('GET', `/v1/fraud/alerts?cardId=${cardId}`, { token: support });
  expect(answer.status).toBe(200);
  return answer.body.items as { id: string; rule: string; [field: string]: unknown }[];
}

async function card(cardId: string) {
  return (await request('GET', `/v1/cards/${cardId}`, { token: admin })).body;
}

async function entries(cardId: string) {
  const page = await request('GET', `/v1/cards/${cardId}/transactions?limit=200`, { token: admin });
  return page.body.items as { type: string; reason: string | null; actor: { type: string; id: string } }[];
}

/** The card's ledger items as the stream carries them: INSERT records with keys and new image. */
async function streamRecords(cardId: string): Promise<DynamoDBRecord[]> {
  const client = dynamoDbClient(stack.dynamodbEndpoint);
  try {
    const out = await client.send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :tx)',
        ExpressionAttributeValues: marshall({ ':pk': `CARD#${cardId}`, ':tx': 'TX#' }),
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((item) => record(item));
  } finally {
    client.destroy();
  }
}

let sequence = 1_000_000;
function record(item: Record<string, AttributeValue>): DynamoDBRecord {
  sequence += 1;
  return {
    eventID: randomUUID(),
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      Keys: { PK: item.PK as never, SK: item.SK as never },
      NewImage: item as never,
      SequenceNumber: String(sequence),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

/** The fraud counters of a card as stored: redemptions counted per minute. */
async function countedRedemptions(cardId: string): Promise<number> {
  const client = dynamoDbClient(stack.dynamodbEndpoint);
  try {
    const out = await client.send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :m)',
        ExpressionAttributeValues: marshall({ ':pk': `FRAUD#card#${cardId}`, ':m': 'M#' }),
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).reduce((sum, item) => sum + Number(unmarshall(item).count), 0);
  } finally {
    client.destroy();
  }
}

const invoke = (event: DynamoDBStreamEvent) => fraudHandler(event, lambdaContext('fraud', 60_000));

describe('fraud rules fed by the stream', () => {
  let burstCard: string;

  it('a burst of redemptions on one card raises an alert and blocks the card through a BLOCK entry', async () => {
    burstCard = await issue(10_000);
    // Six redemptions: one more than the default allows in 10 minutes. The card cannot be blocked
    // before the sixth is counted, so all six go through whenever the consumer runs.
    for (let i = 0; i < 6; i++) expect((await redeem(burstCard, 100)).status).toBe(200);
    await stack.poller.drain();

    const alerts = await alertsOf(burstCard);
    expect(alerts.map((alert) => alert.rule)).toEqual(['REDEMPTION_VELOCITY_CARD']);
    const [alert] = alerts;
    expect(alert).toMatchObject({
      status: 'OPEN',
      severity: 'HIGH',
      block: true,
      cardAction: 'BLOCKED',
      cardId: burstCard,
      programId,
      merchantId,
      acknowledged: null,
      resolved: null,
    });
    expect(String(alert?.detail)).toContain('6 redemptions');

    expect(await card(burstCard)).toMatchObject({ status: 'BLOCKED' });
    const blocks = (await entries(burstCard)).filter((entry) => entry.type === 'BLOCK');
    expect(blocks).toHaveLength(1);
    expect(blocks[0]?.reason?.startsWith('SUSPECTED_FRAUD')).toBe(true);
    expect(blocks[0]?.actor).toEqual({ type: 'system', id: 'fraud-rules' });
    const block = await request('GET', `/v1/transactions/${alert?.blockTransactionId}`, { token: admin });
    expect(block.body).toMatchObject({ type: 'BLOCK', channel: 'SYSTEM' });

    // The blocked card refuses the next redemption.
    expect((await redeem(burstCard, 100)).body.code).toBe('CARD_BLOCKED');
  });

  it('replaying the same stream records neither counts twice nor raises or blocks again', async () => {
    const records = await streamRecords(burstCard);
    expect(records.length).toBeGreaterThanOrEqual(9); // ISSUE, ACTIVATE, 6 x REDEEM, BLOCK
    const before = { counted: await countedRedemptions(burstCard), alerts: await alertsOf(burstCard) };
    expect(before.counted).toBe(6);

    const event = { Records: records };
    expect((await invoke(event)).batchItemFailures).toEqual([]);
    expect((await invoke(event)).batchItemFailures).toEqual([]);

    expect(await countedRedemptions(burstCard)).toBe(6);
    expect(await alertsOf(burstCard)).toEqual(before.alerts);
    expect((await entries(burstCard)).filter((entry) => entry.type === 'BLOCK')).toHaveLength(1);
  });

  it('a drain right after activation raises an alert without blocking (default settings)', async () => {
    const cardId = await issue(5_000);
    expect((await redeem(cardId, 4_600)).status).toBe(200);
    await stack.poller.drain();
    const alerts = await alertsOf(cardId);
    expect(alerts.map((alert) => alert.rule)).toEqual(['DRAIN_AFTER_ACTIVATION']);
    expect(alerts[0]).toMatchObject({ block: false, cardAction: null, severity: 'HIGH' });
    expect(String(alerts[0]?.detail)).toContain('46.00 USD of the 50.00 USD activated');
    expect(await card(cardId)).toMatchObject({ status: 'ACTIVE' });
  });

  it('a pre-loaded card drained right after its activation at the till alerts too', async () => {
    const cardId = await issue(2_000, { activate: false });
    const activated = await request('POST', `/v1/cards/${cardId}/activate`, {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { amount: 0 },
    });
    expect(activated.status).toBe(200);
    expect((await redeem(cardId, 2_000)).status).toBe(200);
    await stack.poller.drain();
    expect((await alertsOf(cardId)).map((alert) => alert.rule)).toEqual(['DRAIN_AFTER_ACTIVATION']);
  });

  it('a big load raises an alert without blocking (default settings); a small one nothing', async () => {
    const cardId = await issue(1_000);
    const small = await request('POST', `/v1/cards/${cardId}/load`, {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { amount: 25_000 },
    });
    expect(small.status).toBe(200);
    const big = await request('POST', `/v1/cards/${cardId}/load`, {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { amount: 30_000 },
    });
    expect(big.status).toBe(200);
    await stack.poller.drain();
    const alerts = await alertsOf(cardId);
    expect(alerts.map((alert) => alert.rule)).toEqual(['LARGE_LOAD']);
    expect(alerts[0]).toMatchObject({
      block: false,
      cardAction: null,
      severity: 'MEDIUM',
      transactionId: big.body.transaction.id,
    });
    expect(await card(cardId)).toMatchObject({ status: 'ACTIVE', balance: 56_000 });
  });

  it('a record that fails is reported in batchItemFailures, with later records of its card; others pass', async () => {
    const good = await streamRecords(await issue(30_000));
    const brokenCard = await issue(1_000);
    const loaded = await request('POST', `/v1/cards/${brokenCard}/load`, {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { amount: 1_000 },
    });
    expect(loaded.status).toBe(200);
    const broken = (await streamRecords(brokenCard)).map((one) => {
      const image = unmarshall(one.dynamodb?.NewImage as Record<string, AttributeValue>);
      // Entries whose program cannot be read: the rules cannot be evaluated.
      return {
        type: String(image.type),
        record: record(marshall({ ...image, programId: `prg_${'9'.repeat(26)}` })),
      };
    });
    expect(broken.map((one) => one.type)).toEqual(['ISSUE', 'ACTIVATE', 'LOAD']);
    const event = { Records: [...good, ...broken.map((one) => one.record)] };
    const response = await invoke(event);
    // ISSUE concerns no rule; ACTIVATE fails; LOAD, behind it on the same card, fails with it.
    expect(response.batchItemFailures).toEqual(
      broken.slice(1).map((one) => ({ itemIdentifier: one.record.dynamodb?.SequenceNumber })),
    );
  });

  it('a record failing for good ends in the DLQ through the poller, not dropped', async () => {
    // A sound first entry of a card whose program cannot be read: the poller retries it, then writes it
    // to the consumer's DLQ file (in AWS: the event source mapping's on-failure queue).
    const cardId = `gc_${'z'.repeat(26)}`;
    const client = dynamoDbClient(stack.dynamodbEndpoint);
    try {
      await client.send(
        new PutItemCommand({
          TableName: stack.tableName,
          Item: marshall({
            PK: `CARD#${cardId}`,
            SK: 'TX#0000000001',
            id: `tx_${cardId.slice(3)}_1`,
            cardId,
            programId: `prg_${'8'.repeat(26)}`,
            seq: 1,
            type: 'LOAD',
            amount: 100,
            currency: 'USD',
            balanceAfter: 100,
            availableAfter: 100,
            actor: { type: 'system', id: 'test' },
            channel: 'SYSTEM',
            createdAt: new Date().toISOString(),
          }),
        }),
      );
    } finally {
      client.destroy();
    }
    await stack.poller.drain(120_000);
    const dlq = join(stack.dataDir, 'dlq', 'fraud.jsonl');
    expect(existsSync(dlq)).toBe(true);
    expect(readFileSync(dlq, 'utf8')).toContain(`tx_${cardId.slice(3)}_1`);
  }, 180_000);
});

describe('fraud alerts API', () => {
  let alertId: string;
  let cardId: string;

  beforeAll(async () => {
    cardId = await issue(10_000);
    for (let i = 0; i < 6; i++) await redeem(cardId, 10);
    await stack.poller.drain();
    const [alert] = await alertsOf(cardId);
    if (!alert) throw new Error('no alert raised');
    alertId = alert.id;
  });

  it('lists by status, newest first, with pagination; gets one', async () => {
    const open = await request('GET', '/v1/fraud/alerts?status=OPEN&limit=200', { token: admin });
    expect(open.status).toBe(200);
    expect(open.body.items.map((alert: { id: string }) => alert.id)).toContain(alertId);
    const times = open.body.items.map((alert: { createdAt: string }) => alert.createdAt);
    expect([...times].sort().reverse()).toEqual(times);

    const first = await request('GET', '/v1/fraud/alerts?limit=1', { token: support });
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await request('GET', `/v1/fraud/alerts?limit=1&cursor=${first.body.nextCursor}`, {
      token: support,
    });
    expect(second.body.items).toHaveLength(1);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
    const crossed = await request('GET', `/v1/fraud/alerts?status=RESOLVED&cursor=${first.body.nextCursor}`, {
      token: support,
    });
    expect(crossed.status).toBe(400);

    const one = await request('GET', `/v1/fraud/alerts/${alertId}`, { token: support });
    expect(one.body).toMatchObject({ id: alertId, rule: 'REDEMPTION_VELOCITY_CARD', cardId });
    expect((await request('GET', `/v1/fraud/alerts/fa_${'0'.repeat(26)}`, { token: support })).status).toBe(
      404,
    );
    expect((await request('GET', '/v1/fraud/alerts/nope', { token: support })).status).toBe(404);
    expect((await request('GET', '/v1/fraud/alerts?status=LOST', { token: support })).status).toBe(400);
  });

  it('support acknowledges then resolves, recording who, when and the note; steps out of order are 409', async () => {
    const noNote = await request('POST', `/v1/fraud/alerts/${alertId}/acknowledge`, {
      token: support,
      body: {},
    });
    expect(noNote.status).toBe(400);

    const acknowledged = await request('POST', `/v1/fraud/alerts/${alertId}/acknowledge`, {
      token: support,
      body: { note: 'calling the card holder' },
    });
    expect(acknowledged.status).toBe(200);
    expect(acknowledged.body).toMatchObject({
      status: 'ACKNOWLEDGED',
      acknowledged: { note: 'calling the card holder', by: { type: 'staff' }, at: expect.any(String) },
      resolved: null,
    });
    const again = await request('POST', `/v1/fraud/alerts/${alertId}/acknowledge`, {
      token: support,
      body: { note: 'twice' },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CONFLICT');

    const key = randomUUID();
    const resolved = await request('POST', `/v1/fraud/alerts/${alertId}/resolve`, {
      token: support,
      idempotencyKey: key,
      body: { note: 'confirmed stolen; card stays blocked' },
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({
      status: 'RESOLVED',
      acknowledged: { note: 'calling the card holder' },
      resolved: { note: 'confirmed stolen; card stays blocked', by: { type: 'staff' } },
    });
    // A retry with the same key answers as the first time; without it, the step is refused.
    const replay = await request('POST', `/v1/fraud/alerts/${alertId}/resolve`, {
      token: support,
      idempotencyKey: key,
      body: { note: 'confirmed stolen; card stays blocked' },
    });
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const twice = await request('POST', `/v1/fraud/alerts/${alertId}/resolve`, {
      token: support,
      body: { note: 'again' },
    });
    expect(twice.status).toBe(409);

    // Resolving does not unblock: support does that explicitly.
    expect(await card(cardId)).toMatchObject({ status: 'BLOCKED' });
    const resolvedList = await request('GET', '/v1/fraud/alerts?status=RESOLVED', { token: support });
    expect(resolvedList.body.items.map((alert: { id: string }) => alert.id)).toContain(alertId);
    const openList = await request('GET', '/v1/fraud/alerts?status=OPEN&limit=200', { token: support });
    expect(openList.body.items.map((alert: { id: string }) => alert.id)).not.toContain(alertId);
    const byCard = await request('GET', `/v1/fraud/alerts?cardId=${cardId}&status=OPEN`, { token: support });
    expect(byCard.body.items).toEqual([]);

    const unblocked = await request('POST', `/v1/cards/${cardId}/unblock`, {
      token: support,
      body: { reason: 'alert resolved: holder verified' },
    });
    expect(unblocked.status).toBe(200);
    expect(unblocked.body.card.status).toBe('ACTIVE');
  });

  it('merchants, finance and ops may not see or work alerts', async () => {
    for (const token of [apiKey, finance, ops]) {
      expect((await request('GET', '/v1/fraud/alerts', { token })).status).toBe(403);
      expect((await request('GET', `/v1/fraud/alerts/${alertId}`, { token })).status).toBe(403);
      for (const step of ['acknowledge', 'resolve']) {
        const answer = await request('POST', `/v1/fraud/alerts/${alertId}/${step}`, {
          token,
          idempotencyKey: randomUUID(),
          body: { note: 'not mine to do' },
        });
        expect(answer.status).toBe(403);
      }
    }
    expect((await request('GET', '/v1/fraud/alerts')).status).toBe(401);
  });
});

describe('fraud settings per program', () => {
  it('programs show the default rules; PATCH changes only what it names and is validated', async () => {
    const program = await request('GET', `/v1/programs/${programId}`, { token: admin });
    expect(program.body.fraudRules.REDEMPTION_VELOCITY_CARD).toEqual({
      enabled: true,
      block: true,
      windowMinutes: 10,
      maxCount: 5,
      maxAmount: 200_000,
    });

    const bad = await request('PATCH', `/v1/programs/${programId}`, {
      token: admin,
      body: { fraudRules: { DRAIN_AFTER_ACTIVATION: { percent: 101 }, NO_SUCH_RULE: {} } },
    });
    expect(bad.status).toBe(400);
    const fields = bad.body.errors.map((error: { field: string }) => error.field);
    expect(fields).toEqual(
      expect.arrayContaining(['fraudRules.DRAIN_AFTER_ACTIVATION.percent', 'fraudRules.NO_SUCH_RULE']),
    );

    const created = await request('POST', '/v1/programs', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: {
        name: 'Strict',
        currency: 'EUR',
        fraudRules: { LARGE_LOAD: { threshold: 5_000, block: true } },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.fraudRules.LARGE_LOAD).toEqual({ enabled: true, block: true, threshold: 5_000 });
    expect(created.body.fraudRules.MANY_MERCHANTS).toMatchObject({ enabled: true, maxMerchants: 5 });

    const patched = await request('PATCH', `/v1/programs/${created.body.id}`, {
      token: admin,
      body: { fraudRules: { LARGE_LOAD: { enabled: false } } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.fraudRules.LARGE_LOAD).toEqual({ enabled: false, block: true, threshold: 5_000 });
  });

  it('a rule set to block blocks: a large load on a program that says so', async () => {
    const patched = await request('PATCH', `/v1/programs/${programId}`, {
      token: admin,
      body: { fraudRules: { LARGE_LOAD: { threshold: 40_000, block: true } } },
    });
    expect(patched.status).toBe(200);
    try {
      const cardId = await issue(45_000);
      await stack.poller.drain();
      const [alert] = await alertsOf(cardId);
      expect(alert).toMatchObject({ rule: 'LARGE_LOAD', block: true, cardAction: 'BLOCKED' });
      expect(await card(cardId)).toMatchObject({ status: 'BLOCKED' });
    } finally {
      await request('PATCH', `/v1/programs/${programId}`, {
        token: admin,
        body: { fraudRules: { LARGE_LOAD: { threshold: 25_000, block: false } } },
      });
    }
  });
});

describe('failed checks per caller', () => {
  it('more than 20 lookups that found nothing from one API key in 10 minutes raise one alert', async () => {
    // A merchant whose keys may fail 100 times before they are stopped: the alert comes well before.
    const merchant = await request('POST', '/v1/merchants', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Guessing chain', programs: [programId], checkLimits: { failuresPerCaller: 100 } },
    });
    expect(merchant.status).toBe(201);
    const guessingMerchant = merchant.body.id as string;
    const created = await request('POST', `/v1/merchants/${guessingMerchant}/api-keys`, {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { description: 'guessing till' },
    });
    const guesser = created.body.apiKey as string;
    const keyId = created.body.id as string;
    // 41 failures: whatever window boundary they straddle, exactly one window goes past 20.
    for (let i = 0; i < 41; i++) {
      const code = String(4_000_000_000_000_000 + i * 7919).padStart(16, '0');
      const answer = await request('POST', '/v1/cards/lookup', { token: guesser, body: { code } });
      expect(answer.status).toBe(404);
    }
    await stack.poller.drain();
    const open = await request('GET', '/v1/fraud/alerts?status=OPEN&limit=200', { token: support });
    const mine = open.body.items.filter(
      (alert: { caller: string | null }) => alert.caller === `key#${keyId}`,
    );
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      rule: 'FAILED_CHECKS_KEY',
      cardId: null,
      merchantId: guessingMerchant,
      block: false,
      severity: 'HIGH',
    });
  });
});
