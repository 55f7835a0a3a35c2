import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireCards, releaseExpiredHolds } from '../../functions/app/sweeps';
import { sumOfAmounts } from '../../functions/core/ledger';
import { allEntries, findCard, findHold, issueCard, operateOnCard } from '../support/cards';
import { everyone, everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { createTestTable, type TestTable, testEnv } from '../support/table';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('sweeps');
  await testEnv();
});
afterAll(async () => table.drop());

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000);

describe('scheduled sweeps', () => {
  it('release expired holds with one VOID each, and a second run changes nothing', async () => {
    const program = await makeProgram();
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 3000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const short = await operateOnCard(
      card.id,
      { type: 'HOLD', amount: 1000, expiresInSeconds: 60 },
      staffContext(),
      undefined,
      everyone,
    );
    const long = await operateOnCard(
      card.id,
      { type: 'HOLD', amount: 500, expiresInSeconds: 86_400 },
      staffContext(),
      undefined,
      everyone,
    );
    const first = await releaseExpiredHolds(new Date(Date.now() + 3_600_000));
    expect(first).toMatchObject({ changed: 1, failed: 0 });
    expect(await findHold(card.id, String(short.hold?.id))).toMatchObject({ status: 'EXPIRED' });
    expect(await findHold(card.id, String(long.hold?.id))).toMatchObject({ status: 'ACTIVE' });
    expect(await findCard(card.id)).toMatchObject({ balance: 3000, available: 2500 });
    const second = await releaseExpiredHolds(new Date(Date.now() + 3_600_000));
    expect(second.changed).toBe(0);
    const voids = (await allEntries(card.id)).filter((entry) => entry.type === 'VOID');
    expect(voids).toHaveLength(1);
    expect(voids[0]).toMatchObject({
      actor: { type: 'system', id: 'hold-expiry' },
      channel: 'SYSTEM',
      reason: 'hold expired',
    });
  });

  it('expire cards once: the remaining value goes to breakage, empty and unexpired cards are left alone', async () => {
    const program = await makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_ISSUE', months: 1 } });
    const { card: full } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 4200, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    const { card: empty } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 1000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    await operateOnCard(empty.id, { type: 'REDEEM', amount: 1000 }, staffContext(), undefined, everyone);
    const lasting = await makeProgram({ expiryPolicy: { type: 'US_CARD_ACT' } });
    const { card: young } = await issueCard(
      lasting.id,
      { type: 'DIGITAL', amount: 700, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );

    expect((await expireCards(new Date())).changed).toBe(0);
    const run = await expireCards(inDays(40));
    expect(run).toMatchObject({ changed: 1, failed: 0 });
    const entries = await allEntries(full.id);
    expect(entries.at(-1)).toMatchObject({
      type: 'EXPIRE',
      amount: -4200,
      balanceAfter: 0,
      actor: { id: 'expiry-sweep' },
    });
    expect(sumOfAmounts(entries)).toBe(0);
    expect((await expireCards(inDays(41))).changed).toBe(0);
    expect((await findCard(young.id))?.balance).toBe(700);
    expect((await allEntries(empty.id)).some((entry) => entry.type === 'EXPIRE')).toBe(false);
  });

  it('an expired card with an open hold is expired once the hold is released', async () => {
    const program = await makeProgram({ expiryPolicy: { type: 'MONTHS_AFTER_ISSUE', months: 1 } });
    const { card } = await issueCard(
      program.id,
      { type: 'DIGITAL', amount: 2000, activate: true },
      staffContext(),
      undefined,
      everyProgram,
    );
    await operateOnCard(
      card.id,
      { type: 'HOLD', amount: 500, expiresInSeconds: 90 * 86_400 },
      staffContext(),
      undefined,
      everyone,
    );
    // Other tests' cards may sit in the index too (it is eventually consistent): check this card.
    expect((await expireCards(inDays(40))).skipped).toBeGreaterThanOrEqual(1);
    expect(await findCard(card.id)).toMatchObject({ balance: 2000, available: 1500 });
    await releaseExpiredHolds(inDays(91));
    expect((await expireCards(inDays(92))).changed).toBeGreaterThanOrEqual(1);
    expect(await findCard(card.id)).toMatchObject({ balance: 0, available: 0 });
  });
});
