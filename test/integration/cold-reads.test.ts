import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handler as cards } from '../../functions/api/cards';
import { handler as transactions } from '../../functions/api/transactions';
import { handler as wallet } from '../../functions/api/wallet';
import { authenticate } from '../../functions/http/auth';
import { logger } from '../../functions/logger';
import {
  authenticateApiKey,
  clearApiKeyCache,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  settleLastUseWrites,
} from '../../functions/store/api-keys';
import { db } from '../../functions/store/dynamo-client';
import { clearMerchantCache, createMerchant } from '../../functions/store/merchants';
import {
  clearProgramCache,
  findProgram,
  updateProgram,
  warmProgramCache,
} from '../../functions/store/programs';
import { generateLocalAppleCertificates } from '../../local/apple-certificates';
import { issueCard } from '../support/cards';
import { everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { resetHandlerState } from '../support/reset';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * Reads a cold instance makes side by side instead of one after the other (cold start, BENCHMARKS.md):
 * the key with the merchant API Gateway's authorizer named, and a merchant's programs with its card.
 * Doing them together must never change who is let in or which program a change is planned on.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('cold-reads');
  await testEnv();
});
afterAll(async () => table.drop());

const coldInstance = () => {
  clearApiKeyCache();
  clearMerchantCache();
  clearProgramCache();
};

async function merchantWithKey(name: string) {
  const merchant = await createMerchant({ name, programIds: [] }, undefined);
  const key = await createApiKey(merchant.id, { scopes: ['cards:read'] }, undefined);
  return { merchant, key };
}

