import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayStatus } from '../../functions/core/card';
import { sumOfAmounts } from '../../functions/core/ledger';
import { db, tableName } from '../../functions/store/dynamo-client';
import { claimKey } from '../../functions/store/idempotency';
import { sealingPepper } from '../../functions/store/secrets';
import {
  allEntries,
  cardHistory,
  findCard,
  getCard,
  getTransaction,
  issueCard,
  listCards,
  lookupCard,
  operateOnCard,
} from '../support/cards';
import {
  claim,
  codeOf,
  everyone,
  everyProgram,
  makeProgram,
  merchantContext,
  staffContext,
} from '../support/fixtures';
import { createTestTable, type TestTable, testEnv } from '../support/table';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('ledger');
  await testEnv();
});
afterAll(async () => table.drop());

async function expectLedgerMatches(cardId: string) {
  const card = await findCard(cardId);
  const entries = await allEntries(cardId);
  expect(card?.balance).toBe(sumOfAmounts(entries));
  expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
  expect(card?.seq).toBe(entries.length);
  return { card, entries };
}

describe('issuing', () => {
  it('issues an active card with value: ISSUE then ACTIVATE entries, code returned once', async () => {
    const program = await makeProgram();
    const issued = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 2500, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    expect(issued.code).toMatch(/^\d{16}$/);
    expect(issued.card).toMatchObject({
      status: 'ACTIVE',
      balance: 2500,
      available: 2500,
      currency: 'USD',
      last4: issued.code.slice(-4),
    });
    expect(issued.transactions.map((t) => [t.type, t.amount, t.balanceAfter])).toEqual([
      ['ISSUE', 0, 0],
      ['ACTIVATE', 2500, 2500],
    ]);
    const { card } = await expectLedgerMatches(issued.card.id);
    expect(JSON.stringify(card)).not.toContain(issued.code);
  });

  it('issues a pending pre-loaded physical card, activated later with 0', async () => {
    const program = await makeProgram();
    const issued = await issueCard(
      program.id,
      { type: 'PHYSICAL', amount: 1000, activate: false },
      staffContext(),
      undefined,
      everyProgram,
    );
    expect(issued.card).toMatchObject({ status: 'PENDING', balance: 1000 });
    expect(
      await codeOf(
        operateOnCard(issued.card.id, { type: 'REDEEM', amount: 100 }, staffContext(), undefined, everyone),
      ),
    ).toBe('CARD_NOT_ACTIVE');
    const activated = await operateOnCard(
      issued.card.id,
      { type: 'ACTIVATE', amount: 0 },
      staffContext(),
      undefined,
      everyone,
    );
    expect(activated.card).toMatchObject({ status: 'ACTIVE', balance: 1000 });
    await expectLedgerMatches(issued.card.id);
  });

  it('refuses values outside the program limits and writes nothing', async () => {
    const program = await makeProgram({ maxLoad: 5000 });
    expect(
      await codeOf(
        issueCard(
          program.id,
          { type: 'DIGITAL', amount: 5001, activate: true },
          staffContext(),
          undefined,
          everyProgram,
        ),
      ),
    ).toBe('LIMIT_EXCEEDED');
    const page = await listCards({ programId: program.id }, 50, undefined, new Date(), displayStatus);
    expect(page.items).toHaveLength(0);
  });

  it('finds the card by its code (spaces and dashes ignored) and not by a near miss', async () => {
    const program = await makeProgram();
    const issued = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 500, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const spaced = issued.code.replace(/(\d{4})(?=\d)/g, '$1 ');
    expect((await lookupCard(spaced, everyone)).id).toBe(issued.card.id);
    const wrong = `${issued.code.slice(0, -1)}${(Number(issued.code.slice(-1)) + 1) % 10}`;
    expect(await codeOf(lookupCard(wrong, everyone))).toBe('NOT_FOUND');
    expect(await codeOf(lookupCard(issued.code, () => false))).toBe('NOT_FOUND');
  });
});

