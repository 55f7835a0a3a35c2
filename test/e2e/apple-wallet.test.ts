import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { fetchBytes, manifestMismatches, passJsonOf, unzip, verifyPassSignature } from '../support/pkpass';
import { startTestStack } from '../support/stack';

/**
 * Apple Wallet end to end, through the local HTTP server: the card's signed pass (verified with openssl
 * against the stack's local test CA), tenant isolation on the download, Apple's PassKit web service with
 * every status code it promises, the balance after a redemption, and retailer messages on the pass.
 */
let stack: LocalStack;
let apiKey: string;
let admin: string;
let ca: string;
let wwdr: string;

const issueCard = async (amount = 2500) => {
  const issued = await request('POST', '/v1/cards', {
    token: apiKey,
    idempotencyKey: randomUUID(),
    body: { programId: stack.demo?.programId, type: 'DIGITAL', amount, activate: true },
  });
  expect(issued.status).toBe(201);
  return issued.body as { card: { id: string; last4: string }; code: string };
};

const downloadPass = (cardId: string, token: string) =>
  fetchBytes(`${stack.baseUrl}/v1/cards/${cardId}/wallet/apple`, {
    headers: { Authorization: `Bearer ${token}` },
  });

const service = (path: string) => `${stack.baseUrl}/wallet/apple/v1${path}`;

beforeAll(async () => {
  stack = await startTestStack();
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  apiKey = demo.apiKey;
  admin = demo.staffTokens.admin;
  const local = JSON.parse(readFileSync(join(stack.dataDir, 'apple-pass.json'), 'utf8'));
  ca = local.ca;
  wwdr = local.certificates.wwdr;
});
afterAll(async () => stack.stop());

describe('the Apple Wallet pass of a card', () => {
  it('is a signed pkpass whose signature verifies against the CA and whose manifest matches every file', async () => {
    const { card, code } = await issueCard(2550);
    const pass = await downloadPass(card.id, apiKey);
    expect(pass.status).toBe(200);
    expect(pass.headers.get('content-type')).toBe('application/vnd.apple.pkpass');
    expect(pass.headers.get('last-modified')).toBeTruthy();
    const files = unzip(pass.bytes);
    expect([...files.keys()].sort()).toEqual(
      expect.arrayContaining([
        'icon.png',
        'icon@2x.png',
        'logo.png',
        'manifest.json',
        'pass.json',
        'signature',
      ]),
    );
    const verified = verifyPassSignature(pass.bytes, ca, wwdr);
    expect(verified.output).toContain('Verification successful');
    expect(verified.ok).toBe(true);
    expect(manifestMismatches(pass.bytes)).toEqual([]);

    const json = passJsonOf(pass.bytes);
    expect(json.serialNumber).toBe(card.id);
    expect(json.webServiceURL).toBe(`${stack.baseUrl}/wallet/apple`);
    expect(json.authenticationToken.length).toBeGreaterThanOrEqual(16);
    expect(json.storeCard.primaryFields[0]).toMatchObject({
      key: 'balance',
      value: 25.5,
      currencyCode: 'USD',
      changeMessage: 'Balance is now %@',
    });
    expect(json.barcodes[0]).toMatchObject({ format: 'PKBarcodeFormatQR', message: card.id });
    expect(JSON.stringify(json.storeCard)).toContain(card.last4);
    // The code is never stored, so it cannot be on the pass.
    expect(pass.bytes.includes(Buffer.from(code))).toBe(false);
  });

  it('answers the same pass (and token) to every download, so installed passes keep working', async () => {
    const { card } = await issueCard();
    const first = passJsonOf((await downloadPass(card.id, apiKey)).bytes);
    const second = passJsonOf((await downloadPass(card.id, admin)).bytes);
    expect(second.authenticationToken).toBe(first.authenticationToken);
  });

  it("is not found for another tenant's merchant, found for staff and for a read-only key of the program", async () => {
    const { card } = await issueCard();
    const program = await request('POST', '/v1/programs', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Other tenant', currency: 'USD', minLoad: 500, maxLoad: 50_000, maxBalance: 100_000 },
    });
    const merchant = await request('POST', '/v1/merchants', {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { name: 'Other merchant', programs: [program.body.id] },
    });
    const otherKey = await request('POST', `/v1/merchants/${merchant.body.id}/api-keys`, {
      token: admin,
      idempotencyKey: randomUUID(),
      body: {},
    });
    const refused = await downloadPass(card.id, otherKey.body.apiKey);
    expect(refused.status).toBe(404);
    expect(JSON.parse(refused.bytes.toString('utf8')).code).toBe('NOT_FOUND');
    const readOnly = await request('POST', `/v1/merchants/${stack.demo?.merchantId}/api-keys`, {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { scopes: ['cards:read'] },
    });
    expect((await downloadPass(card.id, readOnly.body.apiKey)).status).toBe(200);
    expect((await downloadPass(card.id, stack.demo?.staffTokens.finance ?? '')).status).toBe(200);
  });
});