describe('authenticating an API key with the authorizer’s merchant as a hint', () => {
  it('lets the key in as its own merchant, whichever merchant the hint names', async () => {
    const shop = await merchantWithKey('Shop');
    const other = await merchantWithKey('Other shop');
    for (const merchantHint of [shop.merchant.id, other.merchant.id, 'mer_unknown']) {
      coldInstance();
      const principal = await authenticate(`Bearer ${shop.key.apiKey}`, { merchantHint });
      expect(principal).toMatchObject({ type: 'merchant', merchant: { id: shop.merchant.id } });
    }
  });

  it('refuses a revoked key and a forged secret even with the right merchant named', async () => {
    const shop = await merchantWithKey('Shop');
    const forged = `${shop.key.apiKey.slice(0, -4)}aaaa`;
    coldInstance();
    await expect(authenticate(`Bearer ${forged}`, { merchantHint: shop.merchant.id })).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await revokeApiKey(shop.merchant.id, shop.key.id);
    coldInstance();
    await expect(
      authenticate(`Bearer ${shop.key.apiKey}`, { merchantHint: shop.merchant.id }),
    ).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});

describe("an API key's last use", () => {
  it('is written alongside the request and is stored once the handler has settled it', async () => {
    const shop = await merchantWithKey('Shop');
    coldInstance();
    await authenticate(`Bearer ${shop.key.apiKey}`, { merchantHint: shop.merchant.id });
    await settleLastUseWrites();
    const [stored] = (await listApiKeys(shop.merchant.id, 10)).items;
    expect(stored?.lastUsedAt).toBeDefined();
  });

  it('never refuses a valid key when the write fails', async () => {
    const shop = await merchantWithKey('Shop');
    coldInstance();
    await authenticate(`Bearer ${shop.key.apiKey}`);
    await settleLastUseWrites();
    // The key is cached now; two minutes on, its last use is due again and the write fails.
    const mock = mockClient(DynamoDBDocumentClient);
    mock.on(UpdateCommand).rejects(new Error('ProvisionedThroughputExceededException'));
    const warned = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      const found = await authenticateApiKey(shop.key.apiKey, new Date(Date.now() + 120_000));
      await settleLastUseWrites();
      expect(found?.merchant.id).toBe(shop.merchant.id);
      expect(mock.commandCalls(UpdateCommand)).toHaveLength(1);
      expect(warned).toHaveBeenCalledTimes(1);
    } finally {
      mock.restore();
      warned.mockRestore();
    }
  });
});

describe('reading programs ahead', () => {
  it('a program changed while it was being read ahead is then read as changed', async () => {
    const program = await makeProgram({ name: 'Before' });
    coldInstance();
    warmProgramCache([program.id]);
    await updateProgram(program.id, { name: 'After' });
    expect((await findProgram(program.id, { cached: true }))?.name).toBe('After');
  });

  it('a program read ahead is the one later reads get, and unknown ids stay unknown', async () => {
    const program = await makeProgram({ name: 'Kept' });
    coldInstance();
    warmProgramCache([program.id, 'prg_unknown']);
    expect(await findProgram(program.id, { cached: true })).toEqual(program);
    expect(await findProgram('prg_unknown', { cached: true })).toBeUndefined();
  });
});

/** Each DynamoDB call a handler makes, and how many calls had answered when it was sent. */
function recordCalls() {
  const client = db();
  const original = client.send.bind(client);
  const calls: { command: string; key: string; batch: string[]; answeredBefore: number }[] = [];
  let answered = 0;
  const spy = vi.spyOn(client, 'send').mockImplementation((async (command: {
    constructor: { name: string };
    input: {
      Key?: { PK?: string };
      RequestItems?: Record<string, { Keys?: { PK?: string; SK?: string }[] }>;
      ExpressionAttributeValues?: Record<string, unknown>;
    };
  }) => {
    calls.push({
      command: command.constructor.name,
      key: String(command.input.Key?.PK ?? command.input.ExpressionAttributeValues?.[':pk'] ?? ''),
      // A BatchGetItem's keys (PK/SK).
      batch: Object.values(command.input.RequestItems ?? {}).flatMap((items) =>
        (items.Keys ?? []).map((key) => `${key.PK}/${key.SK}`),
      ),
      answeredBefore: answered,
    });
    try {
      return await original(command as never);
    } finally {
      answered += 1;
    }
  }) as never);
  return { calls, restore: () => spy.mockRestore() };
}

/** A program, a merchant selling it with a key that may read and change cards, and an active card. */
async function shopWithCard() {
  const program = await makeProgram();
  const merchant = await createMerchant({ name: 'Till', programIds: [program.id] }, undefined);
  const key = await createApiKey(merchant.id, { scopes: ['cards:transact', 'cards:read'] }, undefined);
  const issued = await issueCard(
    program.id,
    { type: 'DIGITAL', amount: 1000, activate: true },
    staffContext(),
    undefined,
    everyProgram,
  );
  return { program, merchant, key, card: issued.card };
}

describe('a card change the gateway authorizer let through', () => {
  const redeemEvent = (
    cardId: string,
    apiKey: string,
    authorizer: Record<string, string> | undefined,
  ): APIGatewayProxyEvent => ({
    httpMethod: 'POST',
    resource: '/v1/cards/{cardId}/redeem',
    path: `/v1/cards/${cardId}/redeem`,
    pathParameters: { cardId },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    headers: {
      Authorization: `Bearer ${apiKey}`,
      'Idempotency-Key': `cold-${Math.random()}`,
      'Content-Type': 'application/json',
    },
    multiValueHeaders: {},
    body: JSON.stringify({ amount: 100, channel: 'POS' }),
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {
      requestId: 'req-early',
      ...(authorizer ? { authorizer } : {}),
    } as unknown as APIGatewayProxyEvent['requestContext'],
  });

  it('reads key, merchant, card and program in one round on a cold instance, then writes', async () => {
    const { program, merchant, key, card } = await shopWithCard();
    coldInstance();
    const recorded = recordCalls();
    try {
      const answer = await cards(
        redeemEvent(card.id, key.apiKey, {
          principalType: 'merchant',
          merchantId: merchant.id,
          programIds: program.id,
        }),
        {} as Context,
      );
      expect(answer.statusCode).toBe(200);
      expect(JSON.parse(answer.body).card.balance).toBe(900);
    } finally {
      recorded.restore();
    }
    const firstRound = recorded.calls.filter((call) => call.answeredBefore === 0).map((call) => call.key);
    expect(firstRound).toEqual(
      expect.arrayContaining([`CARD#${card.id}`, `PROGRAM#${program.id}`, `MERCHANT#${merchant.id}`]),
    );
    expect(firstRound.some((pk) => pk.startsWith('APIKEY#'))).toBe(true);
    const writes = recorded.calls.filter((call) => call.command === 'TransactWriteCommand');
    expect(writes).toHaveLength(1);
    // Nothing was read twice: the plan used the early card read and the program read ahead.
    const reads = recorded.calls.filter((call) => call.command === 'GetCommand').map((call) => call.key);
    expect(new Set(reads).size).toBe(reads.length);
  });

  it('a GET of a ledger entry reads the entry and its card alongside the key; a stranger gets 404', async () => {
    const { program, merchant, key, card } = await shopWithCard();
    const stranger = await createMerchant({ name: 'Stranger', programIds: [] }, undefined);
    const strangerKey = await createApiKey(stranger.id, { scopes: ['cards:read'] }, undefined);
    const transactionId = `tx_${card.id.slice(3)}_2`;
    const get = (apiKey: string, merchantId: string): APIGatewayProxyEvent => ({
      ...redeemEvent(card.id, apiKey, { principalType: 'merchant', merchantId, programIds: program.id }),
      httpMethod: 'GET',
      resource: '/v1/transactions/{transactionId}',
      path: `/v1/transactions/${transactionId}`,
      pathParameters: { transactionId },
      body: null,
    });
    coldInstance();
    const recorded = recordCalls();
    try {
      const answer = await transactions(get(key.apiKey, merchant.id), {} as Context);
      expect(answer.statusCode).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ id: transactionId, type: 'ACTIVATE', amount: 1000 });
    } finally {
      recorded.restore();
    }
    const firstRound = recorded.calls.filter((call) => call.answeredBefore === 0).map((call) => call.key);
    expect(firstRound.filter((pk) => pk === `CARD#${card.id}`)).toHaveLength(2);
    expect(firstRound.some((pk) => pk.startsWith('APIKEY#'))).toBe(true);

    coldInstance();
    const refused = await transactions(get(strangerKey.apiKey, stranger.id), {} as Context);
    expect(refused.statusCode).toBe(404);
    expect(refused.body).not.toContain('balanceAfter');
  });

  it('reads nothing ahead without the authorizer, and refuses a stranger after reading ahead', async () => {
    const { key, card } = await shopWithCard();
    const stranger = await createMerchant({ name: 'Stranger', programIds: [] }, undefined);
    const strangerKey = await createApiKey(stranger.id, { scopes: ['cards:transact'] }, undefined);
    coldInstance();
    let recorded = recordCalls();
    try {
      // No authorizer context (not through the gateway): the card is read only after authentication.
      const answer = await cards(redeemEvent(card.id, key.apiKey, undefined), {} as Context);
      expect(answer.statusCode).toBe(200);
    } finally {
      recorded.restore();
    }
    expect(recorded.calls.find((call) => call.key === `CARD#${card.id}`)?.answeredBefore).toBeGreaterThan(0);

    coldInstance();
    recorded = recordCalls();
    try {
      // Let through by the gateway as another merchant: the card is read ahead, but not shown or changed.
      const answer = await cards(
        redeemEvent(card.id, strangerKey.apiKey, { principalType: 'merchant', merchantId: stranger.id }),
        {} as Context,
      );
      expect(answer.statusCode).toBe(404);
      expect(answer.body).not.toContain('"balance"');
    } finally {
      recorded.restore();
    }
    expect(recorded.calls.find((call) => call.key === `CARD#${card.id}`)?.answeredBefore).toBe(0);
    expect(recorded.calls.some((call) => call.command === 'TransactWriteCommand')).toBe(false);
  });
});

