import { describe, expect, it } from 'vitest';
import { DomainError } from '../../functions/core/errors';
import {
  type EarnSettlement,
  emptyPointsAccount,
  expiryCutoff,
  freshPoints,
  MAX_POINTS_PER_ENTRY,
  type PointsAccount,
  type PointsChange,
  planAdjust,
  planEarn,
  planExpire,
  planReverseEarn,
  planSpend,
  proportionalPoints,
  sumOfPoints,
  takeBackShare,
} from '../../functions/core/points';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const MEMBER = 'mem_1';

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return error instanceof DomainError ? error.code : 'not a DomainError';
  }
  return undefined;
};

/** Applies changes one on another, as the store would commit them. */
function replay(changes: ((account: PointsAccount) => PointsChange)[]) {
  let account = emptyPointsAccount(MEMBER, NOW);
  const entries = [];
  for (const plan of changes) {
    const change = plan(account);
    expect(change.expectedSeq).toBe(account.seq);
    account = change.account;
    entries.push(change.entry);
  }
  return { account, entries };
}

describe('earning and spending', () => {
  it('numbers entries 1, 2, 3 and keeps the balance the sum of their points', () => {
    const { account, entries } = replay([
      (a) => planEarn(a, 100, 'tx_a', NOW),
      (a) => planSpend(a, 30, NOW),
      (a) => planEarn(a, 5, 'tx_b', NOW),
    ]);
    expect(entries.map((e) => [e.type, e.seq, e.points, e.balanceAfter])).toEqual([
      ['EARN', 1, 100, 100],
      ['SPEND', 2, -30, 70],
      ['EARN', 3, 5, 75],
    ]);
    expect(account).toMatchObject({ balance: 75, seq: 3 });
    expect(sumOfPoints(entries)).toBe(account.balance);
    expect(entries[0]?.sourceId).toBe('tx_a');
  });

  it('refuses a spend beyond the balance with INSUFFICIENT_FUNDS, and a spend of all is fine', () => {
    const { account } = replay([(a) => planEarn(a, 10, 'tx_a', NOW)]);
    expect(codeOf(() => planSpend(account, 11, NOW))).toBe('INSUFFICIENT_FUNDS');
    const all = planSpend(account, 10, NOW);
    expect(all.account.balance).toBe(0);
    // The write must still find the points there.
    expect(all.minBalance).toBe(10);
  });

  it('takes only whole, positive, bounded points', () => {
    const account = emptyPointsAccount(MEMBER, NOW);
    for (const points of [0, -1, 1.5, Number.NaN, MAX_POINTS_PER_ENTRY + 1]) {
      expect(codeOf(() => planEarn(account, points, 'tx_a', NOW))).toBe('VALIDATION_FAILED');
      expect(codeOf(() => planSpend(account, points, NOW))).toBe('VALIDATION_FAILED');
    }
  });

  it('adjusts with a reason, both ways, never below zero', () => {
    const { account } = replay([(a) => planEarn(a, 10, 'tx_a', NOW)]);
    expect(planAdjust(account, -4, 'goodwill correction', NOW).account.balance).toBe(6);
    expect(planAdjust(account, 4, 'goodwill', NOW).entry).toMatchObject({ type: 'ADJUST', points: 4 });
    expect(codeOf(() => planAdjust(account, -11, 'too much', NOW))).toBe('INSUFFICIENT_FUNDS');
    expect(codeOf(() => planAdjust(account, 1, ' ', NOW))).toBe('VALIDATION_FAILED');
  });
});

describe('reversing an earn', () => {
  it('takes back all of it while the points are there', () => {
    const earned = planEarn(emptyPointsAccount(MEMBER, NOW), 50, 'tx_a', NOW);
    const reversed = planReverseEarn(earned.account, earned.entry, NOW);
    expect(reversed.entry).toMatchObject({
      type: 'REVERSE_EARN',
      points: -50,
      balanceAfter: 0,
      shortfall: 0,
      relatedSeq: 1,
      sourceId: 'tx_a',
    });
  });

  it('floors the balance at 0 and records the points already spent as the shortfall', () => {
    const earned = planEarn(emptyPointsAccount(MEMBER, NOW), 50, 'tx_a', NOW);
    const spent = planSpend(earned.account, 45, NOW);
    const reversed = planReverseEarn(spent.account, earned.entry, NOW);
    expect(reversed.entry).toMatchObject({ points: -5, balanceAfter: 0, shortfall: 45 });
    expect(reversed.account.balance).toBe(0);
  });
});

