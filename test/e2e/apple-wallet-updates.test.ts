import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { db } from '../../functions/store/dynamo-client';
import { recordWalletMessage } from '../../functions/store/wallet-messages';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { fetchBytes, passJsonOf } from '../support/pkpass';
import { startTestStack } from '../support/stack';

/**
 * Issue 13: an Apple pass never misses an update. Through the local HTTP server and the wallet-sync
 * consumer (the stream poller), with clocks set by hand where the issue names them:
 * - a change in the second a device holds is sent again (not 304);
 * - a change committed after an update tag was handed out is listed for it, whatever the clocks of the
 *   instances that wrote it (interleaved commits, skewed clocks and list calls);
 * - the reads behind the update list and the pass are consistent.
 */
let stack: LocalStack;
let apiKey: string;

beforeAll(async () => {
  stack = await startTestStack();
  if (!stack.demo) throw new Error('the test stack did not seed');
  apiKey = stack.demo.apiKey;
});
afterAll(async () => stack.stop());
afterEach(() => {
  vi.useRealTimers();
});

const service = (path: string) => `${stack.baseUrl}/wallet/apple/v1${path}`;

/** A card and its pass as downloaded through the API (a .pkpass file not yet added to any device). */
async function downloadedPass() {
  const issued = await request('POST', '/v1/cards', {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body: { programId: stack.demo?.programId, type: 'DIGITAL', amount: 5000, activate: true },
  });
  expect(issued.status).toBe(201);
  const cardId: string = issued.body.card.id;
  const download = await fetchBytes(`${stack.baseUrl}/v1/cards/${cardId}/wallet/apple`, {
    headers: { Authorization: `Bearer ${apiKey}` },
  });
  expect(download.status).toBe(200);
  const json = passJsonOf(download.bytes);
  const auth = { Authorization: `ApplePass ${json.authenticationToken}`, 'Content-Type': 'application/json' };
  return {
    cardId,
    passType: json.passTypeIdentifier as string,
    auth,
    lastModified: download.headers.get('last-modified') ?? '',
  };
}

/** Wallet adding a downloaded pass on `device`: it registers for the pass's pushes. */
async function addToDevice(device: string, pass: Awaited<ReturnType<typeof downloadedPass>>) {
  const registered = await fetch(
    service(`/devices/${device}/registrations/${pass.passType}/${pass.cardId}`),
    {
      method: 'POST',
      headers: pass.auth,
      body: JSON.stringify({ pushToken: randomBytes(32).toString('hex') }),
    },
  );
  expect(registered.status).toBe(201);
}

/** A card whose pass was downloaded and registered on `device`, as Wallet does when it adds it. */
async function cardOnDevice(device: string) {
  const pass = await downloadedPass();
  await addToDevice(device, pass);
  return pass;
}

/** A redemption by an instance whose clock reads `at` (frozen for the request). */
async function redeemAt(cardId: string, amount: number, at?: number) {
  if (at !== undefined) {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(at);
  }
  try {
    const answer = await request('POST', `/v1/cards/${cardId}/redeem`, {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { amount },
    });
    expect(answer.status).toBe(200);
  } finally {
    vi.useRealTimers();
  }
}

const updates = (device: string, passType: string, tag?: string) =>
  request(
    'GET',
    `/wallet/apple/v1/devices/${device}/registrations/${passType}${tag === undefined ? '' : `?passesUpdatedSince=${tag}`}`,
  );

/** A second boundary a few seconds ahead of now: the times the issue names, on this run's clock. */
const nextSecond = () => (Math.floor(Date.now() / 1000) + 3) * 1000;

describe('an Apple pass changed twice within one second', () => {
  it('is sent again to a device holding the first change (If-Modified-Since in that second)', async () => {
    const device = `dev${randomUUID().replaceAll('-', '')}`;
    const { cardId, passType, auth } = await cardOnDevice(device);
    await stack.poller.drain();
    const second = nextSecond();
    const passUrl = service(`/passes/${passType}/${cardId}`);

    await redeemAt(cardId, 100, second + 100); // the change at 12:00:00.100
    await stack.poller.drain();
    const fetched = await fetchBytes(passUrl, { headers: auth });
    expect(fetched.status).toBe(200);
    expect(passJsonOf(fetched.bytes).storeCard.primaryFields[0].value).toBe(49);
    const held = fetched.headers.get('last-modified') ?? '';

    await redeemAt(cardId, 100, second + 700); // the change at 12:00:00.700, then the push
    await stack.poller.drain();
    const again = await fetchBytes(passUrl, { headers: { ...auth, 'If-Modified-Since': held } });
    expect(again.status).toBe(200);
    expect(passJsonOf(again.bytes).storeCard.primaryFields[0].value).toBe(48);
    // And once the device holds that version, it is not sent a third time.
    const current = again.headers.get('last-modified') ?? '';
    const unchanged = await fetchBytes(passUrl, { headers: { ...auth, 'If-Modified-Since': current } });
    expect(unchanged.status).toBe(304);
  });
});

