import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumOfAmounts } from '../../functions/core/ledger';
import {
  allEntries,
  findCard,
  findHold,
  issueCard,
  operateOnCard,
  reverseByIdempotencyKey,
  reverseTransaction,
  transferBetweenCards,
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
  table = await createTestTable('verbs');
  await testEnv();
});
afterAll(async () => table.drop());

async function activeCard(amount: number, overrides = {}) {
  const program = await makeProgram(overrides);
  const { card } = await issueCard(
    program.id,
    { type: 'DIGITAL', amount, activate: true },
    staffContext(),
    undefined,
    everyProgram,
  );
  return card;
}

async function expectInvariant(cardId: string) {
  const card = await findCard(cardId);
  const entries = await allEntries(cardId);
  expect(card?.balance).toBe(sumOfAmounts(entries));
  expect(card?.available).toBeGreaterThanOrEqual(0);
  expect(card?.available).toBeLessThanOrEqual(card?.balance ?? 0);
  return { card, entries };
}

const act = (cardId: string, request: Parameters<typeof operateOnCard>[1], context = staffContext()) =>
  operateOnCard(cardId, request, context, undefined, everyone);

describe('holds', () => {
  it('a hold lowers available, not balance; a partial capture takes part and releases the rest', async () => {
    const card = await activeCard(10_000);
    const held = await act(card.id, { type: 'HOLD', amount: 4000, expiresInSeconds: 3600 });
    expect(held.card).toMatchObject({ balance: 10_000, available: 6000 });
    expect(held.hold).toMatchObject({ status: 'ACTIVE', amount: 4000 });
    expect(await codeOf(act(card.id, { type: 'REDEEM', amount: 6001 }))).toBe('INSUFFICIENT_FUNDS');
    const holdId = String(held.hold?.id);
    expect(await codeOf(act(card.id, { type: 'CAPTURE', holdId, amount: 4001 }))).toBe('LIMIT_EXCEEDED');
    const captured = await act(card.id, { type: 'CAPTURE', holdId, amount: 2500 });
    expect(captured.card).toMatchObject({ balance: 7500, available: 7500 });
    expect(captured.transaction).toMatchObject({
      type: 'CAPTURE',
      amount: -2500,
      relatedTransactionId: held.transaction.id,
    });
    expect(await findHold(card.id, holdId)).toMatchObject({ status: 'CAPTURED', capturedAmount: 2500 });
    expect(await codeOf(act(card.id, { type: 'CAPTURE', holdId }))).toBe('CONFLICT');
    expect(await codeOf(act(card.id, { type: 'VOID', holdId }))).toBe('CONFLICT');
    await expectInvariant(card.id);
  });

  it('a void releases the whole hold; a capture after expiry is refused', async () => {
    const card = await activeCard(5000);
    const held = await act(card.id, { type: 'HOLD', amount: 5000, expiresInSeconds: 60 });
    const voided = await act(card.id, { type: 'VOID', holdId: String(held.hold?.id) });
    expect(voided.card).toMatchObject({ balance: 5000, available: 5000 });
    const again = await act(card.id, { type: 'HOLD', amount: 1000, expiresInSeconds: 60 });
    const later = staffContext({ now: new Date(Date.now() + 120_000) });
    expect(await codeOf(act(card.id, { type: 'CAPTURE', holdId: String(again.hold?.id) }, later))).toBe(
      'CONFLICT',
    );
    const { entries } = await expectInvariant(card.id);
    expect(entries.map((entry) => entry.type)).toEqual(['ISSUE', 'ACTIVATE', 'HOLD', 'VOID', 'HOLD']);
  });

  it('retrying a hold with the same key places it once', async () => {
    const card = await activeCard(5000);
    const key = claim();
    const first = await operateOnCard(
      card.id,
      { type: 'HOLD', amount: 1000, expiresInSeconds: 600 },
      staffContext(),
      key,
      everyone,
    );
    const again = await operateOnCard(
      card.id,
      { type: 'HOLD', amount: 1000, expiresInSeconds: 600 },
      staffContext(),
      { ...key },
      everyone,
    );
    expect(again.hold?.id).toBe(first.hold?.id);
    expect((await findCard(card.id))?.available).toBe(4000);
  });
});

