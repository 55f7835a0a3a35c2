import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { toMicros } from '../../functions/core/google-wallet';
import { logger } from '../../functions/logger';
import { applePushTargets, registerAppleDevice, rememberApplePass } from '../../functions/store/apple-passes';
import { deviceUpdateTags } from '../../functions/store/apple-update-tags';
import { db } from '../../functions/store/dynamo-client';
import { claimMessageType } from '../../functions/store/google-objects';
import { addGoogleMessage } from '../../functions/store/google-wallet';
import {
  latestWalletMessage,
  recordWalletMessage,
  walletMessagePut,
} from '../../functions/store/wallet-messages';
import { handler as walletSync } from '../../functions/streams/wallet-sync';
import { lambdaContext } from '../../local/handlers';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { resetHandlerState } from '../support/reset';
import { startTestStack } from '../support/stack';

/**
 * Wallet pass sync end to end: the HTTP API writes, DynamoDB Local's stream feeds the wallet-sync
 * consumer through the local poller, and the consumer pushes to the APNs stand-in and calls the Google
 * Wallet stand-in. Device registrations are written through the Apple pass store, as the PassKit web
 * service does.
 */
let stack: LocalStack;
let apiKey: string;
let admin: string;
let programId: string;
/** The stack's pass type (its local pass certificate's): APNs takes pushes only for that topic. */
let PASS_TYPE: string;
const SYSTEM = { type: 'system', id: 'wallet-sync-test' } as const;

beforeAll(async () => {
  stack = await startTestStack();
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  apiKey = demo.apiKey;
  admin = demo.staffTokens.admin;
  programId = demo.programId;
  PASS_TYPE = JSON.parse(readFileSync(join(stack.dataDir, 'apple-pass.json'), 'utf8')).certificates
    .passTypeIdentifier;
});
afterAll(async () => stack.stop());
beforeEach(async () => {
  await stack.poller.drain();
  stack.apns.reset();
  stack.google.reset();
});

const pushToken = () => randomBytes(32).toString('hex');

async function issue(amount = 5000, program = programId): Promise<{ id: string; programId: string }> {
  const answer = await request('POST', '/v1/cards', {
    token: program === programId ? apiKey : admin,
    idempotencyKey: randomUUID(),
    body: { programId: program, type: 'DIGITAL', amount, activate: true },
  });
  expect(answer.status).toBe(201);
  return answer.body.card;
}

/** What the PassKit web service does when a device adds the pass and registers for updates. */
async function registerDevice(card: { id: string; programId: string }, token = pushToken()) {
  const authToken = randomBytes(16).toString('hex');
  const tokenHash = createHash('sha256').update(authToken).digest('hex');
  await rememberApplePass({
    cardId: card.id,
    tokenHash,
    passTypeIdentifier: PASS_TYPE,
    createdAt: new Date().toISOString(),
  });
  const deviceLibraryIdentifier = randomBytes(16).toString('hex');
  expect(
    await registerAppleDevice(
      {
        cardId: card.id,
        programId: card.programId,
        deviceLibraryIdentifier,
        passTypeIdentifier: PASS_TYPE,
        pushToken: token,
      },
      tokenHash,
    ),
  ).toBe('created');
  return { pushToken: token, deviceLibraryIdentifier, tokenHash };
}

/** The card holder saved the pass to Google Wallet: the API handed out a save link. */
async function saveToGoogle(cardId: string): Promise<string> {
  const answer = await request('GET', `/v1/cards/${cardId}/wallet/google`, { token: apiKey });
  expect(answer.status).toBe(200);
  const jwt = String(answer.body.saveUrl).split('/').at(-1) ?? '';
  const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
  return claims.payload.giftCardObjects[0].id;
}

async function redeem(cardId: string, amount: number) {
  const answer = await request('POST', `/v1/cards/${cardId}/redeem`, {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body: { amount },
  });
  expect(answer.status).toBe(200);
  return answer.body.card;
}

/** The stream record of a wallet message item, as the stream delivers it (for replays). */
function messageRecord(pk: string, message: { id: string; createdAt: string }): DynamoDBRecord {
  const keys = { PK: pk, SK: `WALLETMSG#${message.createdAt}#${message.id}` };
  return {
    eventID: randomUUID(),
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: marshall(keys) as never,
      NewImage: marshall({ ...keys, ...message }) as never,
      SequenceNumber: String(Date.now()),
    },
  };
}

