import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dynamoDbClient } from '../../local/dynamodb';
import type { LocalLog } from '../../local/log';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { type CapturedOutput, captureOutput } from '../support/log-capture';
import { fetchBytes, passJsonOf } from '../support/pkpass';
import { startTestStack } from '../support/stack';

/**
 * "Logs never contain a full code, a PIN, an API key or a token": a full flow through the local stack
 * with the handlers at DEBUG, everything written to stdout, stderr and the console captured (Powertools
 * writes JSON lines to process.stdout/stderr; the local runtime's own logs and request log are captured
 * too), then searched for every secret the flow used.
 */
const { captured } = vi.hoisted(() => {
  // Before any module (the Powertools logger included) is loaded.
  process.env.LOG_LEVEL = 'DEBUG';
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  // A few failed lookups are enough to reach the limit, so the 429 path runs too.
  process.env.FAILED_CHECKS_LIMIT_PER_CALLER = '3';
  return { captured: [] as string[] };
});

let output: CapturedOutput | undefined;

const capturingLog = (prefix: string): LocalLog => ({
  info: (message) => captured.push(`${prefix} ${message}\n`),
  warn: (message) => captured.push(`${prefix} ${message}\n`),
  error: (message) => captured.push(`${prefix} ${message}\n`),
});

/** Every secret the flow sends or receives, by what it is. */
const secrets: { what: string; value: string }[] = [];
const secret = (what: string, value: string): string => {
  secrets.push({ what, value });
  return value;
};
const idempotencyKey = () => secret('Idempotency-Key', randomUUID());

let stack: LocalStack;
let receiver: Server;
let receiverUrl: string;
let deliveries = 0;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      deliveries += 1;
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  output = captureOutput(captured);
  stack = await startTestStack({
    logLevel: 'DEBUG',
    log: capturingLog('[local]'),
    requestLog: capturingLog('[request]'),
  });
});
afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  output?.restore();
});

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The captured output as log lines (Powertools writes one JSON document per line). */
const capturedLines = () => captured.join('').split('\n');
const handlerLines = () =>
  capturedLines().filter((line) => line.startsWith('{') && line.includes('"service":"giftcard"'));