describe('refunds and reversals', () => {
  it('refunds onto a redemption never exceed what it took', async () => {
    const card = await activeCard(10_000);
    const redeemed = await act(card.id, { type: 'REDEEM', amount: 3000 });
    await act(card.id, { type: 'REFUND', amount: 1000, transactionId: redeemed.transaction.id });
    await act(card.id, { type: 'REFUND', amount: 2000, transactionId: redeemed.transaction.id });
    expect(
      await codeOf(act(card.id, { type: 'REFUND', amount: 1, transactionId: redeemed.transaction.id })),
    ).toBe('LIMIT_EXCEEDED');
    const load = (await allEntries(card.id)).find((entry) => entry.type === 'ACTIVATE');
    expect(await codeOf(act(card.id, { type: 'REFUND', amount: 1, transactionId: String(load?.id) }))).toBe(
      'CONFLICT',
    );
    const unlinked = await act(card.id, { type: 'REFUND', amount: 700 });
    expect(unlinked.card.balance).toBe(10_700);
    await expectInvariant(card.id);
  });

  it('parallel refunds against one redemption cannot together exceed it', async () => {
    const card = await activeCard(10_000);
    const redeemed = await act(card.id, { type: 'REDEEM', amount: 1000 });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        codeOf(act(card.id, { type: 'REFUND', amount: 100, transactionId: redeemed.transaction.id })),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'OK')).toHaveLength(10);
    expect((await findCard(card.id))?.balance).toBe(10_000);
  });

  it('reverses a redemption, a load and an activation exactly once', async () => {
    const card = await activeCard(5000);
    const redeemed = await act(card.id, { type: 'REDEEM', amount: 1200 });
    const reversed = await reverseTransaction(redeemed.transaction.id, staffContext(), everyone);
    expect(reversed.reversal).toMatchObject({
      type: 'REVERSAL',
      amount: 1200,
      relatedTransactionId: redeemed.transaction.id,
    });
    expect(await codeOf(reverseTransaction(redeemed.transaction.id, staffContext(), everyone))).toBe(
      'CONFLICT',
    );
    expect(
      await codeOf(act(card.id, { type: 'REFUND', amount: 1, transactionId: redeemed.transaction.id })),
    ).toBe('LIMIT_EXCEEDED');
    const loaded = await act(card.id, { type: 'LOAD', amount: 2000 });
    await reverseTransaction(loaded.transaction.id, staffContext(), everyone);
    const activation = (await allEntries(card.id)).find((entry) => entry.type === 'ACTIVATE');
    const undone = await reverseTransaction(String(activation?.id), staffContext(), everyone);
    expect(undone.status).toBe('REVERSED');
    expect(await findCard(card.id)).toMatchObject({ status: 'PENDING', balance: 0 });
    await expectInvariant(card.id);
  });

  it('a load that was already spent cannot be reversed', async () => {
    const card = await activeCard(1000);
    const loaded = await act(card.id, { type: 'LOAD', amount: 2000 });
    await act(card.id, { type: 'REDEEM', amount: 2500 });
    expect(await codeOf(reverseTransaction(loaded.transaction.id, staffContext(), everyone))).toBe(
      'INSUFFICIENT_FUNDS',
    );
  });
});

describe('POS timeout reversal by idempotency key', () => {
  it('reverses a request that committed, and says the same when asked again', async () => {
    const card = await activeCard(5000);
    const key = claim('M:till');
    await operateOnCard(
      card.id,
      { type: 'REDEEM', amount: 800 },
      merchantContext('mer_till'),
      { ...key },
      everyone,
    );
    const first = await reverseByIdempotencyKey(
      { scope: key.scope, key: key.key },
      merchantContext('mer_till'),
      everyone,
    );
    expect(first.status).toBe('REVERSED');
    const second = await reverseByIdempotencyKey(
      { scope: key.scope, key: key.key },
      merchantContext('mer_till'),
      everyone,
    );
    expect(second.status).toBe('ALREADY_REVERSED');
    expect((await findCard(card.id))?.balance).toBe(5000);
    await expectInvariant(card.id);
  });

  it('a lost hold request is undone by voiding the hold, once', async () => {
    const card = await activeCard(5000);
    const key = claim('M:till');
    const held = await operateOnCard(
      card.id,
      { type: 'HOLD', amount: 1500, expiresInSeconds: 600 },
      merchantContext('mer_till'),
      { ...key },
      everyone,
    );
    const first = await reverseByIdempotencyKey(
      { scope: key.scope, key: key.key },
      merchantContext('mer_till'),
      everyone,
    );
    expect(first.status).toBe('REVERSED');
    expect(await findHold(card.id, String(held.hold?.id))).toMatchObject({ status: 'VOIDED' });
    const second = await reverseByIdempotencyKey(
      { scope: key.scope, key: key.key },
      merchantContext('mer_till'),
      everyone,
    );
    expect(second.status).toBe('ALREADY_REVERSED');
    expect(await findCard(card.id)).toMatchObject({ balance: 5000, available: 5000 });
  });

  it('spends a key whose request never arrived, so a late original cannot commit', async () => {
    const card = await activeCard(5000);
    const key = claim('M:till');
    const outcome = await reverseByIdempotencyKey(
      { scope: key.scope, key: key.key },
      merchantContext('mer_till'),
      everyone,
    );
    expect(outcome.status).toBe('NOTHING_TO_REVERSE');
    const late = operateOnCard(
      card.id,
      { type: 'REDEEM', amount: 800 },
      merchantContext('mer_till'),
      { ...key },
      everyone,
    );
    expect(await codeOf(late)).toBe('CONFLICT');
    expect((await findCard(card.id))?.balance).toBe(5000);
    const again = await reverseByIdempotencyKey(
      { scope: key.scope, key: key.key },
      merchantContext('mer_till'),
      everyone,
    );
    expect(again.status).toBe('NOTHING_TO_REVERSE');
  });

  it('a reversal racing the original: exactly one of "reversed" or "never happened", never a lost debit', async () => {
    for (let round = 0; round < 5; round++) {
      const card = await activeCard(5000);
      const key = claim('M:race');
      const [redeem, reversal] = await Promise.all([
        codeOf(
          operateOnCard(
            card.id,
            { type: 'REDEEM', amount: 500 },
            merchantContext('mer_r'),
            { ...key },
            everyone,
          ),
        ),
        reverseByIdempotencyKey({ scope: key.scope, key: key.key }, merchantContext('mer_r'), everyone),
      ]);
      expect((await findCard(card.id))?.balance).toBe(5000);
      if (redeem === 'OK') expect(reversal.status).toBe('REVERSED');
      else expect(reversal.status).toBe('NOTHING_TO_REVERSE');
    }
  });
});

