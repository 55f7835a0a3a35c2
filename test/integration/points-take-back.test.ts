import { randomUUID } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { earnPoints, reverseEarn, spendPoints, takeBackEarn } from '../../functions/app/points';
import { DomainError } from '../../functions/core/errors';
import { sumOfPoints } from '../../functions/core/points';
import { pointsSourceKey } from '../../functions/store/keys';
import type { PointsCommitted } from '../../functions/store/points-ledger';
import { allPointsEntries, findPointsAccount, findPointsSource } from '../../functions/store/points-ledger';
import { findTakeBackRecord } from '../../functions/store/points-take-back';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * Refunds and reversals taking back an earn on DynamoDB Local (functions/app/points.ts takeBackEarn):
 * each refund its share, once per refund entry, the earn's running totals on its marker in the same
 * conditional transaction, so refunds racing from several processes never take the same share twice.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('points-take-back');
  await testEnv();
});
afterAll(async () => table.drop());

const newMember = () => `mem_${randomUUID().replaceAll('-', '')}`;
const newTx = () => `tx_${randomUUID().replaceAll('-', '')}_1`;

const refund = (sourceId: string, amountMinor: number, takeBackId: string, singleFlight?: boolean) =>
  takeBackEarn(sourceId, { kind: 'refund', amountMinor }, { takeBackId, singleFlight });

/** As the stream does: a take-back that gave up under contention (CONFLICT, nothing written) is retried. */
async function retried(run: () => Promise<PointsCommitted>): Promise<PointsCommitted> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'CONFLICT' || attempt >= 5) throw error;
    }
  }
}

async function expectLedgerHolds(memberId: string) {
  const account = await findPointsAccount(memberId);
  const entries = await allPointsEntries(memberId);
  expect(account?.balance).toBe(sumOfPoints(entries));
  expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
  expect(entries.every((entry) => entry.balanceAfter >= 0)).toBe(true);
  return { balance: account?.balance ?? 0, entries };
}

const takeBacks = (entries: Awaited<ReturnType<typeof allPointsEntries>>) =>
  entries
    .filter((entry) => entry.type === 'REVERSE_EARN')
    .map((entry) => [entry.points, entry.shortfall, entry.takenBackBy]);

