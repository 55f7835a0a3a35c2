import {
  APIGatewayClient,
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeysCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
  NotFoundException,
} from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetConfigForTests } from '../../functions/config';
import type { Merchant } from '../../functions/core/merchant';
import { run as reconcileUsageKeys } from '../../functions/scheduled/usage-keys';
import { listAudit } from '../../functions/store/audit';
import { createMerchant, getMerchant, updateMerchant } from '../../functions/store/merchants';
import { resetUsageKeysForTests } from '../../functions/store/usage-keys';
import { claim, codeOf } from '../support/fixtures';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * Registering merchants' usage keys in API Gateway usage plans (functions/store/usage-keys.ts). API
 * Gateway cannot run here: its client is mocked (aws-sdk-client-mock) as a small in-memory API Gateway
 * that keeps keys and plan memberships; the merchants themselves are real items in DynamoDB Local.
 */
const PREFIX = 'giftcard-api-us-east-1';
const PLANS = { standard: 'plan-std', 'high-volume': 'plan-hv', staff: 'plan-staff' } as const;

const gateway = mockClient(APIGatewayClient);
let keys: { id: string; name: string; value: string }[];
let nextKey = 0;
let members: Map<string, Set<string>>;
let table: TestTable;

function fakeApiGateway() {
  keys = [];
  members = new Map(Object.values(PLANS).map((plan) => [plan, new Set<string>()]));
  gateway.reset();
  gateway.on(GetUsagePlansCommand).resolves({
    items: [
      ...Object.entries(PLANS).map(([tier, id]) => ({ id, name: `${PREFIX}-${tier}` })),
      { id: 'plan-other', name: 'someone-elses-plan' },
    ],
  });
  gateway.on(GetApiKeysCommand).callsFake(async (input: { nameQuery?: string }) => ({
    items: keys
      .filter((key) => key.name.startsWith(input.nameQuery ?? ''))
      .map(({ id, name }) => ({ id, name })),
  }));
  gateway.on(GetUsagePlanKeysCommand).callsFake(async (input: { usagePlanId: string }) => ({
    items: [...(members.get(input.usagePlanId) ?? [])].map((id) => ({ id, type: 'API_KEY' })),
  }));
  gateway.on(CreateApiKeyCommand).callsFake(async (input: { name: string; value: string }) => {
    if (keys.some((key) => key.value === input.value))
      throw new ConflictException({ message: 'exists', $metadata: {} });
    nextKey += 1;
    const key = { id: `apikey-${nextKey}`, name: input.name, value: input.value };
    keys.push(key);
    return { id: key.id, name: key.name };
  });
  gateway.on(CreateUsagePlanKeyCommand).callsFake(async (input: { usagePlanId: string; keyId: string }) => {
    // A key may be in one plan of a stage only.
    for (const [plan, set] of members) {
      if (set.has(input.keyId)) throw new ConflictException({ message: `already in ${plan}`, $metadata: {} });
    }
    members.get(input.usagePlanId)?.add(input.keyId);
    return { id: input.keyId };
  });
  gateway.on(DeleteUsagePlanKeyCommand).callsFake(async (input: { usagePlanId: string; keyId: string }) => {
    if (!members.get(input.usagePlanId)?.delete(input.keyId))
      throw new NotFoundException({ message: 'not a member', $metadata: {} });
    return {};
  });
}

const planOf = (keyId: string) => [...members].filter(([, set]) => set.has(keyId)).map(([plan]) => plan);
const keyOf = (merchant: Merchant) => keys.find((key) => key.name === merchant.id);

beforeAll(async () => {
  table = await createTestTable('usage-keys');
  await testEnv();
  process.env.USAGE_PLAN_PREFIX = PREFIX;
  resetConfigForTests();
});
afterAll(async () => {
  delete process.env.USAGE_PLAN_PREFIX;
  resetConfigForTests();
  gateway.restore();
  await table.drop();
});
beforeEach(() => {
  fakeApiGateway();
  resetUsageKeysForTests();
});
afterEach(() => gateway.reset());