describe('a cold pass download (the wallet function)', () => {
  beforeAll(() => {
    const chain = generateLocalAppleCertificates({
      passTypeIdentifier: 'pass.test.cold',
      teamIdentifier: 'COLD123456',
    });
    process.env.APPLE_PASS_CERTIFICATES = JSON.stringify(chain.certificates);
    process.env.PUBLIC_BASE_URL = 'https://api.test.example';
    resetHandlerState();
  });
  afterAll(() => {
    delete process.env.APPLE_PASS_CERTIFICATES;
    delete process.env.PUBLIC_BASE_URL;
    resetHandlerState();
  });

  const download = (
    cardId: string,
    apiKey: string,
    authorizer: Record<string, string>,
  ): APIGatewayProxyEvent => ({
    httpMethod: 'GET',
    resource: '/v1/cards/{cardId}/wallet/apple',
    path: `/v1/cards/${cardId}/wallet/apple`,
    pathParameters: { cardId },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    headers: { Authorization: `Bearer ${apiKey}` },
    multiValueHeaders: {},
    body: null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {
      requestId: 'req-pass',
      authorizer,
    } as unknown as APIGatewayProxyEvent['requestContext'],
  });

  async function shopWithPass() {
    const { program, merchant, key, card } = await shopWithCard();
    const authorizer = { principalType: 'merchant', merchantId: merchant.id, programIds: program.id };
    // The first download records the pass item; the cold ones below find it.
    expect((await wallet(download(card.id, key.apiKey, authorizer), {} as Context)).statusCode).toBe(200);
    return { program, merchant, key, card, authorizer };
  }

  it('reads the pass item, the key and the merchant as one BatchGetItem, then the card, program and latest messages as another', async () => {
    const { program, merchant, key, card, authorizer } = await shopWithPass();
    coldInstance();
    const recorded = recordCalls();
    try {
      const answer = await wallet(download(card.id, key.apiKey, authorizer), {} as Context);
      expect(answer.statusCode).toBe(200);
      expect(answer.headers?.['Content-Type']).toBe('application/vnd.apple.pkpass');
    } finally {
      recorded.restore();
    }
    const firstWave = recorded.calls.filter((call) => call.answeredBefore === 0);
    expect(firstWave).toHaveLength(1);
    expect(firstWave[0]?.command).toBe('BatchGetCommand');
    expect(firstWave[0]?.batch).toEqual(
      expect.arrayContaining([`CARD#${card.id}/APPLEPASS`, `MERCHANT#${merchant.id}/MERCHANT`]),
    );
    expect(firstWave[0]?.batch.some((key) => key.startsWith('APIKEY#'))).toBe(true);
    expect(firstWave[0]?.batch).toHaveLength(3);
    // The card with its program and their latest wallet messages, in one BatchGetItem, only once the pass
    // item had answered; nothing is queried.
    const cardRead = recorded.calls.find((call) => call.batch.includes(`CARD#${card.id}/CARD`));
    expect(cardRead?.answeredBefore).toBeGreaterThan(0);
    expect(cardRead?.batch).toEqual(
      expect.arrayContaining([
        `PROGRAM#${program.id}/PROGRAM`,
        `CARD#${card.id}/LATESTWALLETMSG`,
        `PROGRAM#${program.id}/LATESTWALLETMSG`,
      ]),
    );
    expect(recorded.calls.filter((call) => call.command === 'BatchGetCommand')).toHaveLength(2);
    expect(recorded.calls.filter((call) => call.command === 'QueryCommand')).toHaveLength(0);
    expect(recorded.calls.filter((call) => call.command === 'GetCommand')).toHaveLength(0);
  });

  it('still lets a key in only as its own merchant, and refuses revoked and foreign keys, though the pass was read ahead', async () => {
    const { key, card, authorizer } = await shopWithPass();
    const stranger = await createMerchant({ name: 'Stranger', programIds: [] }, undefined);
    const strangerKey = await createApiKey(stranger.id, { scopes: ['cards:read'] }, undefined);
    // A wrong merchant named by the gateway: the key item decides, one more merchant read after the batch.
    coldInstance();
    const recorded = recordCalls();
    try {
      const answer = await wallet(
        download(card.id, key.apiKey, { ...authorizer, merchantId: stranger.id }),
        {} as Context,
      );
      expect(answer.statusCode).toBe(200);
    } finally {
      recorded.restore();
    }
    expect(recorded.calls[0]?.batch).toContain(`MERCHANT#${stranger.id}/MERCHANT`);
    expect(recorded.calls.some((call) => call.key === `MERCHANT#${key.merchantId}`)).toBe(true);
    // Another merchant's key, let through by the gateway as that merchant: 404, no pass.
    coldInstance();
    const foreign = await wallet(
      download(card.id, strangerKey.apiKey, {
        principalType: 'merchant',
        merchantId: stranger.id,
        programIds: '',
      }),
      {} as Context,
    );
    expect(foreign.statusCode).toBe(404);
    expect(foreign.headers?.['Content-Type']).not.toBe('application/vnd.apple.pkpass');
    // A revoked key: 401, although its item was read in the batch.
    await revokeApiKey(key.merchantId, key.id);
    coldInstance();
    const revoked = await wallet(download(card.id, key.apiKey, authorizer), {} as Context);
    expect(revoked.statusCode).toBe(401);
    expect(revoked.headers?.['Content-Type']).not.toBe('application/vnd.apple.pkpass');
  });
});