const dlqLines = (): { record: DynamoDBRecord }[] => {
  const file = join(stack.dataDir, 'dlq', 'wallet-sync.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
};

describe('Google save link', () => {
  it('GET /v1/cards/{cardId}/wallet/google answers a save link; another tenant gets 404', async () => {
    const card = await issue();
    const answer = await request('GET', `/v1/cards/${card.id}/wallet/google`, { token: apiKey });
    expect(answer.status).toBe(200);
    expect(answer.body.saveUrl).toMatch(/^https:\/\/pay\.google\.com\/gp\/v\/save\/[\w-]+\.[\w-]+\.[\w-]+$/);

    // A merchant outside the card's program sees no such card.
    const other = await request('POST', '/v1/merchants', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Other shop' },
    });
    const key = await request('POST', `/v1/merchants/${other.body.id}/api-keys`, {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { scopes: ['cards:read'] },
    });
    const foreign = await request('GET', `/v1/cards/${card.id}/wallet/google`, { token: key.body.apiKey });
    expect(foreign.status).toBe(404);
  });
});

describe('balance updates reach the passes', () => {
  it('a redemption leads to exactly one APNs push and one Google PATCH carrying the new balance', async () => {
    const card = await issue(5000);
    const device = await registerDevice(card);
    const objectId = await saveToGoogle(card.id);
    await stack.poller.drain();
    stack.apns.reset();
    stack.google.reset();

    const after = await redeem(card.id, 1250);
    await stack.poller.drain();

    const pushes = stack.apns.delivered(device.pushToken);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]).toMatchObject({ topic: PASS_TYPE, payload: '{}', auth: 'certificate' });
    expect(stack.apns.pushes).toHaveLength(1);
    const patches = stack.google.succeeded('patch');
    expect(patches).toHaveLength(1);
    expect(patches[0]?.resourceId).toBe(objectId);
    expect(patches[0]?.body).toMatchObject({
      balance: { micros: toMicros(3750, 'USD'), currencyCode: 'USD' },
      balanceUpdateTime: { date: after.updatedAt },
      state: 'ACTIVE',
    });
  });

  it('a change the pass does not show (a new PIN) pushes nothing; a block turns the Google pass inactive', async () => {
    const card = await issue(5000);
    const device = await registerDevice(card);
    await saveToGoogle(card.id);
    await stack.poller.drain();
    stack.apns.reset();
    stack.google.reset();

    const pin = await request('PUT', `/v1/cards/${card.id}/pin`, { token: apiKey, body: { pin: '4821' } });
    expect(pin.status).toBe(200);
    await stack.poller.drain();
    expect(stack.apns.pushes).toHaveLength(0);
    expect(stack.google.calls).toHaveLength(0);

    const block = await request('POST', `/v1/cards/${card.id}/block`, {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { reason: 'lost' },
    });
    expect(block.status).toBe(200);
    await stack.poller.drain();
    expect(stack.apns.delivered(device.pushToken)).toHaveLength(1);
    expect(stack.google.succeeded('patch')[0]?.body.state).toBe('INACTIVE');
  });

  it('several changes of one card in a batch push once and PATCH the newest balance once', async () => {
    const card = await issue(5000);
    const device = await registerDevice(card);
    const objectId = await saveToGoogle(card.id);
    await stack.poller.drain();
    stack.apns.reset();
    stack.google.reset();

    const image = (balance: number, seq: number) =>
      marshall({
        PK: `CARD#${card.id}`,
        SK: 'CARD',
        ...card,
        balance,
        available: balance,
        seq,
        updatedAt: new Date().toISOString(),
      }) as never;
    const change = (from: number, to: number, seq: number): DynamoDBRecord => ({
      eventID: randomUUID(),
      eventName: 'MODIFY',
      eventSource: 'aws:dynamodb',
      dynamodb: {
        Keys: marshall({ PK: `CARD#${card.id}`, SK: 'CARD' }) as never,
        OldImage: image(from, seq - 1),
        NewImage: image(to, seq),
        SequenceNumber: `${Date.now()}${seq}`,
      },
    });
    const answer = await walletSync(
      { Records: [change(5000, 4000, 3), change(4000, 3000, 4), change(3000, 2500, 5)] },
      lambdaContext('wallet-sync', 60_000),
    );
    expect(answer.batchItemFailures).toEqual([]);
    expect(stack.apns.delivered(device.pushToken)).toHaveLength(1);
    const patches = stack.google.succeeded('patch', objectId);
    expect(patches.map((patch) => patch.body.balance.micros)).toEqual([toMicros(2500, 'USD')]);
  });

  it('a push failing with 500 is retried and delivered once; the PATCH follows once', async () => {
    const card = await issue(5000);
    const device = await registerDevice(card);
    await saveToGoogle(card.id);
    await stack.poller.drain();
    stack.apns.reset();
    stack.google.reset();

    // More failures than one invocation tries (3): the record fails and the poller retries it.
    stack.apns.failToken(device.pushToken, 500, 4);
    await redeem(card.id, 100);
    await stack.poller.drain();

    expect(stack.apns.pushes.filter((push) => push.status === 500)).toHaveLength(4);
    expect(stack.apns.delivered(device.pushToken)).toHaveLength(1);
    expect(stack.google.succeeded('patch')).toHaveLength(1);
    expect(dlqLines()).toHaveLength(0);
  });

  it('a push that keeps failing lands in the DLQ after the retries, not lost', async () => {
    const card = await issue(5000);
    const device = await registerDevice(card);
    await stack.poller.drain();
    stack.apns.failToken(device.pushToken, 500);

    await redeem(card.id, 100);
    await stack.poller.drain(120_000);

    const dead = dlqLines();
    expect(dead).toHaveLength(1);
    expect(dead[0]?.record.dynamodb?.Keys?.PK?.S).toBe(`CARD#${card.id}`);
    expect(stack.apns.delivered(device.pushToken)).toHaveLength(0);
    // The poller tried it 6 times (first + 5 retries), 3 calls each.
    expect(stack.apns.pushes.length).toBe(18);
    // The registration stays: the device may come back.
    expect(await applePushTargets(card.id)).toHaveLength(1);
    stack.apns.clearFaults();
  });

  it('410 Unregistered removes the registration and is not a failure', async () => {
    const card = await issue(5000);
    const gone = await registerDevice(card);
    const kept = await registerDevice(card);
    await stack.poller.drain();
    stack.apns.failToken(gone.pushToken, 410);
    const dlqBefore = dlqLines().length;

    await redeem(card.id, 100);
    await stack.poller.drain();

    expect(stack.apns.delivered(kept.pushToken)).toHaveLength(1);
    expect(await applePushTargets(card.id)).toEqual([
      { deviceLibraryIdentifier: kept.deviceLibraryIdentifier, pushToken: kept.pushToken },
    ]);
    expect(dlqLines()).toHaveLength(dlqBefore);
    // The next change pushes to the remaining device only.
    stack.apns.reset();
    await redeem(card.id, 100);
    await stack.poller.drain();
    expect(stack.apns.pushes.map((push) => push.pushToken)).toEqual([kept.pushToken]);
  });

  it('a device that registered again with a new push token while APNs refused the old one stays registered', async () => {
    const card = await issue(5000);
    const device = await registerDevice(card);
    await stack.poller.drain();
    stack.apns.reset();
    stack.apns.failToken(device.pushToken, 410, 1);
    const renewed = pushToken();
    // While APNs answers 410 to the old token, Wallet registers the pass again with its new token.
    stack.apns.whilePushing(device.pushToken, async () => {
      const again = await registerAppleDevice(
        {
          cardId: card.id,
          programId: card.programId,
          deviceLibraryIdentifier: device.deviceLibraryIdentifier,
          passTypeIdentifier: PASS_TYPE,
          pushToken: renewed,
        },
        device.tokenHash,
      );
      expect(again).toBe('updated');
    });

    await redeem(card.id, 100);
    await stack.poller.drain();

    expect(stack.apns.pushes.map((push) => [push.pushToken, push.status])).toEqual([[device.pushToken, 410]]);
    expect(await applePushTargets(card.id)).toEqual([
      { deviceLibraryIdentifier: device.deviceLibraryIdentifier, pushToken: renewed },
    ]);
    const tags = await deviceUpdateTags(device.deviceLibraryIdentifier, PASS_TYPE);
    expect(tags.registrations.map((registration) => registration.serialNumber)).toEqual([card.id]);
    // The next change reaches the device through its new token.
    stack.apns.reset();
    await redeem(card.id, 100);
    await stack.poller.drain();
    expect(stack.apns.delivered().map((push) => push.pushToken)).toEqual([renewed]);
  });

  it('400 BadDeviceToken and DeviceTokenNotForTopic remove the registration, as Apple asks', async () => {
    const card = await issue(5000);
    const bad = await registerDevice(card);
    const otherTopic = await registerDevice(card);
    const kept = await registerDevice(card);
    await stack.poller.drain();
    stack.apns.failToken(bad.pushToken, 400, 1, 'BadDeviceToken');
    stack.apns.failToken(otherTopic.pushToken, 400, 1, 'DeviceTokenNotForTopic');
    const dlqBefore = dlqLines().length;

    await redeem(card.id, 100);
    await stack.poller.drain();

    expect(await applePushTargets(card.id)).toEqual([
      { deviceLibraryIdentifier: kept.deviceLibraryIdentifier, pushToken: kept.pushToken },
    ]);
    expect(dlqLines()).toHaveLength(dlqBefore);
    stack.apns.reset();
    await redeem(card.id, 100);
    await stack.poller.drain();
    expect(stack.apns.pushes.map((push) => push.pushToken)).toEqual([kept.pushToken]);
  });

  it('without push credentials the change is still tagged for the device, no push is tried, and nothing fails', async () => {
    const card = await issue(5000);
    const device = await registerDevice(card);
    await stack.poller.drain();
    stack.apns.reset();
    const dlqBefore = dlqLines().length;
    const saved = { APNS_AUTH: process.env.APNS_AUTH, APNS_KEY_JSON: process.env.APNS_KEY_JSON };
    const warn = vi.spyOn(logger, 'warn');
    try {
      // A deployment using token auth whose APNs key secret still holds its placeholder.
      Object.assign(process.env, { APNS_AUTH: 'token', APNS_KEY_JSON: '{"placeholder":"x"}' });
      resetHandlerState();
      await redeem(card.id, 100);
      await stack.poller.drain();
      expect(stack.apns.pushes).toHaveLength(0);
      expect(dlqLines()).toHaveLength(dlqBefore);
      expect(warn).toHaveBeenCalledWith(
        'Wallet pushes skipped: no APNs credentials',
        expect.objectContaining({ metric: 'WalletPushSkipped', skipped: 1 }),
      );
      const tags = await deviceUpdateTags(device.deviceLibraryIdentifier, PASS_TYPE);
      expect(tags.registrations).toEqual([{ serialNumber: card.id, updateTag: tags.counter }]);
      expect(tags.counter).toBeGreaterThan(0);
    } finally {
      warn.mockRestore();
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      resetHandlerState();
    }
  });
});