const FRESH: EarnSettlement = { refundedMinor: 0, takenBackPoints: 0, reversed: false };

/** The shares of refunds applied one after another, as the marker's totals carry them. */
function refundShares(earnPoints: number, amountMinor: number | undefined, refunds: readonly number[]) {
  let settled = FRESH;
  const shares: number[] = [];
  for (const refund of refunds) {
    const share = takeBackShare(earnPoints, amountMinor, settled, { kind: 'refund', amountMinor: refund });
    shares.push(share?.points ?? 0);
    if (share) settled = share.after;
  }
  return { shares, settled };
}

describe('refunds take back their share of an earn', () => {
  it('a 40% refund takes 40% of the points; the refund of the remaining 60% takes exactly the rest', () => {
    const { shares, settled } = refundShares(250, 2_550, [1_020, 1_530]);
    expect(shares).toEqual([100, 150]);
    expect(settled).toEqual({ refundedMinor: 2_550, takenBackPoints: 250, reversed: false });
  });

  it('three refunds of a third each add up to exactly the earn, however the thirds round', () => {
    expect(refundShares(100, 3_000, [1_000, 1_000, 1_000]).shares).toEqual([33, 33, 34]);
    expect(refundShares(100, 1_000, [333, 333, 334]).shares).toEqual([33, 33, 34]);
    expect(refundShares(2, 999, [333, 333, 333]).shares).toEqual([0, 1, 1]);
    expect(refundShares(7, 10, [3, 3, 4]).shares).toEqual([2, 2, 3]);
  });

  it('any split of the whole amount into refunds takes back exactly the earn, never more on the way', () => {
    for (const [earn, amount] of [
      [250, 2_550],
      [7, 1_001],
      [1, 3],
      [999_999, 1_000_003],
    ] as const) {
      for (const parts of [2, 3, 7, 13].filter((parts) => parts <= amount)) {
        const refunds = Array.from({ length: parts }, (_, i) =>
          i < parts - 1 ? Math.floor(amount / parts) : amount - Math.floor(amount / parts) * (parts - 1),
        );
        const { shares } = refundShares(earn, amount, refunds);
        expect(sumOfPoints(shares.map((points) => ({ points })))).toBe(earn);
        let refunded = 0;
        let taken = 0;
        for (const [i, refund] of refunds.entries()) {
          refunded += refund;
          taken += shares[i] ?? 0;
          expect(taken).toBe(Math.floor((earn * refunded) / amount));
        }
      }
    }
  });

  it('a refund whose share rounds to 0 still counts towards the next one', () => {
    const first = takeBackShare(10, 1_000, FRESH, { kind: 'refund', amountMinor: 50 });
    expect(first).toEqual({ points: 0, after: { refundedMinor: 50, takenBackPoints: 0, reversed: false } });
    const second = takeBackShare(10, 1_000, first?.after ?? FRESH, { kind: 'refund', amountMinor: 50 });
    expect(second?.points).toBe(1);
  });

  it('a reversal takes all that refunds left; after it nothing more is taken', () => {
    const { settled } = refundShares(100, 3_000, [1_000]);
    const reversal = takeBackShare(100, 3_000, settled, { kind: 'reversal' });
    expect(reversal).toEqual({
      points: 67,
      after: { refundedMinor: 3_000, takenBackPoints: 100, reversed: true },
    });
    expect(takeBackShare(100, 3_000, reversal?.after ?? FRESH, { kind: 'refund', amountMinor: 1 })).toBe(
      undefined,
    );
    expect(takeBackShare(100, 3_000, reversal?.after ?? FRESH, { kind: 'reversal' })).toBe(undefined);
    // Refunds that already took the whole earn leave a reversal nothing to record.
    const refunded = refundShares(100, 3_000, [3_000]).settled;
    expect(takeBackShare(100, 3_000, refunded, { kind: 'reversal' })).toBe(undefined);
  });

  it('an earn recorded without its amount gives any refund all that is left', () => {
    const { shares, settled } = refundShares(80, undefined, [10, 10]);
    expect(shares).toEqual([80, 0]);
    expect(settled.takenBackPoints).toBe(80);
  });

  it('a refund past the earning amount is held to it, and shares stay exact beyond float precision', () => {
    expect(refundShares(100, 1_000, [600, 600]).shares).toEqual([60, 40]);
    // 10^9 points x (10^12 - 1) / 10^12 is 999,999,999.999: a float product would round it up.
    expect(proportionalPoints(1_000_000_000, 999_999_999_999, 1_000_000_000_000)).toBe(999_999_999);
    expect(proportionalPoints(5, 0, 7)).toBe(0);
    expect(() => proportionalPoints(5, 1, 0)).toThrow();
  });

  it('a share is taken from the balance, floored at 0 with the rest as shortfall, naming its refund', () => {
    const earned = planEarn(emptyPointsAccount(MEMBER, NOW), 50, 'tx_a', NOW);
    const partial = planReverseEarn(earned.account, earned.entry, NOW, 20, 'tx_b');
    expect(partial.entry).toMatchObject({ points: -20, balanceAfter: 30, shortfall: 0, takenBackBy: 'tx_b' });
    const spent = planSpend(partial.account, 25, NOW);
    const rest = planReverseEarn(spent.account, earned.entry, NOW, 30, 'tx_c');
    expect(rest.entry).toMatchObject({ points: -5, balanceAfter: 0, shortfall: 25 });
    const broke = planReverseEarn(rest.account, earned.entry, NOW, 1, 'tx_d');
    expect(broke.entry).toMatchObject({ points: 0, balanceAfter: 0, shortfall: 1 });
    expect(Object.is(broke.entry.points, -0)).toBe(false);
    expect(() => planReverseEarn(earned.account, earned.entry, NOW, 51)).toThrow();
    expect(() => planReverseEarn(earned.account, earned.entry, NOW, 0)).toThrow();
  });
});