describe('usage keys of merchants (AWS: API Gateway usage plans)', () => {
  it("creates the merchant's usage key with its random identifier, in its tier's plan", async () => {
    const merchant = await createMerchant({ name: 'Shop', programIds: [] }, claim());
    expect(merchant.usagePlan).toBe('standard');
    const key = keyOf(merchant);
    expect(key?.value).toBe(merchant.usageIdentifier);
    expect(key?.value).toMatch(/^gu_[0-9a-z]{52}$/);
    expect(planOf(key?.id ?? '')).toEqual([PLANS.standard]);

    const big = await createMerchant({ name: 'Chain', programIds: [], usagePlan: 'high-volume' }, claim());
    expect(planOf(keyOf(big)?.id ?? '')).toEqual([PLANS['high-volume']]);
    // Every merchant has its own identifier, and the stored merchant is the one registered.
    expect(big.usageIdentifier).not.toBe(merchant.usageIdentifier);
    expect((await getMerchant(big.id)).usageIdentifier).toBe(keyOf(big)?.value);
  });

  it('moves the key when the tier changes: out of the old plan, into the new one', async () => {
    const merchant = await createMerchant({ name: 'Growing shop', programIds: [] }, claim());
    const keyId = keyOf(merchant)?.id ?? '';
    await updateMerchant(merchant.id, { usagePlan: 'high-volume' });
    expect(planOf(keyId)).toEqual([PLANS['high-volume']]);
    expect(gateway.commandCalls(DeleteUsagePlanKeyCommand).at(-1)?.args[0].input).toEqual({
      usagePlanId: PLANS.standard,
      keyId,
    });
    await updateMerchant(merchant.id, { usagePlan: 'standard' });
    expect(planOf(keyId)).toEqual([PLANS.standard]);
    // Renaming keeps the key where it is, and never makes a second key.
    await updateMerchant(merchant.id, { name: 'Renamed shop' });
    expect(planOf(keyId)).toEqual([PLANS.standard]);
    expect(keys.filter((key) => key.name === merchant.id)).toHaveLength(1);
    // Never into the staff plan.
    expect(members.get(PLANS.staff)?.size).toBe(0);
  });

  it('gives a merchant stored before usage plans a key on its next PATCH', async () => {
    const merchant = await createMerchant({ name: 'Old shop', programIds: [] }, claim());
    // As stored before this change: no tier, no identifier, no key.
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    const { db } = await import('../../functions/store/dynamo-client');
    await db().send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { PK: `MERCHANT#${merchant.id}`, SK: 'MERCHANT' },
        UpdateExpression: 'REMOVE usageIdentifier, usagePlan',
      }),
    );
    fakeApiGateway();
    const updated = await updateMerchant(merchant.id, { name: 'Old shop' });
    expect(updated.usageIdentifier).toMatch(/^gu_/);
    expect(updated.usageIdentifier).not.toBe(merchant.usageIdentifier);
    expect(keyOf(updated)?.value).toBe(updated.usageIdentifier);
    expect(planOf(keyOf(updated)?.id ?? '')).toEqual([PLANS.standard]);
  });

  it('a failed registration fails the request; its retry (same Idempotency-Key) heals it without a second merchant or key', async () => {
    gateway.on(CreateUsagePlanKeyCommand).rejectsOnce(new Error('API Gateway is unavailable'));
    const request = claim('S:admin', 'create');
    expect(await codeOf(createMerchant({ name: 'Unlucky shop', programIds: [] }, request))).toContain(
      'unavailable',
    );
    expect(keys).toHaveLength(1);
    const keyId = keys[0]?.id ?? '';
    expect(planOf(keyId)).toEqual([]);

    gateway.on(CreateUsagePlanKeyCommand).callsFake(async (input: { usagePlanId: string; keyId: string }) => {
      members.get(input.usagePlanId)?.add(input.keyId);
      return {};
    });
    const retried = await createMerchant(
      { name: 'Unlucky shop', programIds: [] },
      { ...request, replayed: false },
    );
    expect(keys).toHaveLength(1);
    expect(keyOf(retried)?.id).toBe(keyId);
    expect(planOf(keyId)).toEqual([PLANS.standard]);
  });

  it('looks the plans up once per warm function, and fails clearly when one is missing', async () => {
    await createMerchant({ name: 'A', programIds: [] }, claim());
    await createMerchant({ name: 'B', programIds: [] }, claim());
    expect(gateway.commandCalls(GetUsagePlansCommand)).toHaveLength(1);

    resetUsageKeysForTests();
    gateway.on(GetUsagePlansCommand).resolves({ items: [{ id: 'plan-std', name: `${PREFIX}-standard` }] });
    expect(await codeOf(createMerchant({ name: 'C', programIds: [] }, claim()))).toContain(
      `${PREFIX}-high-volume`,
    );
  });

  it('calls nothing without USAGE_PLAN_PREFIX (the local runtime, which has no API Gateway)', async () => {
    delete process.env.USAGE_PLAN_PREFIX;
    resetConfigForTests();
    try {
      const merchant = await createMerchant({ name: 'Local shop', programIds: [] }, claim());
      await updateMerchant(merchant.id, { usagePlan: 'high-volume' });
      expect(gateway.calls()).toHaveLength(0);
    } finally {
      process.env.USAGE_PLAN_PREFIX = PREFIX;
      resetConfigForTests();
    }
  });
});