describe("Apple's update list", () => {
  it('lists a change committed after a tag was handed out, though its clock was behind (two passes, one device)', async () => {
    const device = `dev${randomUUID().replaceAll('-', '')}`;
    const a = await cardOnDevice(device);
    const b = await cardOnDevice(device);
    await stack.poller.drain();
    const all = await updates(device, a.passType);
    expect(all.body.serialNumbers).toEqual([a.cardId, b.cardId].sort());
    const second = nextSecond();

    // A message to pass B written by an instance whose clock reads 05.000; the device lists it.
    await recordWalletMessage(
      { cardId: b.cardId },
      { header: 'Hello', body: 'News' },
      { type: 'system', id: 'skew-test' },
      { now: new Date(second + 5000) },
    );
    await stack.poller.drain();
    const first = await updates(device, a.passType, all.body.lastUpdated);
    expect(first.status).toBe(200);
    expect(first.body.serialNumbers).toEqual([b.cardId]);

    // Then a change to pass A commits on an instance whose clock reads 04.900, and the device asks
    // again before wallet-sync has seen the change, and once after.
    await redeemAt(a.cardId, 250, second + 4900);
    const between = await updates(device, a.passType, first.body.lastUpdated);
    const tag = between.status === 200 ? between.body.lastUpdated : first.body.lastUpdated;
    await stack.poller.drain();
    // One more change on a clock far behind, committed after the tag of the call in between.
    await redeemAt(b.cardId, 100, second - 60_000);
    await stack.poller.drain();

    const after = await updates(device, a.passType, tag);
    expect(after.status).toBe(200);
    expect(after.body.serialNumbers).toEqual(expect.arrayContaining([a.cardId, b.cardId]));
    const settled = await updates(device, a.passType, after.body.lastUpdated);
    expect(settled.status).toBe(204);
    const pass = passJsonOf(
      (await fetchBytes(service(`/passes/${a.passType}/${a.cardId}`), { headers: a.auth })).bytes,
    );
    expect(pass.storeCard.primaryFields[0].value).toBe(47.5);
  });

  it('and the pass are read with consistent reads', async () => {
    const device = `dev${randomUUID().replaceAll('-', '')}`;
    const { cardId, passType, auth } = await cardOnDevice(device);
    await recordWalletMessage({ cardId }, { header: 'Hi', body: 'There' }, { type: 'system', id: 'reads' });
    await redeemAt(cardId, 100);
    await stack.poller.drain();

    const reads: { command: string; key: string; consistent: boolean }[] = [];
    const client = db();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as {
          Key?: { PK?: string; SK?: string };
          ExpressionAttributeValues?: Record<string, unknown>;
          ConsistentRead?: boolean;
          RequestItems?: Record<string, { Keys?: { SK?: string }[]; ConsistentRead?: boolean }>;
        };
        const name = String(context.commandName);
        if (/^(Get|Query)/.test(name)) {
          reads.push({
            command: name,
            key: `${input.Key?.SK ?? JSON.stringify(input.ExpressionAttributeValues)}`,
            consistent: input.ConsistentRead === true,
          });
        }
        if (name.startsWith('BatchGet')) {
          for (const table of Object.values(input.RequestItems ?? {})) {
            reads.push({ command: name, key: 'batch', consistent: table.ConsistentRead === true });
          }
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordWalletReads' },
    );
    try {
      expect((await updates(device, passType)).status).toBe(200);
      expect((await fetchBytes(service(`/passes/${passType}/${cardId}`), { headers: auth })).status).toBe(
        200,
      );
    } finally {
      client.middlewareStack.remove('recordWalletReads');
    }
    // The program (name, cached reference data) may be stale; nothing that changes with the card may.
    const stateReads = reads.filter((read) => read.key !== 'PROGRAM');
    expect(stateReads.length).toBeGreaterThan(0);
    expect(stateReads.filter((read) => !read.consistent)).toEqual([]);
  });
});

describe('a pass added to a device some time after its download', () => {
  it('is listed for the tag the device already holds and sent again if it changed in between', async () => {
    const device = `dev${randomUUID().replaceAll('-', '')}`;
    const a = await cardOnDevice(device);
    await stack.poller.drain();
    const held = await updates(device, a.passType);
    expect(held.body.serialNumbers).toEqual([a.cardId]);
    const tag: string = held.body.lastUpdated;

    // Pass B is downloaded (a file the holder adds later), then its card changes: no device is
    // registered for it yet, so wallet-sync tags and pushes it for nobody.
    const b = await downloadedPass();
    const pushesBefore = stack.apns.pushes.length;
    await redeemAt(b.cardId, 1000);
    await stack.poller.drain();
    expect(stack.apns.pushes).toHaveLength(pushesBefore);

    // The holder adds B; Wallet registers it, and next asks with the tag it holds from pass A.
    await addToDevice(device, b);
    const listed = await updates(device, b.passType, tag);
    expect(listed.status).toBe(200);
    expect(listed.body.serialNumbers).toEqual([b.cardId]);
    const fetched = await fetchBytes(service(`/passes/${b.passType}/${b.cardId}`), {
      headers: { ...b.auth, 'If-Modified-Since': b.lastModified },
    });
    expect(fetched.status).toBe(200);
    expect(passJsonOf(fetched.bytes).storeCard.primaryFields[0].value).toBe(40);
    // Registering again (a new push token) is no change: nothing more is listed.
    const again = await fetch(service(`/devices/${device}/registrations/${b.passType}/${b.cardId}`), {
      method: 'POST',
      headers: b.auth,
      body: JSON.stringify({ pushToken: randomBytes(32).toString('hex') }),
    });
    expect(again.status).toBe(200);
    expect((await updates(device, b.passType, listed.body.lastUpdated)).status).toBe(204);
  });
});
