import http2 from 'node:http2';
import { decodeJwt, importSPKI, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { googleClassId, googleObjectId } from '../../functions/core/google-wallet';
import {
  type ApnsAuth,
  ApnsConfigurationError,
  apnsAuth,
  PushFailedError,
  providerTokensSigned,
  pushPassUpdate,
} from '../../functions/store/apns';
import {
  claimMessageType,
  findGoogleClassId,
  findGoogleObjectId,
  markMessageSent,
} from '../../functions/store/google-objects';
import {
  addGoogleMessage,
  GoogleWalletError,
  googleMessageIds,
  googleTokensFetched,
  insertGoogleResource,
  patchGiftCardObject,
  SAVE_URL_PREFIX,
} from '../../functions/store/google-wallet';
import { googleSaveUrlFor } from '../../functions/wallet/google-passes';
import { type ApnsStandIn, startApnsStandIn } from '../../local/apns-stand-in';
import { generateLocalAppleCertificates, type LocalAppleCertificates } from '../../local/apple-certificates';
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
let chain: LocalAppleCertificates;
const TOKEN = 'ab'.repeat(32);
const TOPIC = 'pass.com.example.giftcard';

beforeAll(async () => {
  table = await createTestTable('wallet-push');
  await testEnv();
  credentials = await generatePushCredentials();
  // The pass certificate's team is the APNs key's (LOCALTEAM1), as Apple requires.
  chain = generateLocalAppleCertificates({
    passTypeIdentifier: TOPIC,
    teamIdentifier: credentials.apns.teamId,
  });
  apns = await startApnsStandIn({
    ...credentials.apns,
    clientCa: [chain.ca, chain.certificates.wwdr],
    topics: [TOPIC],
  });
  google = await startGoogleStandIn({
    clientEmail: credentials.google.client_email,
    publicKey: credentials.google.publicKey,
  });
  const json = pushCredentialsJson(credentials);
  Object.assign(process.env, {
    APNS_URL: apns.url,
    APNS_CA: apns.ca,
    APNS_KEY_JSON: json.apnsKeyJson,
    APPLE_PASS_CERTIFICATES: JSON.stringify(chain.certificates),
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

/** Switches how pushes authenticate, as a new deployment would. */
async function authAs(
  mode: 'certificate' | 'token',
  overrides: Record<string, string> = {},
): Promise<ApnsAuth> {
  Object.assign(process.env, { APNS_AUTH: mode, ...overrides });
  resetHandlerState();
  const auth = await apnsAuth();
  if (!auth) throw new Error('no APNs credentials');
  return auth;
}

describe('APNs client', () => {
  afterEach(async () => {
    Object.assign(process.env, {
      APNS_AUTH: 'certificate',
      APNS_KEY_JSON: pushCredentialsJson(credentials).apnsKeyJson,
      APPLE_PASS_CERTIFICATES: JSON.stringify(chain.certificates),
    });
    resetHandlerState();
  });

  it('authenticates with the pass certificate by default: empty payload, pass type topic, background at 5', async () => {
    const auth = await authAs('certificate');
    expect(auth.kind).toBe('certificate');
    const sentAt = Math.floor(Date.now() / 1000);
    expect(await pushPassUpdate(TOKEN, TOPIC, auth)).toEqual({ kind: 'delivered' });
    const [push] = apns.delivered(TOKEN);
    expect(push).toMatchObject({
      auth: 'certificate',
      topic: TOPIC,
      payload: '{}',
      pushType: 'background',
      priority: '5',
    });
    // Stored by APNs for a device that is offline: an expiration date weeks ahead, within Apple's 30 days.
    const expiration = push?.expiration ?? 0;
    expect(expiration).toBeGreaterThanOrEqual(sentAt + 7 * 24 * 60 * 60);
    expect(expiration).toBeLessThanOrEqual(sentAt + 30 * 24 * 60 * 60 + 60);
  });

  it("authenticates with an ES256 provider token when told to, from a key of the certificate's team", async () => {
    const auth = await authAs('token');
    expect(await pushPassUpdate(TOKEN, TOPIC, auth)).toEqual({ kind: 'delivered' });
    const [push] = apns.delivered(TOKEN);
    expect(push).toMatchObject({ auth: 'token', topic: TOPIC, payload: '{}' });
    // The stand-in verified the token with the key's public half, kid and team id.
    expect(push?.tokenIssuedAt).toBeTypeOf('number');
  });

  it("refuses a token key of another team than the pass certificate's, and a certificate of another pass type", async () => {
    const foreignKey = JSON.stringify({
      ...JSON.parse(pushCredentialsJson(credentials).apnsKeyJson),
      teamId: 'OTHERTEAM1',
    });
    await expect(authAs('token', { APNS_KEY_JSON: foreignKey })).rejects.toBeInstanceOf(
      ApnsConfigurationError,
    );
    const mislabelled = JSON.stringify({
      ...chain.certificates,
      passTypeIdentifier: 'pass.com.example.other',
    });
    await expect(authAs('certificate', { APPLE_PASS_CERTIFICATES: mislabelled })).rejects.toBeInstanceOf(
      ApnsConfigurationError,
    );
  });

  it('has no credentials when the deployment has no pass certificate or no key: pushes are skipped', async () => {
    delete process.env.APPLE_PASS_CERTIFICATES;
    process.env.APNS_AUTH = 'certificate';
    resetHandlerState();
    expect(await apnsAuth()).toBeUndefined();
    Object.assign(process.env, { APNS_AUTH: 'token', APNS_KEY_JSON: '{}' });
    resetHandlerState();
    expect(await apnsAuth()).toBeUndefined();
  });

  it('reports 410, BadDeviceToken and DeviceTokenNotForTopic as gone; other refusals as rejected; no retries', async () => {
    const auth = await authAs('certificate');
    apns.failToken(TOKEN, 410);
    expect(await pushPassUpdate(TOKEN, TOPIC, auth)).toMatchObject({ kind: 'gone', reason: 'Unregistered' });
    apns.clearFaults();
    apns.failToken(TOKEN, 400);
    expect(await pushPassUpdate(TOKEN, TOPIC, auth)).toMatchObject({
      kind: 'gone',
      reason: 'BadDeviceToken',
    });
    apns.clearFaults();
    apns.failToken(TOKEN, 400, 1, 'DeviceTokenNotForTopic');
    expect(await pushPassUpdate(TOKEN, TOPIC, auth)).toMatchObject({
      kind: 'gone',
      reason: 'DeviceTokenNotForTopic',
    });
    expect(apns.pushes).toHaveLength(3);
    // A topic the certificate does not cover: the stand-in refuses it as Apple would; the device is not at fault.
    expect(await pushPassUpdate(TOKEN, 'pass.com.example.other', auth)).toMatchObject({
      kind: 'rejected',
      reason: 'TopicDisallowed',
    });
    expect(await pushPassUpdate('not-hex/../../x', TOPIC, auth)).toMatchObject({ kind: 'gone' });
    expect(apns.pushes).toHaveLength(4);
  });

  it('retries 500 and 429 and delivers; gives up with PushFailedError when APNs keeps failing', async () => {
    const auth = await authAs('certificate');
    apns.failToken(TOKEN, 500, 1);
    apns.failAll(429, 1);
    expect(await pushPassUpdate(TOKEN, TOPIC, auth)).toEqual({ kind: 'delivered' });
    expect(apns.pushes.map((push) => push.status)).toEqual([500, 429, 200]);

    apns.reset();
    apns.failToken(TOKEN, 503);
    await expect(pushPassUpdate(TOKEN, TOPIC, auth)).rejects.toBeInstanceOf(PushFailedError);
    expect(apns.pushes).toHaveLength(3);
    expect(apns.delivered()).toHaveLength(0);
  });

  it('reuses the provider token, signs a new one after 40 minutes, and one at once on 403', async () => {
    const auth = await authAs('token');
    const start = Date.now() + 2 * 3_600_000;
    const minutes = (n: number) => new Date(start + n * 60_000);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(minutes(0));
    await pushPassUpdate(TOKEN, TOPIC, auth);
    const signed = providerTokensSigned();
    await pushPassUpdate(TOKEN, TOPIC, auth);
    expect(providerTokensSigned()).toBe(signed);

    vi.setSystemTime(minutes(30));
    await pushPassUpdate(TOKEN, TOPIC, auth);
    expect(providerTokensSigned()).toBe(signed);

    vi.setSystemTime(minutes(41));
    await pushPassUpdate(TOKEN, TOPIC, auth);
    expect(providerTokensSigned()).toBe(signed + 1);
    const issued = apns.delivered().map((push) => push.tokenIssuedAt);
    expect(new Set(issued).size).toBe(2);

    // ExpiredProviderToken: a new token and one more try.
    apns.failToken(TOKEN, 403, 1);
    expect(await pushPassUpdate(TOKEN, TOPIC, auth)).toEqual({ kind: 'delivered' });
    expect(providerTokensSigned()).toBe(signed + 2);
  });
});

describe("the APNs stand-in holds callers to Apple's rules", () => {
  /** One raw push with the headers and payload given, authenticated with the pass certificate. */
  async function rawPush(
    headers: Record<string, string>,
    payload: string | undefined,
    withCertificate = true,
  ) {
    const session = http2.connect(apns.url, {
      ca: apns.ca,
      ...(withCertificate ? { cert: chain.certificates.signerCert, key: chain.certificates.signerKey } : {}),
    });
    try {
      return await new Promise<{ status: number; reason: string }>((resolve, reject) => {
        const request = session.request({ ':method': 'POST', ':path': `/3/device/${TOKEN}`, ...headers });
        let status = 0;
        let body = '';
        request.on('response', (answer) => {
          status = Number(answer[':status']);
        });
        request.setEncoding('utf8');
        request.on('data', (chunk: string) => {
          body += chunk;
        });
        request.on('end', () => resolve({ status, reason: body ? JSON.parse(body).reason : '' }));
        request.on('error', reject);
        request.end(payload);
      });
    } finally {
      session.close();
    }
  }
  const good = { 'apns-topic': TOPIC, 'apns-push-type': 'background', 'apns-priority': '5' };

  it("answers 200 to a well-formed pass push and Apple's reasons to each broken rule", async () => {
    expect(await rawPush(good, '{}')).toEqual({ status: 200, reason: '' });
    expect(await rawPush(good, '{}', false)).toEqual({ status: 403, reason: 'MissingProviderToken' });
    expect(await rawPush({ ...good, 'apns-topic': 'pass.com.example.other' }, '{}')).toEqual({
      status: 400,
      reason: 'TopicDisallowed',
    });
    const { 'apns-topic': _topic, ...topicless } = good;
    expect(await rawPush(topicless, '{}')).toEqual({ status: 400, reason: 'MissingTopic' });
    expect(await rawPush({ ...good, 'apns-priority': '10' }, '{}')).toEqual({
      status: 400,
      reason: 'BadPriority',
    });
    expect(await rawPush({ ...good, 'apns-push-type': 'pass' }, '{}')).toEqual({
      status: 400,
      reason: 'InvalidPushType',
    });
    expect(await rawPush(good, '{"aps":{"alert":"Balance changed"}}')).toEqual({
      status: 400,
      reason: 'BadPayload',
    });
    expect(await rawPush(good, '')).toEqual({ status: 400, reason: 'PayloadEmpty' });
    expect(await rawPush({ ...good, 'apns-expiration': 'tomorrow' }, '{}')).toEqual({
      status: 400,
      reason: 'BadExpirationDate',
    });
    expect(await rawPush({ ...good, authorization: 'bearer not.a.token' }, '{}', false)).toEqual({
      status: 403,
      reason: 'InvalidProviderToken',
    });
  });
});

describe('Google Wallet client', () => {
  it('inserts the object and signs a save link (RS256, savetowallet, 1 h) that names it, with only the last 4', async () => {
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
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
    const issuerId = credentials.google.issuerId;
    const objectId = googleObjectId(issuerId, card.id);
    // The link names the object; the balance lives at Google, where the API keeps it current.
    expect(payload.payload).toEqual({
      giftCardObjects: [{ id: objectId, classId: googleClassId(issuerId, program.id) }],
    });
    expect(google.resource(googleClassId(issuerId, program.id))).toMatchObject({
      reviewStatus: 'UNDER_REVIEW',
    });
    expect(google.resource(objectId)).toMatchObject({
      classId: googleClassId(issuerId, program.id),
      cardNumber: `**** ${card.last4}`,
      balance: { micros: '12345000', currencyCode: 'KWD' },
      state: 'ACTIVE',
    });
    expect(saveUrl).not.toContain(code);
    expect(JSON.stringify(decodeJwt(jwt))).not.toContain(code);
    expect(JSON.stringify(google.resource(objectId))).not.toContain(code);
    // The consumer will keep this object current.
    expect(await findGoogleObjectId(card.id)).toBe(objectId);
    expect(await findGoogleClassId(program.id)).toBe(googleClassId(issuerId, program.id));
    // A second link finds both at Google and leaves them as they are.
    await googleSaveUrlFor(card, program, new Date());
    expect(google.calls.filter((call) => call.kind === 'insert').map((call) => call.status)).toEqual([
      200, 200, 409, 409,
    ]);
  });

  const seeded = async (objectId: string) => {
    await insertGoogleResource('giftCardClass', {
      id: '1.prg_seed',
      issuerName: 'Seed',
      reviewStatus: 'UNDER_REVIEW',
    } as {
      id: string;
    });
    await insertGoogleResource('giftCardObject', {
      id: objectId,
      classId: '1.prg_seed',
      state: 'ACTIVE',
      balance: { micros: '1000000', currencyCode: 'USD' },
    } as { id: string });
  };

  it('fetches an access token once, refreshes it on 401 and when it nears expiry', async () => {
    await seeded('1.gc_a');
    await seeded('1.gc_b');
    google.reset();
    const fetched = googleTokensFetched();
    expect(await patchGiftCardObject('1.gc_a', { state: 'ACTIVE' })).toBe('updated');
    expect(await patchGiftCardObject('1.gc_b', { state: 'ACTIVE' })).toBe('updated');
    expect(googleTokensFetched()).toBe(fetched);

    google.revokeTokens();
    expect(await patchGiftCardObject('1.gc_a', { state: 'INACTIVE' })).toBe('updated');
    expect(googleTokensFetched()).toBe(fetched + 1);
    expect(google.calls.map((call) => call.status)).toEqual([200, 200, 401, 200]);

    // Tokens that live 30 s are within the one-minute margin: each call fetches a new one.
    google.setTokenLifetime(30);
    google.revokeTokens();
    await patchGiftCardObject('1.gc_a', { state: 'ACTIVE' });
    await patchGiftCardObject('1.gc_a', { state: 'ACTIVE' });
    expect(googleTokensFetched()).toBe(fetched + 4);
  });

  it('retries 500, answers missing on 404, and never takes a 409 for a message already added', async () => {
    await seeded('1.gc_c');
    google.reset();
    google.failNext(500, 2);
    expect(await patchGiftCardObject('1.gc_c', { state: 'ACTIVE' })).toBe('updated');
    expect(google.calls.map((call) => call.status)).toEqual([500, 500, 200]);

    expect(await patchGiftCardObject('1.gc_unsaved', { state: 'ACTIVE' })).toBe('missing');

    const message = { id: 'wmsg_1', header: 'Hi', body: 'There', messageType: 'TEXT' as const };
    expect(await addGoogleMessage('giftCardObject', '1.gc_c', message)).toBe('added');
    expect(await googleMessageIds('giftCardObject', '1.gc_c')).toEqual(['wmsg_1']);
    await expect(addGoogleMessage('giftCardObject', '1.gc_c', message)).rejects.toMatchObject({
      status: 409,
    });

    google.failNext(503);
    await expect(patchGiftCardObject('1.gc_c', { state: 'ACTIVE' })).rejects.toBeInstanceOf(
      GoogleWalletError,
    );
    google.failNext(403, 1);
    await expect(patchGiftCardObject('1.gc_c', { state: 'ACTIVE' })).rejects.toMatchObject({ status: 403 });
  });

  it("is held to Google's shapes and quota by the stand-in: a bad field is 400, a 4th notification a quota refusal", async () => {
    await seeded('1.gc_d');
    // Micros are an int64 string, states are Google's, unknown fields are refused.
    await expect(
      patchGiftCardObject('1.gc_d', { balance: { micros: 1.5, currencyCode: 'USD' } }),
    ).rejects.toMatchObject({
      status: 400,
    });
    await expect(patchGiftCardObject('1.gc_d', { state: 'BLOCKED' })).rejects.toMatchObject({ status: 400 });
    await expect(patchGiftCardObject('1.gc_d', { balanceMinor: 100 })).rejects.toMatchObject({ status: 400 });
    const notify = (id: string) => ({
      id,
      header: 'News',
      body: 'Hello',
      messageType: 'TEXT_AND_NOTIFY' as const,
    });
    for (const id of ['n1', 'n2', 'n3'])
      expect(await addGoogleMessage('giftCardObject', '1.gc_d', notify(id))).toBe('added');
    expect(await addGoogleMessage('giftCardObject', '1.gc_d', notify('n4'))).toBe('quota');
    expect(await addGoogleMessage('giftCardObject', '1.gc_d', { ...notify('n4'), messageType: 'TEXT' })).toBe(
      'added',
    );
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
      decidedBefore: true,
    });
    await markMessageSent(id, 'a', later(1));
    expect(await claimMessageType(id, 'a', later(1))).toEqual({
      type: 'TEXT_AND_NOTIFY',
      alreadySent: true,
      decidedBefore: true,
    });
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