describe('the pepper in AWS (Secrets Manager)', () => {
  const secrets = mockClient(SecretsManagerClient);
  let local: string | undefined;
  beforeAll(() => {
    local = process.env.CODE_PEPPER;
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'p'.repeat(40) });
    delete process.env.CODE_PEPPER;
    process.env.CODE_PEPPER_SECRET_ID = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:pepper';
    resetHandlerState();
  });
  afterAll(() => {
    secrets.restore();
    process.env.CODE_PEPPER = local;
    delete process.env.CODE_PEPPER_SECRET_ID;
    resetHandlerState();
  });

  const redeem = (idempotencyKey: string): APIGatewayProxyEvent => ({
    httpMethod: 'POST',
    resource: '/v1/cards/{cardId}/redeem',
    path: `/v1/cards/gc_${'2'.repeat(26)}/redeem`,
    pathParameters: { cardId: `gc_${'2'.repeat(26)}` },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    headers: {
      Authorization: `Bearer gk_key_${'0'.repeat(26)}_${'a'.repeat(52)}`,
      'Idempotency-Key': idempotencyKey,
      'Content-Type': 'application/json',
    },
    multiValueHeaders: {},
    body: JSON.stringify({ amount: 100, channel: 'POS' }),
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { requestId: 'req-cold' } as APIGatewayProxyEvent['requestContext'],
  });

  it('is read once, from the start of a cold request that may seal a result, alongside authentication', async () => {
    const first = await cards(redeem('k-1'), {} as Context);
    expect(first.statusCode).toBe(401);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    const second = await cards(redeem('k-2'), {} as Context);
    expect(second.statusCode).toBe(401);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });
});
