import { decodeJwt, importSPKI, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { googleClassId, googleObjectId } from '../../functions/core/google-wallet';
import { PushFailedError, providerTokensSigned, pushPassUpdate } from '../../functions/store/apns';
import {
  claimMessageType,
  findGoogleClassId,
  findGoogleObjectId,
  markMessageSent,
} from '../../functions/store/google-objects';
import {
  addGoogleMessage,
  GoogleWalletError,
  googleSaveUrlFor,
  googleTokensFetched,
  patchGiftCardObject,
  SAVE_URL_PREFIX,
} from '../../functions/store/google-wallet';
import { type ApnsStandIn, startApnsStandIn } from '../../local/apns-stand-in';
import { type GoogleStandIn, startGoogleStandIn } from '../../local/google-stand-in';
import {
  generatePushCredentials,
  type LocalPushCredentials,
  pushCredentialsJson,
} from '../../local/push-credentials';
import { issueCard } from '../support/cards';
import { makeProgram, staffContext } from '../support/fixtures';
import { resetHandlerState } from '../support/reset';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * The APNs and Google Wallet clients against the local stand-ins (which verify the signed tokens with
 * the public keys), and the Google message counting against DynamoDB Local.
 */
let table: TestTable;
let credentials: LocalPushCredentials;
let apns: ApnsStandIn;
let google: GoogleStandIn;
const TOKEN = 'ab'.repeat(32);
const TOPIC = 'pass.com.example.giftcard';

beforeAll(async () => {
  table = await createTestTable('wallet-push');
  await testEnv();
  credentials = await generatePushCredentials();
  apns = await startApnsStandIn(credentials.apns);
  google = await startGoogleStandIn({
    clientEmail: credentials.google.client_email,
    publicKey: credentials.google.publicKey,
  });
  const json = pushCredentialsJson(credentials);
  Object.assign(process.env, {
    APNS_URL: apns.url,
    APNS_KEY_JSON: json.apnsKeyJson,
    GOOGLE_WALLET_API_URL: google.url,
    GOOGLE_OAUTH_TOKEN_URL: google.tokenUrl,
    GOOGLE_SERVICE_ACCOUNT_JSON: json.googleServiceAccountJson,
    GOOGLE_WALLET_ORIGINS: 'https://shop.example, https://www.shop.example',
  });
  resetHandlerState();
});

afterEach(() => {
  apns.reset();
  google.reset();
  vi.useRealTimers();
});

afterAll(async () => {
  resetHandlerState();
  await apns.close();
  await google.close();
  await table.drop();
});

describe('APNs client', () => {
  it('pushes an empty payload to the pass type topic with a valid ES256 provider token', async () => {
    expect(await pushPassUpdate(TOKEN, TOPIC)).toEqual({ kind: 'delivered' });
    const [push] = apns.delivered(TOKEN);
    expect(push).toMatchObject({ topic: TOPIC, payload: '{}', pushType: 'background', priority: '5' });
    // The stand-in verified the token with the key's public half, kid and team id.
    expect(push?.tokenIssuedAt).toBeTypeOf('number');
  });

  it('reports 410 Unregistered as unregistered, a bad token as rejected, without retrying', async () => {
    apns.failToken(TOKEN, 410);
    expect(await pushPassUpdate(TOKEN, TOPIC)).toEqual({ kind: 'unregistered' });
    apns.clearFaults();
    apns.failToken(TOKEN, 400);
    expect(await pushPassUpdate(TOKEN, TOPIC)).toMatchObject({ kind: 'rejected', reason: 'BadDeviceToken' });
    expect(apns.pushes).toHaveLength(2);
    expect(await pushPassUpdate('not-hex/../../x', TOPIC)).toMatchObject({ kind: 'rejected' });
    expect(apns.pushes).toHaveLength(2);
  });

  it('retries 500 and 429 and delivers; gives up with PushFailedError when APNs keeps failing', async () => {
    apns.failToken(TOKEN, 500, 1);
    apns.failAll(429, 1);
    expect(await pushPassUpdate(TOKEN, TOPIC)).toEqual({ kind: 'delivered' });
    expect(apns.pushes.map((push) => push.status)).toEqual([500, 429, 200]);

    apns.reset();
    apns.failToken(TOKEN, 503);
    await expect(pushPassUpdate(TOKEN, TOPIC)).rejects.toBeInstanceOf(PushFailedError);
    expect(apns.pushes).toHaveLength(3);
    expect(apns.delivered()).toHaveLength(0);
  });

  it('reuses the provider token, signs a new one after 40 minutes, and one at once on 403', async () => {
    const start = Date.now() + 2 * 3_600_000;
    const minutes = (n: number) => new Date(start + n * 60_000);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(minutes(0));
    await pushPassUpdate(TOKEN, TOPIC);
    const signed = providerTokensSigned();
    await pushPassUpdate(TOKEN, TOPIC);
    expect(providerTokensSigned()).toBe(signed);

    vi.setSystemTime(minutes(30));
    await pushPassUpdate(TOKEN, TOPIC);
    expect(providerTokensSigned()).toBe(signed);

    vi.setSystemTime(minutes(41));
    await pushPassUpdate(TOKEN, TOPIC);
    expect(providerTokensSigned()).toBe(signed + 1);
    const issued = apns.delivered().map((push) => push.tokenIssuedAt);
    expect(new Set(issued).size).toBe(2);

    // ExpiredProviderToken: a new token and one more try.
    apns.failToken(TOKEN, 403, 1);
    expect(await pushPassUpdate(TOKEN, TOPIC)).toEqual({ kind: 'delivered' });
    expect(providerTokensSigned()).toBe(signed + 2);
  });
});

describe('Google Wallet client', () => {
  it('signs a save link (RS256, savetowallet) with the class, the object and only the last 4', async () => {
    const program = await makeProgram({ currency: 'KWD', name: 'Dinar cards' });
    const { card, code } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 12_345, activate: true },
      staffContext(),
      undefined,
      () => true,
    );
    const saveUrl = await googleSaveUrlFor(card, program, new Date());
    expect(saveUrl.startsWith(SAVE_URL_PREFIX)).toBe(true);
    const jwt = saveUrl.slice(SAVE_URL_PREFIX.length);
    const key = await importSPKI(credentials.google.publicKey, 'RS256');
    const { payload, protectedHeader } = await jwtVerify(jwt, key, {
      issuer: credentials.google.client_email,
      audience: 'google',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.typ).toBe('savetowallet');
    expect(payload.origins).toEqual(['https://shop.example', 'https://www.shop.example']);
    const issuerId = credentials.google.issuerId;
    const objects = (payload.payload as { giftCardObjects: Record<string, unknown>[] }).giftCardObjects;
    const classes = (payload.payload as { giftCardClasses: Record<string, unknown>[] }).giftCardClasses;
    expect(classes).toEqual([expect.objectContaining({ id: googleClassId(issuerId, program.id) })]);
    expect(objects).toEqual([
      expect.objectContaining({
        id: googleObjectId(issuerId, card.id),
        classId: googleClassId(issuerId, program.id),
        cardNumber: `**** ${card.last4}`,
        balance: { micros: '12345000', currencyCode: 'KWD' },
        state: 'ACTIVE',
      }),
    ]);
    expect(saveUrl).not.toContain(code);
    expect(JSON.stringify(decodeJwt(jwt))).not.toContain(code);
    // The consumer will keep this object current.
    expect(await findGoogleObjectId(card.id)).toBe(googleObjectId(issuerId, card.id));
    expect(await findGoogleClassId(program.id)).toBe(googleClassId(issuerId, program.id));
  });

  it('fetches an access token once, refreshes it on 401 and when it nears expiry', async () => {
    const fetched = googleTokensFetched();
    expect(await patchGiftCardObject('1.gc_a', { state: 'ACTIVE' })).toBe('updated');
    expect(await patchGiftCardObject('1.gc_b', { state: 'ACTIVE' })).toBe('updated');
    expect(googleTokensFetched()).toBe(fetched + 1);

    google.revokeTokens();
    expect(await patchGiftCardObject('1.gc_a', { state: 'INACTIVE' })).toBe('updated');
    expect(googleTokensFetched()).toBe(fetched + 2);
    expect(google.calls.map((call) => call.status)).toEqual([200, 200, 401, 200]);

    // Tokens that live 30 s are within the one-minute margin: each call fetches a new one.
    google.setTokenLifetime(30);
    google.revokeTokens();
    await patchGiftCardObject('1.gc_a', {});
    await patchGiftCardObject('1.gc_a', {});
    expect(googleTokensFetched()).toBe(fetched + 5);
  });

  it('retries 500, answers missing on 404 and duplicate on a message id added twice', async () => {
    google.failNext(500, 2);
    expect(await patchGiftCardObject('1.gc_c', { state: 'ACTIVE' })).toBe('updated');
    expect(google.calls.map((call) => call.status)).toEqual([500, 500, 200]);

    google.markMissing('1.gc_unsaved');
    expect(await patchGiftCardObject('1.gc_unsaved', {})).toBe('missing');

    const message = { id: 'wmsg_1', header: 'Hi', body: 'There', messageType: 'TEXT' as const };
    expect(await addGoogleMessage('giftCardObject', '1.gc_c', message)).toBe('added');
    expect(await addGoogleMessage('giftCardObject', '1.gc_c', message)).toBe('duplicate');

    google.failNext(503);
    await expect(patchGiftCardObject('1.gc_c', {})).rejects.toBeInstanceOf(GoogleWalletError);
    google.failNext(403, 1);
    await expect(patchGiftCardObject('1.gc_c', {})).rejects.toMatchObject({ status: 403 });
  });
});