describe('the usage-keys job (reconciliation)', () => {
  it('gives legacy merchants an identifier (audited), re-registers missing or misplaced keys, then finds nothing to do', async () => {
    const inPlace = await createMerchant({ name: 'In place', programIds: [] }, claim());
    const misplaced = await createMerchant(
      { name: 'Misplaced', programIds: [], usagePlan: 'high-volume' },
      claim(),
    );
    const lost = await createMerchant({ name: 'Lost key', programIds: [] }, claim());
    const legacy = await createMerchant({ name: 'Legacy', programIds: [] }, claim());
    // Merchants of earlier tests in this table have no key in this fresh fake: the first run heals them.
    const first = await reconcileUsageKeys();
    expect(first.failed).toBe(0);
    expect(first.assigned).toBe(0);

    // Break three of them, each its own way.
    const misplacedKey = keyOf(misplaced)?.id ?? '';
    members.get(PLANS['high-volume'])?.delete(misplacedKey);
    members.get(PLANS.standard)?.add(misplacedKey);
    const lostKey = keyOf(lost)?.id ?? '';
    keys = keys.filter((key) => key.id !== lostKey);
    members.get(PLANS.standard)?.delete(lostKey);
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    const { db } = await import('../../functions/store/dynamo-client');
    await db().send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { PK: `MERCHANT#${legacy.id}`, SK: 'MERCHANT' },
        UpdateExpression: 'REMOVE usageIdentifier, usagePlan',
      }),
    );
    const legacyKey = keyOf(legacy)?.id ?? '';
    keys = keys.filter((key) => key.id !== legacyKey);
    members.get(PLANS.standard)?.delete(legacyKey);
    const inPlaceKey = keyOf(inPlace)?.id ?? '';
    gateway.resetHistory();

    const at = new Date();
    const report = await reconcileUsageKeys(at);
    expect(report).toEqual({ examined: first.examined, changed: 3, assigned: 1, registered: 2, failed: 0 });
    expect(planOf(misplacedKey)).toEqual([PLANS['high-volume']]);
    expect(planOf(keyOf(lost)?.id ?? '')).toEqual([PLANS.standard]);
    const healed = await getMerchant(legacy.id);
    expect(healed).toMatchObject({ usagePlan: 'standard', usageIdentifier: expect.stringMatching(/^gu_/) });
    expect(keyOf(healed)?.value).toBe(healed.usageIdentifier);
    expect(planOf(keyOf(healed)?.id ?? '')).toEqual([PLANS.standard]);
    // The merchant in place was not touched.
    expect(planOf(inPlaceKey)).toEqual([PLANS.standard]);
    const touched = gateway.commandCalls(CreateUsagePlanKeyCommand).map((call) => call.args[0].input.keyId);
    expect(touched).not.toContain(inPlaceKey);
    // The identifier given is an audited change, by the job, with its reason, and no secret in it.
    const audit = await listAudit({
      actor: 'usage-keys',
      from: new Date(at.getTime() - 1000).toISOString(),
      to: new Date(at.getTime() + 60_000).toISOString(),
      limit: 10,
    });
    expect(audit.items).toEqual([
      expect.objectContaining({
        action: 'merchant.update',
        subjectId: legacy.id,
        actor: { type: 'system', id: 'usage-keys' },
        reason: expect.stringContaining('no usage identifier'),
      }),
    ]);
    expect(JSON.stringify(audit.items)).not.toContain(healed.usageIdentifier);

    // Nothing left to do: no change, no write call to API Gateway.
    gateway.resetHistory();
    expect(await reconcileUsageKeys()).toEqual({
      examined: first.examined,
      changed: 0,
      assigned: 0,
      registered: 0,
      failed: 0,
    });
    expect(gateway.commandCalls(CreateApiKeyCommand)).toHaveLength(0);
    expect(gateway.commandCalls(CreateUsagePlanKeyCommand)).toHaveLength(0);
    expect(gateway.commandCalls(DeleteUsagePlanKeyCommand)).toHaveLength(0);
  });

  it('counts a merchant it cannot fix, goes on with the others, and fixes it on the next run', async () => {
    await reconcileUsageKeys();
    const a = await createMerchant({ name: 'A', programIds: [] }, claim());
    const b = await createMerchant({ name: 'B', programIds: [] }, claim());
    for (const merchant of [a, b]) {
      const keyId = keyOf(merchant)?.id ?? '';
      keys = keys.filter((key) => key.id !== keyId);
      members.get(PLANS.standard)?.delete(keyId);
    }
    // One call fails; the fake's other answers stay as they are.
    const createKey = gateway.commandCalls(CreateApiKeyCommand).length;
    let failedOnce = false;
    const realCreate = async (input: { name: string; value: string }) => {
      nextKey += 1;
      const key = { id: `apikey-${nextKey}`, name: input.name, value: input.value };
      keys.push(key);
      return { id: key.id, name: key.name };
    };
    gateway.on(CreateApiKeyCommand).callsFake(async (input: { name: string; value: string }) => {
      if (failedOnce) return realCreate(input);
      failedOnce = true;
      throw new Error('API Gateway is unavailable');
    });
    const report = await reconcileUsageKeys();
    expect(gateway.commandCalls(CreateApiKeyCommand).length - createKey).toBe(2);
    expect(report).toMatchObject({ registered: 1, failed: 1 });
    expect(keys.filter((key) => key.name === a.id || key.name === b.id)).toHaveLength(1);
    expect(await reconcileUsageKeys()).toMatchObject({ registered: 1, failed: 0 });
    for (const merchant of [a, b]) expect(planOf(keyOf(merchant)?.id ?? '')).toEqual([PLANS.standard]);
  });
});
