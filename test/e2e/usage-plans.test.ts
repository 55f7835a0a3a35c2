import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoDbClient } from '../../local/dynamodb';
import type { LocalStack } from '../../local/stack';
import { request, type TestResponse } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * Usage plans through the local gateway (the authorizer and per-usage-key throttles and quotas, as API
 * Gateway applies them in AWS), with small figures so a test can reach them. Buckets refill slowly
 * (one request in 100 s), so a burst that is refused stays refused for the test's few requests.
 */
const BURST = 5;
const QUOTA = 4;

let stack: LocalStack;
let admin: string;
let programId: string;

beforeAll(async () => {
  stack = await startTestStack({
    usagePlans: {
      standard: { rateLimit: 0.01, burstLimit: BURST },
      'high-volume': { rateLimit: 0.01, burstLimit: 50, dailyQuota: QUOTA },
      staff: { rateLimit: 0.01, burstLimit: 40 },
    },
  });
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  admin = demo.staffTokens.admin;
  programId = demo.programId;
});
afterAll(async () => stack.stop());

async function newMerchant(usagePlan?: string) {
  const merchant = await request('POST', '/v1/merchants', {
    token: admin,
    idempotencyKey: randomUUID(),
    body: {
      name: `Shop ${randomUUID().slice(0, 8)}`,
      programs: [programId],
      ...(usagePlan ? { usagePlan } : {}),
    },
  });
  expect(merchant.status).toBe(201);
  return { id: merchant.body.id as string, merchant: merchant.body, apiKey: await newKey(merchant.body.id) };
}

async function newKey(merchantId: string): Promise<string> {
  const key = await request('POST', `/v1/merchants/${merchantId}/api-keys`, {
    token: admin,
    idempotencyKey: randomUUID(),
    body: {},
  });
  expect(key.status).toBe(201);
  return key.body.apiKey as string;
}

const webhooks = (token: string) => request('GET', '/v1/webhooks', { token });
const statusesOf = (responses: readonly TestResponse[]) =>
  responses.map((response) => response.status).sort();

