import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cardIdForCode, generateCode, normalizeCode } from '../../functions/core/card-code';
import { db } from '../../functions/store/dynamo-client';
import { keyState } from '../../functions/store/idempotency';
import { createMerchant } from '../../functions/store/merchants';
import { createWebhook, endpointForSending } from '../../functions/store/webhooks';
import { generateCodePepper } from '../../local/secrets';
import { findCard, issueCard, lookupCard, operateOnCard } from '../support/cards';
import { claim, codeOf, everyone, everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { resetHandlerState } from '../support/reset';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * Pepper rotation with old cards kept working: cards issued under pepper A, the secret rotated to a set
 * with B current, more cards issued; every code still finds its card, wrong codes find none, and records
 * sealed before the rotation (idempotent replays, webhook secrets) still open.
 */
const A = generateCodePepper();
const B = generateCodePepper();
const C = generateCodePepper();
const set = (current: string, peppers: Record<string, string>, sealing?: string) =>
  JSON.stringify({ current, peppers, ...(sealing ? { sealing } : {}) });

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('peppers');
  await testEnv();
});
afterAll(async () => table.drop());

/** What a function sees after a cold start with this secret (the local runtime's CODE_PEPPER). */
function coldStartWith(secret: string) {
  process.env.CODE_PEPPER = secret;
  resetHandlerState();
}

const issue = async (programId: string, idempotency = claim()) =>
  issueCard(
    programId,
    { type: 'DIGITAL', amount: 1000, activate: true },
    staffContext(),
    idempotency,
    everyProgram,
  );

async function storedPepperId(cardId: string) {
  const out = await db().send(
    new GetCommand({ TableName: table.tableName, Key: { PK: `CARD#${cardId}`, SK: 'CARD' } }),
  );
  return out.Item?.pepperId;
}

/** GetItem calls made while `run` runs. */
async function getItemsDuring(run: () => Promise<unknown>): Promise<number> {
  const send = vi.spyOn(db(), 'send');
  try {
    await run();
    return send.mock.calls.filter(([command]) => command instanceof GetCommand).length;
  } finally {
    send.mockRestore();
  }
}

describe('rotating the pepper (local: CODE_PEPPER)', () => {
  it('keeps cards issued under the old pepper findable by code, and issues new ones under the new', async () => {
    coldStartWith(A);
    const program = await makeProgram();
    const old = await Promise.all([issue(program.id), issue(program.id), issue(program.id)]);
    for (const { card, code } of old) {
      expect(card.id).toBe(cardIdForCode(code, A));
      expect(await storedPepperId(card.id)).toBe('v1');
    }

    coldStartWith(set('v2', { v1: A, v2: B }));
    const fresh = await Promise.all([issue(program.id), issue(program.id), issue(program.id)]);
    for (const { card, code } of fresh) {
      expect(card.id).toBe(cardIdForCode(code, B));
      expect(await storedPepperId(card.id)).toBe('v2');
    }

    for (const { card, code } of [...old, ...fresh]) {
      expect((await lookupCard(code, everyone)).id).toBe(card.id);
      const typed = `${code.slice(0, 4)} ${code.slice(4, 8)}-${code.slice(8)}`;
      expect((await lookupCard(typed, everyone)).id).toBe(card.id);
    }
    // A well-formed code that was never issued is still NOT_FOUND, under every pepper.
    expect(await codeOf(lookupCard(generateCode(program.codeFormat), everyone))).toBe('NOT_FOUND');
    expect(await codeOf(lookupCard(`${old[0]?.code.slice(0, -1)}x`, everyone))).toBe('NOT_FOUND');

    // Old cards keep their ids, so everything else works on them as before.
    const [first] = old;
    if (!first) throw new Error('no card');
    const redeemed = await operateOnCard(
      first.card.id,
      { type: 'REDEEM', amount: 300 },
      staffContext(),
      claim(),
      everyone,
    );
    expect(redeemed.card.balance).toBe(700);
    expect((await findCard(first.card.id))?.pepperId).toBe('v1');

    // A second rotation: all three generations stay findable.
    coldStartWith(set('v3', { v1: A, v2: B, v3: C }));
    const third = await issue(program.id);
    expect(third.card.id).toBe(cardIdForCode(third.code, C));
    for (const { card, code } of [...old, ...fresh, third]) {
      expect((await lookupCard(code, everyone)).id).toBe(card.id);
    }
  });

  it('reads once for a card of the current pepper and once more per older pepper tried', async () => {
    coldStartWith(A);
    const program = await makeProgram();
    const before = await issue(program.id);
    coldStartWith(set('v2', { v1: A, v2: B }));
    const after = await issue(program.id);
    await lookupCard(after.code, everyone); // the program is cached from here on

    expect(await getItemsDuring(() => lookupCard(after.code, everyone))).toBe(1);
    expect(await getItemsDuring(() => lookupCard(before.code, everyone))).toBe(2);
    const unknown = generateCode(program.codeFormat);
    expect(await getItemsDuring(() => codeOf(lookupCard(unknown, everyone)))).toBe(2);
    // An implausible code reads nothing at all.
    expect(await getItemsDuring(() => codeOf(lookupCard('1234567890123456', everyone)))).toBe(0);
  });

  it('still opens what was sealed before the rotation: idempotent replays and webhook secrets', async () => {
    coldStartWith(A);
    const program = await makeProgram();
    const merchant = await createMerchant({ name: 'Sealing test', programIds: [program.id] }, undefined);
    const webhook = await createWebhook(
      merchant.id,
      { url: 'https://hooks.example.com/giftcards', events: ['card.issued'] },
      undefined,
    );
    const key = claim();
    const first = await issue(program.id, key);

    coldStartWith(set('v2', { v1: A, v2: B }));
    const replay = await issue(program.id, { ...key });
    expect(replay.code).toBe(first.code);
    expect(replay.card.id).toBe(first.card.id);
    const state = await keyState<{ code: string }>(key, new Date());
    expect(state.kind === 'used' && state.result.code).toBe(first.code);
    expect((await endpointForSending(webhook.id, new Date()))?.secrets).toEqual([webhook.secret]);

    // Naming another sealing pepper would lose them: that is why `sealing` never moves with a rotation.
    coldStartWith(set('v2', { v1: A, v2: B }, 'v2'));
    expect(await codeOf(endpointForSending(webhook.id, new Date()))).not.toBe('OK');
  });
});