describe('wallet messages', () => {
  it('a message written without its latest item (a promotion run stopped after its transaction) is recorded by wallet-sync before the push', async () => {
    const card = await issue(1000);
    const device = await registerDevice(card);
    await stack.poller.drain();
    stack.apns.reset();
    // Read once before: the card's latest item says none.
    expect(await latestWalletMessage(card.id, card.programId)).toBeUndefined();
    // What a promotion's transaction writes: the message item alone.
    const { put, stored } = walletMessagePut(
      { cardId: card.id },
      { header: 'Promo', body: 'Only for you' },
      SYSTEM,
      new Date(),
    );
    await db().send(new PutCommand(put));
    await stack.poller.drain();
    expect(stack.apns.delivered().map((push) => push.pushToken)).toContain(device.pushToken);
    expect((await latestWalletMessage(card.id, card.programId))?.id).toBe(stored.id);
  });

  it("a program message reaches every registered pass of the program and the program's Google class", async () => {
    const program = await request('POST', '/v1/programs', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Message program', currency: 'EUR' },
    });
    expect(program.status).toBe(201);
    const cards = await Promise.all([1, 2, 3].map(() => issue(1000, program.body.id)));
    const devices = [];
    for (const card of cards) devices.push(await registerDevice(card));
    devices.push(await registerDevice(cards[0] as { id: string; programId: string }));
    const adminSave = await request('GET', `/v1/cards/${cards[0]?.id}/wallet/google`, { token: admin });
    expect(adminSave.status).toBe(200);
    await stack.poller.drain();
    stack.apns.reset();
    stack.google.reset();

    const sale = await recordWalletMessage(
      { programId: program.body.id },
      { header: 'Sale', body: '20% off' },
      SYSTEM,
    );
    await stack.poller.drain();

    expect(
      stack.apns
        .delivered()
        .map((push) => push.pushToken)
        .sort(),
    ).toEqual(devices.map((device) => device.pushToken).sort());
    const messages = stack.google.succeeded('addMessage');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      resource: 'giftCardClass',
      resourceId: expect.stringMatching(new RegExp(`\\.${program.body.id}$`)),
      body: { message: { header: 'Sale', body: '20% off', messageType: 'TEXT_AND_NOTIFY' } },
    });

    // A replay of the delivered message: its pages are done, nothing is pushed or added again.
    const replay = await walletSync(
      { Records: [messageRecord(`PROGRAM#${program.body.id}`, sale)] },
      lambdaContext('wallet-sync', 60_000),
    );
    expect(replay.batchItemFailures).toEqual([]);
    expect(stack.apns.pushes).toHaveLength(devices.length);
    expect(stack.google.calls).toHaveLength(1);
  });

  it('a program message that finds its invocation nearly out of time fails and is pushed on the retry', async () => {
    const program = await request('POST', '/v1/programs', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Late program', currency: 'USD' },
    });
    const card = await issue(1000, program.body.id);
    const device = await registerDevice(card);
    // Written behind the poller's back: the consumer is called directly.
    const message = {
      id: `wmsg_${randomUUID().replaceAll('-', '').slice(0, 26)}`,
      programId: program.body.id,
      header: 'Late',
      body: 'news',
      createdAt: new Date().toISOString(),
    };
    const record = messageRecord(`PROGRAM#${program.body.id}`, message);
    // Its only record failed: the whole batch fails (Powertools), and Lambda retries it.
    await expect(walletSync({ Records: [record] }, lambdaContext('wallet-sync', 5_000))).rejects.toThrow(
      /All records failed/,
    );
    expect(stack.apns.delivered(device.pushToken)).toHaveLength(0);

    const retried = await walletSync({ Records: [record] }, lambdaContext('wallet-sync', 60_000));
    expect(retried.batchItemFailures).toEqual([]);
    expect(stack.apns.delivered(device.pushToken)).toHaveLength(1);
  });

  it('the 4th notifying Google message in 24 h is sent without a notification; a replay adds nothing', async () => {
    const card = await issue(5000);
    const device = await registerDevice(card);
    const objectId = await saveToGoogle(card.id);
    await stack.poller.drain();
    stack.apns.reset();
    stack.google.reset();

    const sent = [];
    for (let i = 1; i <= 4; i++) {
      sent.push(
        await recordWalletMessage({ cardId: card.id }, { header: `News ${i}`, body: 'Hello' }, SYSTEM),
      );
    }
    await stack.poller.drain();

    const messages = stack.google.succeeded('addMessage', objectId);
    expect(messages.map((call) => call.body.message.header)).toEqual([
      'News 1',
      'News 2',
      'News 3',
      'News 4',
    ]);
    expect(messages.map((call) => call.body.message.messageType)).toEqual([
      'TEXT_AND_NOTIFY',
      'TEXT_AND_NOTIFY',
      'TEXT_AND_NOTIFY',
      'TEXT',
    ]);
    // Every message also pushes the Apple pass (which shows the latest one).
    expect(stack.apns.delivered(device.pushToken)).toHaveLength(4);

    // The stream delivers a record again (at least once): no second message at Google, no count.
    const first = sent[0];
    if (!first) throw new Error('no message');
    const record = messageRecord(`CARD#${card.id}`, first);
    const answer = await walletSync({ Records: [record] }, lambdaContext('wallet-sync', 60_000));
    expect(answer.batchItemFailures).toEqual([]);
    expect(stack.google.succeeded('addMessage', objectId)).toHaveLength(4);
    expect(stack.google.calls.filter((call) => call.kind === 'addMessage')).toHaveLength(4);
  });
});

