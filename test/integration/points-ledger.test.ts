import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { earnPoints, expireMemberPoints, reverseEarn, spendPoints } from '../../functions/app/points';
import { DomainError } from '../../functions/core/errors';
import { sumOfPoints } from '../../functions/core/points';
import {
  allPointsEntries,
  findPointsAccount,
  findPointsSource,
  pointsHistory,
} from '../../functions/store/points-ledger';
import { createTestTable, type TestTable, testEnv } from '../support/table';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('points');
  await testEnv();
});
afterAll(async () => table.drop());

const newMember = () => `mem_${randomUUID().replaceAll('-', '')}`;
const newSource = () => `tx_${randomUUID().replaceAll('-', '')}_1`;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

/** The ledger's invariants: balance = sum of entries, numbered 1..n without gaps, never negative. */
async function expectLedgerHolds(memberId: string) {
  const account = await findPointsAccount(memberId);
  const entries = await allPointsEntries(memberId);
  expect(account?.balance).toBe(sumOfPoints(entries));
  expect(account?.seq).toBe(entries.length);
  expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
  let running = 0;
  for (const entry of entries) {
    running += entry.points;
    expect(entry.balanceAfter).toBe(running);
    expect(entry.balanceAfter).toBeGreaterThanOrEqual(0);
  }
  return { account, entries };
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

describe('spends racing on one member', () => {
  it('200 parallel spends of 1 on 100 points: exactly 100 succeed, the rest INSUFFICIENT_FUNDS', async () => {
    const memberId = newMember();
    await earnPoints(memberId, 100, newSource());
    const codes = await Promise.all(
      Array.from({ length: 200 }, () => codeOf(spendPoints(memberId, 1, randomUUID()))),
    );
    expect(codes.filter((code) => code === 'OK')).toHaveLength(100);
    expect(codes.filter((code) => code === 'INSUFFICIENT_FUNDS')).toHaveLength(100);
    const { account, entries } = await expectLedgerHolds(memberId);
    expect(account?.balance).toBe(0);
    expect(entries.filter((entry) => entry.type === 'SPEND')).toHaveLength(100);
    // A bound, not a figure: in the full run the shared DynamoDB Local serves every file at once and the
    // 200 conditional writes queue behind it (60 s ran out there).
  }, 300_000);

  it('the write conditions alone never overspend (no in-process queue): earns and spends interleaved', async () => {
    const memberId = newMember();
    await earnPoints(memberId, 4, newSource());
    const spends = Array.from({ length: 8 }, () =>
      codeOf(spendPoints(memberId, 1, randomUUID(), { singleFlight: false })),
    );
    const earns = Array.from({ length: 2 }, () =>
      codeOf(earnPoints(memberId, 2, newSource(), { singleFlight: false })),
    );
    const spendCodes = await Promise.all(spends);
    const earnCodes = await Promise.all(earns);
    // Under contention a change may give up (CONFLICT, nothing written); none may overspend.
    expect(spendCodes.every((code) => ['OK', 'INSUFFICIENT_FUNDS', 'CONFLICT'].includes(code))).toBe(true);
    expect(earnCodes.every((code) => ['OK', 'CONFLICT'].includes(code))).toBe(true);
    const { account, entries } = await expectLedgerHolds(memberId);
    const spent = spendCodes.filter((code) => code === 'OK').length;
    const earned = earnCodes.filter((code) => code === 'OK').length;
    expect(spent).toBeGreaterThan(0);
    expect(account?.balance).toBe(4 + 2 * earned - spent);
    expect(entries.filter((entry) => entry.type === 'SPEND')).toHaveLength(spent);
  });

  it('a spend retried with its Idempotency-Key takes the points once and answers the first result', async () => {
    const memberId = newMember();
    await earnPoints(memberId, 10, newSource());
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, () => spendPoints(memberId, 3, key)));
    expect(new Set(results.map((result) => result.entry?.seq))).toEqual(new Set([2]));
    expect(results.filter((result) => !result.replayed)).toHaveLength(1);
    // Even once the balance could no longer pay for it, the retry answers the first result.
    await spendPoints(memberId, 7, randomUUID());
    expect((await spendPoints(memberId, 3, key)).entry).toMatchObject({ seq: 2, points: -3 });
    expect(await codeOf(spendPoints(memberId, 4, key))).toBe('IDEMPOTENCY_KEY_REUSED');
    const { account } = await expectLedgerHolds(memberId);
    expect(account?.balance).toBe(0);
  });
});

describe('earning exactly once under stream retries and replays', () => {
  it('100 parallel earns with the same source id write exactly one entry', async () => {
    const memberId = newMember();
    const sourceId = newSource();
    const results = await Promise.all(Array.from({ length: 100 }, () => earnPoints(memberId, 25, sourceId)));
    expect(results.filter((result) => !result.replayed)).toHaveLength(1);
    expect(new Set(results.map((result) => result.entry?.id)).size).toBe(1);
    const { account, entries } = await expectLedgerHolds(memberId);
    expect(entries).toHaveLength(1);
    expect(account?.balance).toBe(25);
  });

  it('50 source ids delivered twice in shuffled order (a replay of the stream): each earns once', async () => {
    const memberId = newMember();
    const sources = Array.from({ length: 50 }, (_, index) => ({ sourceId: newSource(), points: index + 1 }));
    const deliveries = shuffled([...sources, ...sources]);
    await Promise.all(deliveries.map(({ sourceId, points }) => earnPoints(memberId, points, sourceId)));
    const { account, entries } = await expectLedgerHolds(memberId);
    expect(entries).toHaveLength(50);
    expect(new Set(entries.map((entry) => entry.sourceId))).toEqual(new Set(sources.map((s) => s.sourceId)));
    expect(account?.balance).toBe((50 * 51) / 2);
  });

  it('a source that earned for one member cannot earn again with other points or for another member', async () => {
    const sourceId = newSource();
    const memberId = newMember();
    await earnPoints(memberId, 10, sourceId);
    expect(await codeOf(earnPoints(memberId, 11, sourceId))).toBe('IDEMPOTENCY_KEY_REUSED');
    const other = newMember();
    expect(await codeOf(earnPoints(other, 10, sourceId))).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await findPointsAccount(other)).toBeUndefined();
    expect((await expectLedgerHolds(memberId)).account?.balance).toBe(10);
  });
});