describe('money verbs', () => {
  it('loads, redeems in full and in part, adjusts, and keeps balance = sum of the ledger', async () => {
    const program = await makeProgram();
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 5000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    await operateOnCard(
      card.id,
      { type: 'LOAD', amount: 2000 },
      merchantContext('mer_x'),
      undefined,
      everyone,
    );
    const redeemed = await operateOnCard(
      card.id,
      { type: 'REDEEM', amount: 1500 },
      merchantContext('mer_x', {
        request: { channel: 'POS', locationId: 'store-7', terminalId: 'till-2', reference: 'order 1' },
      }),
      undefined,
      everyone,
    );
    expect(redeemed.transaction).toMatchObject({
      type: 'REDEEM',
      amount: -1500,
      balanceAfter: 5500,
      availableAfter: 5500,
      channel: 'POS',
      locationId: 'store-7',
      terminalId: 'till-2',
      reference: 'order 1',
      merchantId: 'mer_x',
    });
    expect(
      await codeOf(
        operateOnCard(card.id, { type: 'REDEEM', amount: 6000 }, staffContext(), undefined, everyone),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
    const partial = await operateOnCard(
      card.id,
      { type: 'REDEEM', amount: 6000, allowPartial: true },
      staffContext(),
      undefined,
      everyone,
    );
    expect(partial.transaction.amount).toBe(-5500);
    expect(partial.card.balance).toBe(0);
    expect(
      await codeOf(
        operateOnCard(
          card.id,
          { type: 'REDEEM', amount: 1, allowPartial: true },
          staffContext(),
          undefined,
          everyone,
        ),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
    await operateOnCard(
      card.id,
      { type: 'ADJUST', amount: 300, reason: 'goodwill' },
      staffContext(),
      undefined,
      everyone,
    );
    expect(
      await codeOf(
        operateOnCard(
          card.id,
          { type: 'ADJUST', amount: -301, reason: 'too much' },
          staffContext(),
          undefined,
          everyone,
        ),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
    const { card: after, entries } = await expectLedgerMatches(card.id);
    expect(after?.balance).toBe(300);
    expect(entries.map((entry) => entry.type)).toEqual([
      'ISSUE',
      'ACTIVATE',
      'LOAD',
      'REDEEM',
      'REDEEM',
      'ADJUST_INCREMENT',
    ]);
    expect(entries.at(-1)?.reason).toBe('goodwill');
  });

  it('refuses a load above max balance, another currency, and an expired card', async () => {
    const program = await makeProgram({ maxBalance: 10_000 });
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 9000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    expect(
      await codeOf(
        operateOnCard(card.id, { type: 'LOAD', amount: 1001 }, staffContext(), undefined, everyone),
      ),
    ).toBe('LIMIT_EXCEEDED');
    expect(
      await codeOf(
        operateOnCard(
          card.id,
          { type: 'REDEEM', amount: 100 },
          staffContext({ currency: 'EUR' }),
          undefined,
          everyone,
        ),
      ),
    ).toBe('CURRENCY_MISMATCH');
    const expiring = await makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_ISSUE', months: 1 } });
    const issued = await issueCard(
      expiring.id,
      { type: 'DIGITAL', amount: 1000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const later = new Date(Date.now() + 40 * 86_400_000);
    expect(
      await codeOf(
        operateOnCard(
          issued.card.id,
          { type: 'REDEEM', amount: 100 },
          staffContext({ now: later }),
          undefined,
          everyone,
        ),
      ),
    ).toBe('CARD_EXPIRED');
    expect(displayStatus(issued.card, later)).toBe('EXPIRED');
    await expectLedgerMatches(card.id);
  });

  it('blocks, refuses use while blocked, unblocks, deactivates for good', async () => {
    const program = await makeProgram();
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 1000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    await operateOnCard(
      card.id,
      { type: 'BLOCK', reason: 'reported lost' },
      staffContext(),
      undefined,
      everyone,
    );
    expect(
      await codeOf(
        operateOnCard(card.id, { type: 'REDEEM', amount: 100 }, staffContext(), undefined, everyone),
      ),
    ).toBe('CARD_BLOCKED');
    expect(await codeOf(operateOnCard(card.id, { type: 'BLOCK' }, staffContext(), undefined, everyone))).toBe(
      'CONFLICT',
    );
    await operateOnCard(card.id, { type: 'UNBLOCK', reason: 'found' }, staffContext(), undefined, everyone);
    await operateOnCard(card.id, { type: 'REDEEM', amount: 100 }, staffContext(), undefined, everyone);
    await operateOnCard(
      card.id,
      { type: 'DEACTIVATE', reason: 'closed' },
      staffContext(),
      undefined,
      everyone,
    );
    expect(
      await codeOf(operateOnCard(card.id, { type: 'UNBLOCK' }, staffContext(), undefined, everyone)),
    ).toBe('CONFLICT');
    expect(
      await codeOf(
        operateOnCard(card.id, { type: 'LOAD', amount: 500 }, staffContext(), undefined, everyone),
      ),
    ).toBe('CARD_NOT_ACTIVE');
    const { entries } = await expectLedgerMatches(card.id);
    expect(entries.map((entry) => entry.type)).toEqual([
      'ISSUE',
      'ACTIVATE',
      'BLOCK',
      'UNBLOCK',
      'REDEEM',
      'DEACTIVATE',
    ]);
  });

  it('hides cards the caller may not see behind NOT_FOUND, on reads and writes', async () => {
    const program = await makeProgram();
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 1000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const nobody = () => false;
    expect(await codeOf(getCard(card.id, nobody))).toBe('NOT_FOUND');
    expect(
      await codeOf(
        operateOnCard(card.id, { type: 'REDEEM', amount: 100 }, staffContext(), undefined, nobody),
      ),
    ).toBe('NOT_FOUND');
    const entry = (await allEntries(card.id))[0];
    expect(await codeOf(getTransaction(String(entry?.id), nobody, undefined))).toBe('NOT_FOUND');
    expect((await findCard(card.id))?.balance).toBe(1000);
  });
});

describe('idempotency', () => {
  it('replays the first result for the same key and request, once in the ledger', async () => {
    const program = await makeProgram();
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 1000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const key = claim();
    const first = await operateOnCard(
      card.id,
      { type: 'REDEEM', amount: 1000 },
      staffContext(),
      key,
      everyone,
    );
    const retry = { ...key };
    // The card is now empty: the retry must still answer with the first success, not INSUFFICIENT_FUNDS.
    const second = await operateOnCard(
      card.id,
      { type: 'REDEEM', amount: 1000 },
      staffContext(),
      retry,
      everyone,
    );
    expect(second).toEqual(first);
    expect(retry.replayed).toBe(true);
    const { entries } = await expectLedgerMatches(card.id);
    expect(entries.filter((entry) => entry.type === 'REDEEM')).toHaveLength(1);
  });

  it('keeps the result sealed and compact (binary, 1 KB for a redemption); older text records still replay', async () => {
    const program = await makeProgram();
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 1000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const key = claim('M:merchant_with_a_realistic_length_id_0001');
    const first = await operateOnCard(
      card.id,
      { type: 'REDEEM', amount: 100 },
      staffContext(),
      key,
      everyone,
    );
    const stored = await db().send(new GetCommand({ TableName: tableName(), Key: claimKey(key) }));
    const record = stored.Item ?? {};
    expect(record.result).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(record.result).includes(Buffer.from(card.id))).toBe(false);
    // The size DynamoDB bills for: attribute names and values, here all strings, numbers and binary.
    const size = Object.entries(record).reduce(
      (total, [name, value]) =>
        total + name.length + (value instanceof Uint8Array ? value.length : String(value).length),
      0,
    );
    expect(size).toBeLessThanOrEqual(1024);

    // A record sealed the way results were stored before (base64 text of plain JSON) still replays.
    const pepper = await sealingPepper();
    const aesKey = Buffer.from(hkdfSync('sha256', pepper, 'giftcard', 'idempotency-result-v1', 32));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
    cipher.setAAD(Buffer.from(claimKey(key).PK));
    const body = Buffer.concat([cipher.update(JSON.stringify(first), 'utf8'), cipher.final()]);
    const legacy = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    await db().send(new PutCommand({ TableName: tableName(), Item: { ...record, result: legacy } }));
    const retry = { ...key };
    expect(
      await operateOnCard(card.id, { type: 'REDEEM', amount: 100 }, staffContext(), retry, everyone),
    ).toEqual(first);
    expect(retry.replayed).toBe(true);
    expect((await findCard(card.id))?.balance).toBe(900);
  });

  it('refuses the same key with a different request (422) and writes nothing', async () => {
    const program = await makeProgram();
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 1000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const key = claim('S:test', 'request-a');
    await operateOnCard(card.id, { type: 'REDEEM', amount: 100 }, staffContext(), key, everyone);
    const other = { ...key, requestHash: 'request-b' };
    expect(
      await codeOf(operateOnCard(card.id, { type: 'REDEEM', amount: 200 }, staffContext(), other, everyone)),
    ).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await findCard(card.id))?.balance).toBe(900);
  });

  it('replays a card issue with the same code, and scopes keys per principal', async () => {
    const program = await makeProgram();
    const key = claim('M:one');
    const first = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 1000, activate: true },
      staffContext(),
      key,
      everyProgram,
    );
    const again = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 1000, activate: true },
      staffContext(),
      { ...key },
      everyProgram,
    );
    expect(again.code).toBe(first.code);
    expect(again.card.id).toBe(first.card.id);
    const otherPrincipal = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 1000, activate: true },
      staffContext(),
      { ...key, scope: 'M:two' },
      everyProgram,
    );
    expect(otherPrincipal.card.id).not.toBe(first.card.id);
  });

  it('does not record a refused request: the same key may succeed once funds arrive', async () => {
    const program = await makeProgram();
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 100, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const key = claim();
    expect(
      await codeOf(
        operateOnCard(card.id, { type: 'REDEEM', amount: 500 }, staffContext(), { ...key }, everyone),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
    await operateOnCard(card.id, { type: 'LOAD', amount: 1000 }, staffContext(), undefined, everyone);
    const done = await operateOnCard(
      card.id,
      { type: 'REDEEM', amount: 500 },
      staffContext(),
      { ...key },
      everyone,
    );
    expect(done.card.balance).toBe(600);
  });
});

describe('history and listing', () => {
  it('pages the ledger newest first with an opaque cursor bound to the card', async () => {
    const program = await makeProgram();
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 10_000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    for (let i = 0; i < 5; i++)
      await operateOnCard(card.id, { type: 'REDEEM', amount: 100 }, staffContext(), undefined, everyone);
    const first = await cardHistory(card.id, 3, undefined);
    expect(first.items.map((entry) => entry.seq)).toEqual([7, 6, 5]);
    expect(first.nextCursor).toBeTypeOf('string');
    const second = await cardHistory(card.id, 3, first.nextCursor ?? undefined);
    expect(second.items.map((entry) => entry.seq)).toEqual([4, 3, 2]);
    const other = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 100, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    expect(await codeOf(cardHistory(other.card.id, 3, first.nextCursor ?? undefined))).toBe(
      'VALIDATION_FAILED',
    );
    expect(await codeOf(cardHistory(card.id, 3, 'bm90IGpzb24'))).toBe('VALIDATION_FAILED');
    const entry = first.items[0];
    expect((await getTransaction(String(entry?.id), everyone, undefined)).seq).toBe(7);
    expect(await codeOf(getTransaction('tx_nonsense', everyone, undefined))).toBe('NOT_FOUND');
  });

  it('lists cards by program, customer and merchant, narrowed by status and last 4', async () => {
    const program = await makeProgram();
    const a = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 100, activate: true, customerId: 'cust-1' },
      merchantContext('mer_a'),
      undefined,
      everyProgram,
    );
    const b = await issueCard(
      program.id,
      { type: 'PHYSICAL', amount: 0, activate: false },
      staffContext(),
      undefined,
      everyProgram,
    );
    const byProgram = await listCards({ programId: program.id }, 50, undefined, new Date(), displayStatus);
    expect(byProgram.items.map((card) => card.id).sort()).toEqual([a.card.id, b.card.id].sort());
    const pending = await listCards(
      { programId: program.id, status: 'PENDING' },
      50,
      undefined,
      new Date(),
      displayStatus,
    );
    expect(pending.items.map((card) => card.id)).toEqual([b.card.id]);
    const byCustomer = await listCards({ customerId: 'cust-1' }, 50, undefined, new Date(), displayStatus);
    expect(byCustomer.items.map((card) => card.id)).toEqual([a.card.id]);
    const byMerchant = await listCards(
      { merchantId: 'mer_a', last4: a.code.slice(-4) },
      50,
      undefined,
      new Date(),
      displayStatus,
    );
    expect(byMerchant.items.map((card) => card.id)).toEqual([a.card.id]);
    expect(await codeOf(listCards({}, 50, undefined, new Date(), displayStatus))).toBe('VALIDATION_FAILED');
  });
});