describe('transfers and cash-out', () => {
  it('moves the whole balance to a replacement card atomically, also from a blocked card by support', async () => {
    const program = await makeProgram();
    const { card: lost } = await issueCard(
      program.id,
      { type: 'PHYSICAL', amount: 4200, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const { card: replacement } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 0, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    await act(lost.id, { type: 'BLOCK', reason: 'lost' });
    expect(
      await codeOf(
        transferBetweenCards(
          lost.id,
          replacement.id,
          undefined,
          merchantContext('mer_x'),
          undefined,
          everyone,
        ),
      ),
    ).toBe('CARD_BLOCKED');
    const moved = await transferBetweenCards(
      lost.id,
      replacement.id,
      undefined,
      staffContext(),
      undefined,
      everyone,
    );
    expect(moved.transaction).toMatchObject({
      type: 'TRANSFER_OUT',
      amount: -4200,
      relatedTransactionId: moved.counterpart.transaction.id,
    });
    expect(moved.counterpart.card.balance).toBe(4200);
    await expectInvariant(lost.id);
    await expectInvariant(replacement.id);
    expect((await findCard(lost.id))?.balance).toBe(0);
  });

  it('refuses another currency and the card itself; parallel transfers never overdraw the source', async () => {
    const usd = await activeCard(1000);
    const eur = await activeCard(1000, { currency: 'EUR' });
    expect(await codeOf(transferBetweenCards(usd.id, eur.id, 100, staffContext(), undefined, everyone))).toBe(
      'CURRENCY_MISMATCH',
    );
    expect(await codeOf(transferBetweenCards(usd.id, usd.id, 100, staffContext(), undefined, everyone))).toBe(
      'VALIDATION_FAILED',
    );
    const target = await activeCard(0);
    const outcomes = await Promise.all(
      Array.from({ length: 15 }, () =>
        codeOf(transferBetweenCards(usd.id, target.id, 100, staffContext(), undefined, everyone)),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'OK')).toHaveLength(10);
    expect((await findCard(target.id))?.balance).toBe(1000);
    await expectInvariant(usd.id);
  });

  it('cashes out only where the program allows it, and up to its limit', async () => {
    const closed = await activeCard(900);
    expect(await codeOf(act(closed.id, { type: 'CLEAR_BALANCE', reason: 'asked' }))).toBe('FORBIDDEN');
    const california = await activeCard(900, { cashOut: { enabled: true, maxBalance: 999 } });
    const cleared = await act(california.id, { type: 'CLEAR_BALANCE', reason: 'customer asked, under $10' });
    expect(cleared.transaction).toMatchObject({ type: 'CLEAR_BALANCE', amount: -900, balanceAfter: 0 });
    const big = await activeCard(5000, { cashOut: { enabled: true, maxBalance: 999 } });
    expect(await codeOf(act(big.id, { type: 'CLEAR_BALANCE', reason: 'asked' }))).toBe('LIMIT_EXCEEDED');
  });

  it('a program may refuse to deactivate cards that still hold value', async () => {
    const card = await activeCard(500, { deactivation: 'REQUIRE_ZERO_BALANCE' });
    expect(await codeOf(act(card.id, { type: 'DEACTIVATE', reason: 'closing' }))).toBe('CONFLICT');
    await act(card.id, { type: 'REDEEM', amount: 500 });
    expect((await act(card.id, { type: 'DEACTIVATE', reason: 'closing' })).card.status).toBe('DEACTIVATED');
  });
});

describe('currencies with 0 and 3 decimals', () => {
  it('JPY and KWD cards move whole minor units', async () => {
    const yen = await activeCard(5000, { currency: 'JPY' });
    expect((await act(yen.id, { type: 'REDEEM', amount: 1234 })).card.balance).toBe(3766);
    const dinar = await activeCard(10_500, { currency: 'KWD' });
    expect((await act(dinar.id, { type: 'REDEEM', amount: 1 })).card.balance).toBe(10_499);
    expect(
      await codeOf(act(dinar.id, { type: 'REDEEM', amount: 1 }, staffContext({ currency: 'JPY' }))),
    ).toBe('CURRENCY_MISMATCH');
  });
});