describe('expiry, first in first out', () => {
  const monthsAgo = (months: number) => new Date(Date.UTC(2026, 5 - months, 15, 12));
  const rule = { expireAfterMonths: 12 };
  const cutoff = expiryCutoff(rule, NOW);

  it('expires the balance beyond what was earned within the window, then nothing', () => {
    const { account, entries } = replay([
      (a) => planEarn(a, 100, 'old', monthsAgo(14)),
      (a) => planSpend(a, 30, monthsAgo(6)),
      (a) => planEarn(a, 20, 'new', monthsAgo(1)),
    ]);
    const window = entries.filter((e) => e.createdAt > cutoff.toISOString());
    // The spend used the oldest points: 70 old remain, and expire; the 20 new stay.
    expect(freshPoints(window, cutoff)).toBe(20);
    const expired = planExpire(account, window, cutoff, NOW);
    expect(expired?.entry).toMatchObject({ type: 'EXPIRE', points: -70, balanceAfter: 20 });
    const after = expired?.account ?? account;
    const again = [...window, ...(expired ? [expired.entry] : [])];
    expect(planExpire(after, again, expiryCutoff(rule, NOW), NOW)).toBeUndefined();
  });

  it('expires nothing when spends already used more than the old points', () => {
    const { account, entries } = replay([
      (a) => planEarn(a, 10, 'old', monthsAgo(13)),
      (a) => planEarn(a, 50, 'new', monthsAgo(2)),
      (a) => planSpend(a, 25, monthsAgo(1)),
    ]);
    const window = entries.filter((e) => e.createdAt > cutoff.toISOString());
    expect(planExpire(account, window, cutoff, NOW)).toBeUndefined();
  });

  it('counts a reversal of a fresh earn against the fresh points, not the old ones', () => {
    const { account, entries } = replay([
      (a) => planEarn(a, 40, 'old', monthsAgo(13)),
      (a) => planEarn(a, 30, 'new', monthsAgo(2)),
    ]);
    const [, freshEarn] = entries;
    if (!freshEarn) throw new Error('no fresh earn');
    const reversed = planReverseEarn(account, freshEarn, monthsAgo(1));
    const window = [...entries.slice(1), reversed.entry];
    expect(planExpire(reversed.account, window, cutoff, NOW)?.entry.points).toBe(-40);
  });

  it('refuses a window holding entries outside it (a store bug, not a user error)', () => {
    const { account, entries } = replay([(a) => planEarn(a, 10, 'old', monthsAgo(13))]);
    expect(() => planExpire(account, entries, cutoff, NOW)).toThrow(/outside its window/);
  });

  it('takes the rule in whole months', () => {
    expect(expiryCutoff(rule, NOW).toISOString()).toBe('2025-06-15T12:00:00.000Z');
    expect(codeOf(() => expiryCutoff({ expireAfterMonths: 0 }, NOW))).toBe('VALIDATION_FAILED');
  });
});