describe("Apple's PassKit web service", () => {
  it('registers, lists updates, serves the pass with 304, follows a redemption, unregisters and takes logs', async () => {
    const { card } = await issueCard(5000);
    const json = passJsonOf((await downloadPass(card.id, apiKey)).bytes);
    const auth = {
      Authorization: `ApplePass ${json.authenticationToken}`,
      'Content-Type': 'application/json',
    };
    const device = `dev${randomUUID().replaceAll('-', '')}`;
    const registration = `/devices/${device}/registrations/${json.passTypeIdentifier}/${card.id}`;
    const pushToken = 'ab'.repeat(32);
    const register = (headers: Record<string, string>, body: unknown = { pushToken }) =>
      fetch(service(registration), { method: 'POST', headers, body: JSON.stringify(body) });

    expect((await register(auth)).status).toBe(201);
    expect((await register(auth, { pushToken: 'cd'.repeat(32) })).status).toBe(200);
    // Wrong token, no token, a Bearer key, another pass type: all 401, nothing written.
    expect((await register({ ...auth, Authorization: `ApplePass ${'x'.repeat(43)}` })).status).toBe(401);
    expect((await register({ 'Content-Type': 'application/json' })).status).toBe(401);
    expect((await register({ ...auth, Authorization: `Bearer ${apiKey}` })).status).toBe(401);
    const otherType = await fetch(service(`/devices/${device}/registrations/pass.other.type/${card.id}`), {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ pushToken }),
    });
    expect(otherType.status).toBe(401);
    // Hostile input: 400, nothing written.
    expect((await register(auth, { pushToken: '<script>' })).status).toBe(400);
    const badDevice = await fetch(
      service(`/devices/${'%3Cx%3E'}/registrations/${json.passTypeIdentifier}/${card.id}`),
      { method: 'POST', headers: auth, body: JSON.stringify({ pushToken }) },
    );
    expect(badDevice.status).toBe(400);

    const list = await request(
      'GET',
      `/wallet/apple/v1/devices/${device}/registrations/${json.passTypeIdentifier}`,
    );
    expect(list.status).toBe(200);
    expect(list.body.serialNumbers).toEqual([card.id]);
    expect(typeof list.body.lastUpdated).toBe('string');
    const since = `?passesUpdatedSince=${list.body.lastUpdated}`;
    const none = await request(
      'GET',
      `/wallet/apple/v1/devices/${device}/registrations/${json.passTypeIdentifier}${since}`,
    );
    expect(none.status).toBe(204);
    const unknownType = await request(
      'GET',
      `/wallet/apple/v1/devices/${device}/registrations/pass.other.type`,
    );
    expect(unknownType.status).toBe(404);

    const passPath = service(`/passes/${json.passTypeIdentifier}/${card.id}`);
    const latest = await fetchBytes(passPath, { headers: auth });
    expect(latest.status).toBe(200);
    expect(latest.headers.get('content-type')).toBe('application/vnd.apple.pkpass');
    expect(verifyPassSignature(latest.bytes, ca, wwdr).ok).toBe(true);
    const lastModified = latest.headers.get('last-modified') ?? '';
    const notModified = await fetchBytes(passPath, {
      headers: { ...auth, 'If-Modified-Since': lastModified },
    });
    expect(notModified.status).toBe(304);
    expect(notModified.bytes.length).toBe(0);
    const head = await fetchBytes(passPath, { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(head.headers.get('last-modified')).toBe(lastModified);
    expect(
      (await fetchBytes(passPath, { headers: { Authorization: 'ApplePass wrong-token-0123456789' } })).status,
    ).toBe(401);
    expect((await fetchBytes(passPath)).status).toBe(401);

    const redeemed = await request('POST', `/v1/cards/${card.id}/redeem`, {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { amount: 1250, channel: 'POS' },
    });
    expect(redeemed.status).toBe(200);
    // wallet-sync gives the change its update tag (and pushes) before the device is told to ask.
    await stack.poller.drain();
    const changed = await request(
      'GET',
      `/wallet/apple/v1/devices/${device}/registrations/${json.passTypeIdentifier}${since}`,
    );
    expect(changed.status).toBe(200);
    expect(changed.body.serialNumbers).toEqual([card.id]);
    const after = passJsonOf((await fetchBytes(passPath, { headers: auth })).bytes);
    expect(after.storeCard.primaryFields[0].value).toBe(37.5);

    const unregister = await fetch(service(registration), { method: 'DELETE', headers: auth });
    expect(unregister.status).toBe(200);
    const gone = await request(
      'GET',
      `/wallet/apple/v1/devices/${device}/registrations/${json.passTypeIdentifier}`,
    );
    expect(gone.status).toBe(204);

    const log = await request('POST', '/wallet/apple/v1/log', { body: { logs: ['Could not fetch pass'] } });
    expect(log.status).toBe(200);
    expect((await request('POST', '/wallet/apple/v1/log', { body: { logs: 'not a list' } })).status).toBe(
      400,
    );
  });
});