describe('no secret reaches a log line', () => {
  it('runs a full flow: keys, issue, lookups, PINs, redemptions, webhooks, failed auth, 429, a 500', async () => {
    const demo = stack.demo;
    if (!demo) throw new Error('the test stack did not seed');
    const demoKey = secret('demo API key', demo.apiKey);
    for (const [role, token] of Object.entries(demo.staffTokens)) secret(`staff JWT (${role})`, token);
    const { admin, support } = demo.staffTokens;

    // Admin: a merchant and API keys for it.
    const merchant = await request('POST', '/v1/merchants', {
      token: admin,
      idempotencyKey: idempotencyKey(),
      body: { name: 'Log safety store', programs: [demo.programId] },
    });
    expect(merchant.status).toBe(201);
    const newKey = async () => {
      const created = await request('POST', `/v1/merchants/${merchant.body.id}/api-keys`, {
        token: admin,
        idempotencyKey: idempotencyKey(),
        body: { description: 'till 1' },
      });
      expect(created.status).toBe(201);
      return { id: created.body.id as string, key: secret('API key', created.body.apiKey as string) };
    };
    const till = await newKey();
    const revoked = await newKey();
    const broken = await newKey();

    // A webhook endpoint (its signing secret is a secret too).
    const webhook = await request('POST', '/v1/webhooks', {
      token: till.key,
      idempotencyKey: idempotencyKey(),
      body: { url: receiverUrl, events: ['card.issued', 'transaction.created'] },
    });
    expect(webhook.status).toBe(201);
    secret('webhook secret', webhook.body.secret as string);

    // Issue cards (and replay one issue: the code comes back in the replay).
    const issue = async (token: string, key = idempotencyKey()) => {
      const response = await request('POST', '/v1/cards', {
        token,
        idempotencyKey: key,
        body: { programId: demo.programId, type: 'DIGITAL', amount: 5000, activate: true },
      });
      expect(response.status).toBe(201);
      return {
        id: response.body.card.id as string,
        code: secret('card code', response.body.code as string),
        key,
      };
    };
    const card = await issue(till.key);
    const replay = await request('POST', '/v1/cards', {
      token: till.key,
      idempotencyKey: card.key,
      body: { programId: demo.programId, type: 'DIGITAL', amount: 5000, activate: true },
    });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const other = await issue(demoKey);
    const byStaff = await issue(support);

    // Lookups by code: right, spaced, unknown, by staff; then past the limit (429).
    const lookup = (token: string, code: string) =>
      request('POST', '/v1/cards/lookup', { token, body: { code } });
    expect((await lookup(till.key, card.code)).status).toBe(200);
    const spaced = secret('card code (spaced)', card.code.replace(/(\d{4})(?=\d)/g, '$1 '));
    expect((await lookup(till.key, spaced)).status).toBe(200);
    // Another ending than the card's own (a code ending in 00 made this the card itself once in 100 runs).
    const unknown = secret(
      'unknown card code',
      `${card.code.slice(0, -2)}${card.code.endsWith('00') ? '11' : '00'}`,
    );
    expect((await lookup(till.key, unknown)).status).toBe(404);
    expect((await lookup(support, other.code)).status).toBe(200);
    expect((await lookup(demoKey, byStaff.code)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await lookup(till.key, unknown)).status);
    expect(statuses).toContain(429);

    // Redemptions: one, its replay, one too large; a load; a reversal by staff.
    const redeemKey = idempotencyKey();
    const redeem = () =>
      request('POST', `/v1/cards/${card.id}/redeem`, {
        token: till.key,
        idempotencyKey: redeemKey,
        body: { amount: 1200, channel: 'POS', locationId: 'store-1' },
      });
    const redeemed = await redeem();
    expect(redeemed.status).toBe(200);
    expect((await redeem()).headers['idempotent-replayed']).toBe('true');
    const tooMuch = await request('POST', `/v1/cards/${card.id}/redeem`, {
      token: till.key,
      idempotencyKey: idempotencyKey(),
      body: { amount: 999_999 },
    });
    expect(tooMuch.body.code).toBe('INSUFFICIENT_FUNDS');
    expect(
      (
        await request('POST', `/v1/cards/${other.id}/load`, {
          token: demoKey,
          idempotencyKey: idempotencyKey(),
          body: { amount: 1000 },
        })
      ).status,
    ).toBe(200);
    const reversal = await request('POST', `/v1/transactions/${redeemed.body.transaction.id}/reverse`, {
      token: support,
      idempotencyKey: idempotencyKey(),
      body: { reference: 'customer changed their mind' },
    });
    expect(reversal.status).toBeLessThan(300);
    expect((await request('GET', `/v1/cards/${card.id}/transactions`, { token: till.key })).status).toBe(200);

    // PINs: set, verify right and wrong, change, redeem with it, a support reset to a new one.
    // Eight digits, so that no duration or id in a log line matches one by chance.
    const pin = secret('PIN', '58304172');
    const changed = secret('PIN', '61928537');
    const wrong = secret('wrong PIN', '70482619');
    const reset = secret('PIN', '39517028');
    const pinRoute = (suffix: string) => `/v1/cards/${other.id}/pin${suffix}`;
    const set = await request('PUT', pinRoute(''), {
      token: demoKey,
      idempotencyKey: idempotencyKey(),
      body: { pin },
    });
    expect(set.status).toBeLessThan(300);
    const verify = (value: string) =>
      request('POST', pinRoute('/verify'), { token: demoKey, body: { pin: value } });
    expect((await verify(pin)).status).toBe(204);
    expect((await verify(wrong)).status).toBe(401);
    const change = await request('PUT', pinRoute(''), {
      token: demoKey,
      idempotencyKey: idempotencyKey(),
      body: { pin: changed, currentPin: pin },
    });
    expect(change.status).toBeLessThan(300);
    const withPin = await request('POST', `/v1/cards/${other.id}/redeem`, {
      token: demoKey,
      idempotencyKey: idempotencyKey(),
      body: { amount: 100, pin: changed },
    });
    expect(withPin.status).toBe(200);
    const resetPin = await request('POST', pinRoute('/reset'), {
      token: support,
      idempotencyKey: idempotencyKey(),
      body: { pin: reset, reason: 'customer forgot it' },
    });
    expect(resetPin.status).toBeLessThan(300);
    expect((await verify(reset)).status).toBe(204);

    // Apple Wallet: the pass's authentication token and a device's push token are secrets; Apple's
    // devices send the first as `Authorization: ApplePass <token>`. Right, wrong and missing tokens.
    const pass = await fetchBytes(`${stack.baseUrl}/v1/cards/${card.id}/wallet/apple`, {
      headers: { Authorization: `Bearer ${till.key}` },
    });
    expect(pass.status).toBe(200);
    const passJson = passJsonOf(pass.bytes);
    const passToken = secret('ApplePass token', passJson.authenticationToken as string);
    const pushToken = secret('APNs push token', randomBytes(32).toString('hex'));
    const registration = `${stack.baseUrl}/wallet/apple/v1/devices/dev${randomBytes(8).toString('hex')}/registrations/${passJson.passTypeIdentifier}/${card.id}`;
    const register = (token: string) =>
      fetch(registration, {
        method: 'POST',
        headers: { Authorization: `ApplePass ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ pushToken }),
      });
    expect((await register(passToken)).status).toBe(201);
    expect((await register(secret('wrong ApplePass token', randomBytes(24).toString('hex')))).status).toBe(
      401,
    );
    const passUrl = `${stack.baseUrl}/wallet/apple/v1/passes/${passJson.passTypeIdentifier}/${card.id}`;
    expect((await fetchBytes(passUrl, { headers: { Authorization: `ApplePass ${passToken}` } })).status).toBe(
      200,
    );
    const unregistered = await fetch(registration, {
      method: 'DELETE',
      headers: { Authorization: `ApplePass ${passToken}` },
    });
    expect(unregistered.status).toBe(200);

    // Failed authentication: unknown key, wrong secret, revoked key, forged and malformed tokens.
    const revokedNow = await request('DELETE', `/v1/merchants/${merchant.body.id}/api-keys/${revoked.id}`, {
      token: admin,
    });
    expect(revokedNow.status).toBeLessThan(300);
    const [header = '', payload = '', signature = ''] = admin.split('.');
    const bogus = [
      `gk_key_${'0'.repeat(26)}_${randomBytes(26).toString('hex')}`,
      `${demoKey.slice(0, -4)}zzzz`,
      revoked.key,
      `${header}.${payload}.${signature.slice(0, -6)}AAAAAA`,
      `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`,
      `eyJ${randomBytes(40).toString('base64url')}`,
    ];
    for (const token of bogus) {
      secret('bogus token', token);
      const response = await request('POST', '/v1/cards/lookup', { token, body: { code: card.code } });
      expect(response.status, token).toBe(401);
    }
    const malformed = await request('GET', `/v1/cards/${card.id}`, {
      headers: {
        Authorization: secret('malformed Authorization', `Basic ${randomBytes(12).toString('hex')}`),
      },
    });
    expect(malformed.status).toBe(401);

    // A 500 while authenticating an API key (its stored record broken): the error path logs.
    const client = dynamoDbClient(stack.dynamodbEndpoint);
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: stack.tableName,
          Key: { PK: { S: `APIKEY#${broken.id}` }, SK: { S: 'APIKEY' } },
          UpdateExpression: 'REMOVE secretHash',
        }),
      );
    } finally {
      client.destroy();
    }
    const failed = await request('POST', '/v1/cards/lookup', {
      token: broken.key,
      body: { code: card.code },
    });
    expect(failed.status).toBe(500);
    expect(JSON.stringify(failed.body)).not.toContain(broken.key);

    // No such route (answered by the local API Gateway, in its request log).
    expect((await request('GET', '/v1/nothing-here', { token: till.key })).status).toBe(404);

    // The stream consumers deliver the webhooks (and log at DEBUG).
    await until(() => deliveries > 0, 'a webhook delivery');
    await until(
      () => handlerLines().some((line) => line.includes('Webhook deliveries')),
      'the webhooks consumer to log',
    );
  });

  it('captured the handlers’ log lines (DEBUG included) and the local runtime’s', () => {
    const lines = handlerLines().map((line) => JSON.parse(line) as Record<string, unknown>);
    // The broken key fails in the authorizer now (as in AWS, before any handler runs): it logs the error.
    const errors = ['Unhandled error', 'Authorizer failed'];
    expect(lines.some((line) => line.level === 'ERROR' && errors.includes(String(line.message)))).toBe(true);
    expect(lines.some((line) => line.level === 'DEBUG')).toBe(true);
    expect(capturedLines().some((line) => line.startsWith('[request] POST /v1/cards/lookup 429'))).toBe(true);
    expect(capturedLines().some((line) => line.startsWith('[request] POST /v1/cards/lookup 500'))).toBe(true);
  });

  it('no captured line contains a code, a PIN, an API key, a token, a webhook secret or an Idempotency-Key', () => {
    const all = capturedLines();
    expect(all.length).toBeGreaterThan(10);
    expect(secrets.length).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const { what, value } of secrets) {
      // The secret part of an API key (gk_<key id>_<secret>) and a JWT's signature count on their own.
      const parts = [value];
      const apiKeySecret = /^gk_key_[0-9a-z]{26}_(.+)$/.exec(value)?.[1];
      if (apiKeySecret) parts.push(apiKeySecret);
      const jwtSignature = value.split('.')[2];
      if (jwtSignature && jwtSignature.length >= 20) parts.push(jwtSignature);
      for (const part of parts) {
        const line = all.find((candidate) => candidate.includes(part));
        if (line !== undefined) leaks.push(`${what} in: ${line.slice(0, 300)}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