function expectThrottled(response: TestResponse) {
  expect(response.status).toBe(429);
  expect(response.headers['content-type']).toBe('application/problem+json');
  expect(response.headers['retry-after']).toBe('1');
  expect(response.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
}

/** Makes a merchant look as stored before usage plans existed: no tier, no usage identifier. */
async function storeAsBeforeUsagePlans(merchantId: string): Promise<void> {
  const client = DynamoDBDocumentClient.from(dynamoDbClient(stack.dynamodbEndpoint));
  try {
    await client.send(
      new UpdateCommand({
        TableName: stack.tableName,
        Key: { PK: `MERCHANT#${merchantId}`, SK: 'MERCHANT' },
        UpdateExpression: 'REMOVE usageIdentifier, usagePlan',
      }),
    );
  } finally {
    client.destroy();
  }
}

describe('merchant usage plans', () => {
  it('a merchant over its plan burst gets 429 problem+json; another merchant on the same plan is unaffected', async () => {
    const noisy = await newMerchant();
    const quiet = await newMerchant();
    expect(noisy.merchant.usagePlan).toBe('standard');
    const burst = await Promise.all(Array.from({ length: BURST + 5 }, () => webhooks(noisy.apiKey)));
    expect(statusesOf(burst)).toEqual([...Array(BURST).fill(200), ...Array(5).fill(429)]);
    const refused = burst.find((response) => response.status === 429);
    if (!refused) throw new Error('never throttled');
    expectThrottled(refused);
    // The refusal came from the gateway: the handler never ran (no handler answer carries this detail).
    expect(refused.body.detail).toContain('usage plan');

    expect((await webhooks(quiet.apiKey)).status).toBe(200);
    // Staff have a plan of their own.
    expect((await request('GET', `/v1/merchants/${noisy.id}`, { token: admin })).status).toBe(200);
  });

  it("counts every API key of a merchant against the merchant's plan", async () => {
    const shop = await newMerchant();
    const second = await newKey(shop.id);
    for (let i = 0; i < BURST; i++) expect((await webhooks(i % 2 ? shop.apiKey : second)).status).toBe(200);
    expectThrottled(await webhooks(second));
    expectThrottled(await webhooks(shop.apiKey));
  });

  it('stops a merchant at its daily quota (429 naming the quota, no Retry-After)', async () => {
    const shop = await newMerchant('high-volume');
    expect(shop.merchant.usagePlan).toBe('high-volume');
    for (let i = 0; i < QUOTA; i++) expect((await webhooks(shop.apiKey)).status).toBe(200);
    const over = await webhooks(shop.apiKey);
    expect(over.status).toBe(429);
    expect(over.headers['content-type']).toBe('application/problem+json');
    expect(over.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(over.body.detail).toContain('daily request quota');
    expect(over.headers['retry-after']).toBeUndefined();

    // Moving the merchant to another tier moves it to that plan's figures. (In AWS at once: the plan is
    // API Gateway's record of the key. The local gateway reads the tier from the authorizer's answer,
    // which it keeps 30 s per Authorization header: a key it has not seen yet shows the move now.)
    const moved = await request('PATCH', `/v1/merchants/${shop.id}`, {
      token: admin,
      body: { usagePlan: 'standard' },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.usagePlan).toBe('standard');
    expect((await webhooks(await newKey(shop.id))).status).toBe(200);
  });

  it('never shows the usage identifier; refuses unknown tiers', async () => {
    const shop = await newMerchant();
    const read = await request('GET', `/v1/merchants/${shop.id}`, { token: admin });
    expect(read.body.usagePlan).toBe('standard');
    const listed = await request('GET', '/v1/merchants?limit=200', { token: admin });
    for (const body of [shop.merchant, read.body, ...listed.body.items]) {
      expect(JSON.stringify(body)).not.toMatch(/usageIdentifier|gu_/);
    }
    const bad = await request('PATCH', `/v1/merchants/${shop.id}`, {
      token: admin,
      body: { usagePlan: 'unlimited' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'usagePlan' })]);
  });

  it('a merchant stored before usage plans is refused with 403 until an admin gives it a plan', async () => {
    const legacy = await newMerchant();
    await storeAsBeforeUsagePlans(legacy.id);
    // A key never used yet: nothing has cached the merchant as it was.
    const key = await newKey(legacy.id);
    const refused = await webhooks(key);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'FORBIDDEN' });
    expect(refused.body.detail).toContain('no usage plan');

    const patched = await request('PATCH', `/v1/merchants/${legacy.id}`, {
      token: admin,
      body: { usagePlan: 'standard' },
    });
    expect(patched.status).toBe(200);
    // The gateway keeps its answer for `key` up to 30 s (in AWS too); a key it has not seen works now.
    expect((await webhooks(await newKey(legacy.id))).status).toBe(200);
  });

  it('the usage-keys job heals a merchant stored before usage plans without anyone PATCHing it', async () => {
    const legacy = await newMerchant();
    await storeAsBeforeUsagePlans(legacy.id);
    expect((await webhooks(await newKey(legacy.id))).status).toBe(403);

    const report = await stack.scheduler.runNow('usage-keys');
    expect(report).toMatchObject({ changed: 1, failed: 0 });
    expect((await webhooks(await newKey(legacy.id))).status).toBe(200);
    const merchant = await request('GET', `/v1/merchants/${legacy.id}`, { token: admin });
    expect(merchant.body).toMatchObject({ usagePlan: 'standard' });
    // A second run finds nothing to do.
    expect(await stack.scheduler.runNow('usage-keys')).toMatchObject({ changed: 0, failed: 0 });
  });
});

describe('the authorizer in front of the handlers', () => {
  it('answers 401 problem+json with WWW-Authenticate for a missing or unknown credential', async () => {
    for (const token of [undefined, `gk_key_${'0'.repeat(26)}_${'a'.repeat(52)}`, 'not-a-token-at-all']) {
      const response = await webhooks(token as string);
      expect(response.status, String(token)).toBe(401);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(response.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    // Public routes have no authorizer.
    expect((await request('GET', '/health')).status).toBe(200);
  });

  it('a revoked key is refused at once, though the gateway still holds an Allow for it', async () => {
    const shop = await newMerchant();
    expect((await webhooks(shop.apiKey)).status).toBe(200);
    const keys = await request('GET', `/v1/merchants/${shop.id}/api-keys`, { token: admin });
    const revoked = await request('DELETE', `/v1/merchants/${shop.id}/api-keys/${keys.body.items[0].id}`, {
      token: admin,
    });
    expect(revoked.status).toBe(200);
    // The authorizer's answer is cached for 30 s; the handler authenticates again and refuses.
    const after = await webhooks(shop.apiKey);
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});

describe('staff usage plan', () => {
  it('all staff tokens share the staff plan', async () => {
    const demo = stack.demo;
    if (!demo) throw new Error('no demo');
    const tokens = Object.values(demo.staffTokens);
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        request('GET', '/v1/programs', { token: tokens[i % tokens.length] }),
      ),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(40);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(20);
  });
});