describe('Google passes show the current balance and notify once (issue 13)', () => {
  it('a change between the save link and the save reaches the object Google shows', async () => {
    const card = await issue(5000);
    const answer = await request('GET', `/v1/cards/${card.id}/wallet/google`, { token: apiKey });
    const jwt = String(answer.body.saveUrl).split('/').at(-1) ?? '';
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
    const objectId = claims.payload.giftCardObjects[0].id;
    // The link carries no balance: saving it shows the object as the API keeps it.
    expect(claims.payload.giftCardObjects[0]).not.toHaveProperty('balance');
    expect(claims.exp - claims.iat).toBe(3600);

    await redeem(card.id, 1250);
    await stack.poller.drain();
    expect(stack.google.resource(objectId).balance).toEqual({
      micros: toMicros(3750, 'USD'),
      currencyCode: 'USD',
    });

    // Google lost the object (or the link's insert had not landed): the next change inserts it, current.
    stack.google.markMissing(objectId);
    await redeem(card.id, 750);
    await stack.poller.drain();
    expect(stack.google.resource(objectId).balance).toEqual({
      micros: toMicros(3000, 'USD'),
      currencyCode: 'USD',
    });
  });

  it('decides whether a message notifies when it is delivered, not when it was written', async () => {
    const card = await issue(5000);
    const objectId = await saveToGoogle(card.id);
    await stack.poller.drain();
    const start = Date.now();
    const hours = (n: number) => new Date(start + n * 3_600_000);
    // Three notifying messages delivered now.
    for (let i = 1; i <= 3; i++) {
      await recordWalletMessage({ cardId: card.id }, { header: `Now ${i}`, body: 'Hello' }, SYSTEM);
    }
    await stack.poller.drain();
    stack.google.reset();
    // A fourth, written a minute later, reaches Google 25 hours later (the stream was stuck): it may notify.
    const late = {
      id: `wmsg_${randomUUID().replaceAll('-', '').slice(0, 26)}`,
      cardId: card.id,
      header: 'Late',
      body: 'news',
      createdAt: new Date(start + 60_000).toISOString(),
    };
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(hours(25));
      const answer = await walletSync(
        { Records: [messageRecord(`CARD#${card.id}`, late)] },
        lambdaContext('wallet-sync', 60_000),
      );
      expect(answer.batchItemFailures).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
    expect(
      stack.google.succeeded('addMessage', objectId).map((call) => call.body.message.messageType),
    ).toEqual(['TEXT_AND_NOTIFY']);
  });

  it('falls back to TEXT when Google says the notifications are used up', async () => {
    const card = await issue(5000);
    const objectId = await saveToGoogle(card.id);
    await stack.poller.drain();
    // Another sender used the pass's three notifications today (Google counts them, we did not).
    for (const id of ['x1', 'x2', 'x3']) {
      await addGoogleMessage('giftCardObject', objectId, {
        id,
        header: 'Other',
        body: 'sender',
        messageType: 'TEXT_AND_NOTIFY',
      });
    }
    stack.google.reset();
    await recordWalletMessage({ cardId: card.id }, { header: 'Ours', body: 'Hello' }, SYSTEM);
    await stack.poller.drain();
    expect(
      stack.google.succeeded('addMessage', objectId).map((call) => call.body.message.messageType),
    ).toEqual(['TEXT']);
    expect(dlqLines().filter((line) => line.record.dynamodb?.Keys?.PK?.S === `CARD#${card.id}`)).toHaveLength(
      0,
    );
  });

  it('a replay after a crash between adding a message and recording it added notifies nobody twice', async () => {
    const card = await issue(5000);
    const objectId = await saveToGoogle(card.id);
    await stack.poller.drain();
    const message = {
      id: `wmsg_${randomUUID().replaceAll('-', '').slice(0, 26)}`,
      cardId: card.id,
      header: 'Once',
      body: 'only',
      createdAt: new Date().toISOString(),
    };
    // The first delivery decided and added the message, then the function died before recording it.
    const claim = await claimMessageType(objectId, message.id, new Date(), 0);
    await addGoogleMessage('giftCardObject', objectId, {
      id: message.id,
      header: message.header,
      body: message.body,
      messageType: claim.type,
    });
    stack.google.reset();

    const replay = await walletSync(
      { Records: [messageRecord(`CARD#${card.id}`, message)] },
      lambdaContext('wallet-sync', 60_000),
    );
    expect(replay.batchItemFailures).toEqual([]);
    expect(stack.google.calls.filter((call) => call.kind === 'addMessage')).toHaveLength(0);
    expect(
      stack.google.resource(objectId).messages.filter((m: { id: string }) => m.id === message.id),
    ).toHaveLength(1);
    // Recorded now: a further replay does not even look.
    stack.google.reset();
    await walletSync(
      { Records: [messageRecord(`CARD#${card.id}`, message)] },
      lambdaContext('wallet-sync', 60_000),
    );
    expect(stack.google.calls.filter((call) => call.resourceId === objectId)).toHaveLength(0);
  });
});