describe('rotating the pepper (AWS: the Secrets Manager secret)', () => {
  const secrets = mockClient(SecretsManagerClient);
  let secretValue = A;
  let local: string | undefined;

  beforeAll(() => {
    local = process.env.CODE_PEPPER;
    secrets.on(GetSecretValueCommand).callsFake(async () => ({ SecretString: secretValue }));
    delete process.env.CODE_PEPPER;
    process.env.CODE_PEPPER_SECRET_ID = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:pepper';
    process.env.PEPPER_CACHE_SECONDS = '0';
    resetHandlerState();
  });
  afterAll(() => {
    secrets.restore();
    process.env.CODE_PEPPER = local;
    delete process.env.CODE_PEPPER_SECRET_ID;
    delete process.env.PEPPER_CACHE_SECONDS;
    resetHandlerState();
  });

  it('follows the two-step procedure without a warm function ever missing a card', async () => {
    secretValue = A;
    const program = await makeProgram();
    const old = await issue(program.id);
    expect(await storedPepperId(old.card.id)).toBe('v1');

    // Step 1: the new pepper joins the set, the old one stays current.
    secretValue = set('v1', { v1: A, v2: B });
    const between = await issue(program.id);
    expect(between.card.id).toBe(cardIdForCode(between.code, A));

    // Step 2 (after the cache time): the new pepper becomes current.
    secretValue = set('v2', { v1: A, v2: B });
    const fresh = await issue(program.id);
    expect(fresh.card.id).toBe(cardIdForCode(fresh.code, B));
    expect(await storedPepperId(fresh.card.id)).toBe('v2');

    for (const { card, code } of [old, between, fresh])
      expect((await lookupCard(normalizeCode(code), everyone)).id).toBe(card.id);
    expect(await codeOf(lookupCard(generateCode(program.codeFormat), everyone))).toBe('NOT_FOUND');
    expect(secrets.commandCalls(GetSecretValueCommand).length).toBeGreaterThan(3);
  });

  it('keeps the set in hand when a refresh fails, and refuses to start on a broken secret', async () => {
    secretValue = set('v2', { v1: A, v2: B });
    const program = await makeProgram();
    const card = await issue(program.id);
    secretValue = '{"current": "v2", "peppers": ';
    expect((await lookupCard(card.code, everyone)).id).toBe(card.card.id);

    resetHandlerState();
    expect(await codeOf(lookupCard(card.code, everyone))).toContain('code pepper secret is invalid');
  });
});