describe('wallet messages', () => {
  it('puts the latest card or program message on the pass; hostile text is refused and writes nothing', async () => {
    const { card } = await issueCard();
    const sent = await request('POST', `/v1/cards/${card.id}/wallet/messages`, {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { header: 'Holiday bonus', body: 'Spend 50, get 10 back this weekend.' },
    });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ cardId: card.id, header: 'Holiday bonus' });
    let json = passJsonOf((await downloadPass(card.id, apiKey)).bytes);
    expect(json.storeCard.backFields[0]).toMatchObject({
      key: 'message',
      label: 'Holiday bonus',
      value: 'Spend 50, get 10 back this weekend.',
      changeMessage: '%@',
    });

    const hostile = await request('POST', `/v1/cards/${card.id}/wallet/messages`, {
      token: apiKey,
      idempotencyKey: randomUUID(),
      body: { header: 'Hi\u202e', body: 'x\u0000y' },
    });
    expect(hostile.status).toBe(400);
    expect(hostile.body.errors.map((error: { field: string }) => error.field).sort()).toEqual([
      'body',
      'header',
    ]);

    const programWide = await request('POST', `/v1/programs/${stack.demo?.programId}/wallet/messages`, {
      token: stack.demo?.staffTokens.support,
      idempotencyKey: randomUUID(),
      body: { header: 'New stores', body: 'Now open in Lyon.' },
    });
    expect(programWide.status).toBe(202);
    json = passJsonOf((await downloadPass(card.id, apiKey)).bytes);
    expect(json.storeCard.backFields[0]).toMatchObject({ label: 'New stores', value: 'Now open in Lyon.' });

    const merchantProgramWide = await request(
      'POST',
      `/v1/programs/${stack.demo?.programId}/wallet/messages`,
      {
        token: apiKey,
        idempotencyKey: randomUUID(),
        body: { header: 'x', body: 'y' },
      },
    );
    expect(merchantProgramWide.status).toBe(403);
  });
});