describe('Google notifying messages, counted in DynamoDB', () => {
  const at = new Date('2026-11-26T10:00:00Z');
  const later = (minutes: number) => new Date(at.getTime() + minutes * 60_000);

  it('lets three messages notify in 24 h, sends the fourth as TEXT, and frees a slot a day later', async () => {
    const id = `1.gc_${Date.now()}`;
    const types = [];
    for (let i = 1; i <= 4; i++) types.push((await claimMessageType(id, `m${i}`, later(i))).type);
    expect(types).toEqual(['TEXT_AND_NOTIFY', 'TEXT_AND_NOTIFY', 'TEXT_AND_NOTIFY', 'TEXT']);
    expect((await claimMessageType(id, 'm5', later(24 * 60 + 2))).type).toBe('TEXT_AND_NOTIFY');
  });

  it('a replayed message keeps its decision, is not counted again, and is not resent once added', async () => {
    const id = `1.gc_replay_${Date.now()}`;
    await claimMessageType(id, 'a', later(1));
    expect(await claimMessageType(id, 'a', later(1))).toEqual({
      type: 'TEXT_AND_NOTIFY',
      alreadySent: false,
    });
    await markMessageSent(id, 'a', later(1));
    expect(await claimMessageType(id, 'a', later(1))).toEqual({ type: 'TEXT_AND_NOTIFY', alreadySent: true });
    // 'a' counted once: two more may notify.
    expect((await claimMessageType(id, 'b', later(2))).type).toBe('TEXT_AND_NOTIFY');
    expect((await claimMessageType(id, 'c', later(3))).type).toBe('TEXT_AND_NOTIFY');
    expect((await claimMessageType(id, 'd', later(4))).type).toBe('TEXT');
  });

  it('parallel messages never take more than three notifications', async () => {
    const id = `1.gc_race_${Date.now()}`;
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claimMessageType(id, `p${i}`, later(i))),
    );
    expect(claims.filter((claim) => claim.type === 'TEXT_AND_NOTIFY')).toHaveLength(3);
  });
});