describe('reversing an earn', () => {
  it('takes the points back exactly once, however often it is asked', async () => {
    const memberId = newMember();
    const sourceId = newSource();
    await earnPoints(memberId, 40, sourceId);
    await earnPoints(memberId, 5, newSource());
    const results = await Promise.all(Array.from({ length: 20 }, () => reverseEarn(sourceId)));
    expect(results.filter((result) => !result.replayed)).toHaveLength(1);
    expect(results[0]?.entry).toMatchObject({
      type: 'REVERSE_EARN',
      points: -40,
      relatedSeq: 1,
      shortfall: 0,
    });
    expect((await findPointsSource(sourceId))?.reversedSeq).toBe(3);
    // A replay of the earn after its reversal earns nothing either.
    expect((await earnPoints(memberId, 40, sourceId)).replayed).toBe(true);
    const { account, entries } = await expectLedgerHolds(memberId);
    expect(entries).toHaveLength(3);
    expect(account?.balance).toBe(5);
  });

  it('floors at 0 when the member already spent the points, recording the shortfall', async () => {
    const memberId = newMember();
    const sourceId = newSource();
    await earnPoints(memberId, 30, sourceId);
    await spendPoints(memberId, 25, randomUUID());
    const { entry } = await reverseEarn(sourceId);
    expect(entry).toMatchObject({ points: -5, balanceAfter: 0, shortfall: 25 });
    expect((await expectLedgerHolds(memberId)).account?.balance).toBe(0);
  });

  it('answers NOT_FOUND for a source that never earned', async () => {
    expect(await codeOf(reverseEarn(newSource()))).toBe('NOT_FOUND');
  });
});

describe('expiry sweep', () => {
  const now = new Date('2026-06-15T12:00:00.000Z');
  const monthsAgo = (months: number) => new Date(Date.UTC(2026, 5 - months, 15, 12));

  it('expires points older than the rule, oldest first; a second run changes nothing', async () => {
    const memberId = newMember();
    await earnPoints(memberId, 100, newSource(), { now: monthsAgo(14) });
    await spendPoints(memberId, 30, randomUUID(), { now: monthsAgo(6) });
    await earnPoints(memberId, 20, newSource(), { now: monthsAgo(1) });
    const rule = { expireAfterMonths: 12 };
    const first = await expireMemberPoints(memberId, rule, { now });
    expect(first.expiredPoints).toBe(70);
    expect(first.entry).toMatchObject({ type: 'EXPIRE', points: -70, balanceAfter: 20 });
    const before = await expectLedgerHolds(memberId);
    const runs = await Promise.all([1, 2, 3].map(() => expireMemberPoints(memberId, rule, { now })));
    expect(runs.map((run) => run.expiredPoints)).toEqual([0, 0, 0]);
    const after = await expectLedgerHolds(memberId);
    expect(after).toEqual(before);
    expect(after.account?.balance).toBe(20);
  });
});

describe('refusals write nothing', () => {
  it('bad input and a spend on a member without points leave no account and no entry', async () => {
    const memberId = newMember();
    expect(await codeOf(earnPoints(memberId, 0, newSource()))).toBe('VALIDATION_FAILED');
    expect(await codeOf(earnPoints(memberId, 2.5, newSource()))).toBe('VALIDATION_FAILED');
    expect(await codeOf(earnPoints(memberId, 5, 'tx#forged'))).toBe('VALIDATION_FAILED');
    expect(await codeOf(spendPoints(memberId, 1, randomUUID()))).toBe('INSUFFICIENT_FUNDS');
    expect(await codeOf(expireMemberPoints(memberId, { expireAfterMonths: 0 }))).toBe('VALIDATION_FAILED');
    expect(await findPointsAccount(memberId)).toBeUndefined();
    expect(await allPointsEntries(memberId)).toEqual([]);
  });
});

describe('reading the ledger', () => {
  it('lists the ledger newest first, page by page', async () => {
    const memberId = newMember();
    for (const points of [1, 2, 3, 4, 5]) await earnPoints(memberId, points, newSource());
    const first = await pointsHistory(memberId, 2, undefined);
    expect(first.items.map((entry) => entry.seq)).toEqual([5, 4]);
    const second = await pointsHistory(memberId, 2, first.nextCursor ?? undefined);
    expect(second.items.map((entry) => entry.seq)).toEqual([3, 2]);
    expect(await codeOf(pointsHistory(newMember(), 2, first.nextCursor ?? undefined))).toBe(
      'VALIDATION_FAILED',
    );
  });
});