describe('partial refunds of an earn', () => {
  it('a 40% refund takes 40% of the points, the 60% refund the rest; replays take nothing more', async () => {
    const memberId = newMember();
    const redemption = newTx();
    await earnPoints(memberId, 250, redemption, { sourceAmountMinor: 2_550 });
    const [first, second] = [newTx(), newTx()];
    const forty = await refund(redemption, 1_020, first);
    expect(forty.entry).toMatchObject({
      type: 'REVERSE_EARN',
      points: -100,
      balanceAfter: 150,
      shortfall: 0,
    });
    const sixty = await refund(redemption, 1_530, second);
    expect(sixty.entry).toMatchObject({ points: -150, balanceAfter: 0, takenBackBy: second });
    // Stream replays of both refunds, in parallel and out of order: the first answers, nothing is written.
    const replays = await Promise.all([
      refund(redemption, 1_530, second),
      refund(redemption, 1_020, first),
      refund(redemption, 1_020, first, false),
    ]);
    expect(replays.map((r) => [r.replayed, r.entry?.seq])).toEqual([
      [true, 3],
      [true, 2],
      [true, 2],
    ]);
    const { balance, entries } = await expectLedgerHolds(memberId);
    expect(balance).toBe(0);
    expect(takeBacks(entries)).toEqual([
      [-100, 0, first],
      [-150, 0, second],
    ]);
    expect(await findPointsSource(redemption)).toMatchObject({ refundedMinor: 2_550, takenBackPoints: 250 });
    expect(await findTakeBackRecord(first)).toMatchObject({ sourceId: redemption, points: -100, seq: 2 });
  });

  it('refunds racing from several processes take each share once, and the whole earn in total', async () => {
    const memberId = newMember();
    const redemption = newTx();
    await earnPoints(memberId, 100, redemption, { sourceAmountMinor: 3_000 });
    await earnPoints(memberId, 7, newTx());
    const refunds = [newTx(), newTx(), newTx()];
    // Three refunds of a third each, every one delivered three times at once, without the in-process
    // queue: only the write conditions keep them apart.
    const results = await Promise.all(
      [...refunds, ...refunds, ...refunds].map((id) => retried(() => refund(redemption, 1_000, id, false))),
    );
    expect(results.filter((result) => !result.replayed)).toHaveLength(3);
    const { balance, entries } = await expectLedgerHolds(memberId);
    expect(balance).toBe(7);
    const taken = takeBacks(entries);
    // The thirds of 100 points in the order they committed: 33, 33, then exactly the rest.
    expect(taken.map(([points]) => points)).toEqual([-33, -33, -34]);
    expect(new Set(taken.map(([, , by]) => by))).toEqual(new Set(refunds));
    expect(await findPointsSource(redemption)).toMatchObject({ refundedMinor: 3_000, takenBackPoints: 100 });
  });

  it('a refund after the member spent the points floors at 0 and records the shortfall', async () => {
    const memberId = newMember();
    const redemption = newTx();
    await earnPoints(memberId, 200, redemption, { sourceAmountMinor: 10_000 });
    await spendPoints(memberId, 150, randomUUID());
    // Half refunded: a share of 100 points, of which 50 are still there.
    const half = await refund(redemption, 5_000, newTx());
    expect(half.entry).toMatchObject({ points: -50, balanceAfter: 0, shortfall: 50 });
    // The rest: 100 points more, none there; the earlier shortfall is not asked again.
    const rest = await refund(redemption, 5_000, newTx());
    expect(rest.entry).toMatchObject({ points: 0, balanceAfter: 0, shortfall: 100 });
    expect((await expectLedgerHolds(memberId)).balance).toBe(0);
    expect(await findPointsSource(redemption)).toMatchObject({ takenBackPoints: 200 });
  });

  it('a refund too small for a point counts towards the next; a reversal takes all that is left', async () => {
    const memberId = newMember();
    const redemption = newTx();
    await earnPoints(memberId, 10, redemption, { sourceAmountMinor: 1_000 });
    const tiny = newTx();
    expect(await refund(redemption, 50, tiny)).toEqual({ entry: undefined, replayed: false });
    expect(await refund(redemption, 50, tiny)).toEqual({ entry: undefined, replayed: true });
    expect((await refund(redemption, 50, newTx())).entry).toMatchObject({ points: -1 });
    const reversal = newTx();
    const reversed = await reverseEarn(redemption, { takeBackId: reversal });
    expect(reversed.entry).toMatchObject({ points: -9, balanceAfter: 0, takenBackBy: reversal });
    expect(await findPointsSource(redemption)).toMatchObject({ reversedSeq: 3, takenBackPoints: 10 });
    // After the reversal a refund (and the reversal's replay) takes nothing.
    expect((await refund(redemption, 10, newTx())).entry).toBeUndefined();
    expect((await reverseEarn(redemption, { takeBackId: reversal })).replayed).toBe(true);
    expect((await expectLedgerHolds(memberId)).entries).toHaveLength(3);
  });

  it('an earn recorded before the amount was kept: any refund takes all that is left, once', async () => {
    const memberId = newMember();
    const redemption = newTx();
    await earnPoints(memberId, 60, redemption);
    // A marker as written before this change: no running totals either.
    await table.client.send(
      new UpdateItemCommand({
        TableName: table.tableName,
        Key: {
          PK: { S: pointsSourceKey(redemption).PK },
          SK: { S: pointsSourceKey(redemption).SK },
        },
        UpdateExpression: 'REMOVE refundedMinor, takenBackPoints',
      }),
    );
    const first = await refund(redemption, 1, newTx());
    expect(first.entry).toMatchObject({ points: -60, balanceAfter: 0 });
    expect((await refund(redemption, 1, newTx())).entry).toBeUndefined();
    expect((await expectLedgerHolds(memberId)).entries).toHaveLength(2);
  });
});
