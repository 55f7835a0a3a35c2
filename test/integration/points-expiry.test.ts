import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireLoyaltyPoints } from '../../functions/app/loyalty-expiry';
import { loyaltyReport } from '../../functions/app/loyalty-report';
import { earnPoints, spendPoints } from '../../functions/app/points';
import { DomainError } from '../../functions/core/errors';
import { DEFAULT_TIERS, type LoyaltyProgramInput } from '../../functions/core/loyalty-program';
import { sumOfPoints } from '../../functions/core/points';
import { countPointsEntry } from '../../functions/store/loyalty-counters';
import { createLoyaltyProgram } from '../../functions/store/loyalty-programs';
import { createMember } from '../../functions/store/members';
import { allPointsEntries, findPointsAccount } from '../../functions/store/points-ledger';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * The scheduled points expiry sweep on DynamoDB Local: points older than the program's months expire
 * oldest first with one EXPIRE entry each, a rerun expires nothing more, programs without expiry keep
 * their points, a spend racing the sweep (another process: no shared queue) leaves the ledger whole, and
 * the report counts the expired points on the sweep's day.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('points-expiry');
  await testEnv();
});
afterAll(async () => table.drop());

const NOW = new Date();
const monthsAgo = (months: number) => new Date(NOW.getTime() - months * 31 * 86_400_000);

function programInput(expireAfterMonths?: number): LoyaltyProgramInput {
  return {
    name: 'Expiry test',
    cardProgramIds: [],
    currency: 'USD',
    minorPerUnit: 100,
    earn: {
      pointsPerUnitRedeemed: 1,
      pointsPerUnitLoaded: 0,
      activationBonus: 0,
      firstUseBonus: 0,
      campaigns: [],
      dailyCapPoints: 0,
    },
    tiers: DEFAULT_TIERS,
    tierWindowDays: 365,
    ...(expireAfterMonths === undefined ? {} : { expireAfterMonths }),
    pointValueMilliMinor: 1_000,
  };
}

let serial = 0;
async function member(loyaltyProgramId: string): Promise<string> {
  serial += 1;
  const created = await createMember(
    {
      loyaltyProgramId,
      channel: 'EMAIL',
      contact: `expiry-${serial}-${NOW.getTime()}@example.com`,
      consent: { termsVersion: '2026-01', acceptedAt: NOW.toISOString(), marketing: false },
      tier: 'BASE',
    },
    undefined,
    NOW,
  );
  return created.id;
}

async function ledgerOf(memberId: string) {
  const entries = await allPointsEntries(memberId);
  const account = await findPointsAccount(memberId);
  // Invariants: sum of entries = balance, never negative, numbered without gaps.
  expect(sumOfPoints(entries)).toBe(account?.balance ?? 0);
  expect(account?.balance ?? 0).toBeGreaterThanOrEqual(0);
  expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
  return { entries, balance: account?.balance ?? 0 };
}

describe('points expiry sweep', () => {
  it('expires old points oldest first, once; a rerun expires nothing; the report counts them per day', async () => {
    const expiring = await createLoyaltyProgram(programInput(12), undefined, NOW);
    const keeping = await createLoyaltyProgram(programInput(), undefined, NOW);
    const old = await member(expiring.id);
    const fresh = await member(expiring.id);
    const neverExpires = await member(keeping.id);

    await earnPoints(old, 100, `src-old-1-${old}`, { now: monthsAgo(14) });
    await spendPoints(old, 30, `spend-${old}`, { now: monthsAgo(13) });
    await earnPoints(old, 50, `src-old-2-${old}`, { now: monthsAgo(1) });
    await earnPoints(fresh, 40, `src-fresh-${fresh}`, { now: monthsAgo(2) });
    await earnPoints(neverExpires, 80, `src-keep-${neverExpires}`, { now: monthsAgo(30) });

    const first = await expireLoyaltyPoints(NOW);
    expect(first).toEqual({ programs: 1, examined: 2, changed: 1, expiredPoints: 70, failed: 0 });
    const afterFirst = await ledgerOf(old);
    expect(afterFirst.balance).toBe(50);
    expect(afterFirst.entries.at(-1)).toMatchObject({ type: 'EXPIRE', points: -70, balanceAfter: 50 });

    // A rerun, later the same day and again at once: nothing left to expire, nothing written.
    const second = await expireLoyaltyPoints(new Date(NOW.getTime() + 60_000));
    expect(second).toEqual({ programs: 1, examined: 2, changed: 0, expiredPoints: 0, failed: 0 });
    const [third, fourth] = await Promise.all([expireLoyaltyPoints(NOW), expireLoyaltyPoints(NOW)]);
    expect(third.expiredPoints + fourth.expiredPoints).toBe(0);
    expect((await ledgerOf(old)).entries).toHaveLength(afterFirst.entries.length);
    expect((await ledgerOf(fresh)).balance).toBe(40);
    expect((await ledgerOf(neverExpires)).balance).toBe(80);

    // The loyalty-reporting consumer's counting (once per entry, even counted twice) puts it on its day.
    for (const entry of (await ledgerOf(old)).entries) {
      await countPointsEntry(entry, expiring.id);
      await countPointsEntry(entry, expiring.id);
    }
    const today = NOW.toISOString().slice(0, 10);
    const [report] = await loyaltyReport(today, today, expiring.id);
    expect(report?.days).toEqual([expect.objectContaining({ day: today, expired: -70, earned: 0 })]);
    expect(report?.outstandingPoints).toBe(50);
  });

  it('a spend racing the sweep: either spends first and the rest expires, or finds the points expired', async () => {
    const program = await createLoyaltyProgram(programInput(6), undefined, NOW);
    const members: string[] = [];
    for (let i = 0; i < 6; i++) {
      const id = await member(program.id);
      await earnPoints(id, 100, `src-race-${id}`, { now: monthsAgo(8) });
      members.push(id);
    }
    // The spends run as another process would: outside this process's per-member queue.
    const spends = members.map((id) =>
      spendPoints(id, 30, `race-${id}`, { singleFlight: false }).then(
        () => 'spent' as const,
        (error: unknown) => {
          if (error instanceof DomainError && error.code === 'INSUFFICIENT_FUNDS') return 'refused' as const;
          throw error;
        },
      ),
    );
    const [report, ...outcomes] = await Promise.all([expireLoyaltyPoints(), ...spends]);
    expect(report.failed).toBe(0);
    for (const [index, id] of members.entries()) {
      const { entries, balance } = await ledgerOf(id);
      expect(balance).toBe(0);
      const expiries = entries.filter((e) => e.type === 'EXPIRE');
      const spent = entries.filter((e) => e.type === 'SPEND');
      expect(expiries).toHaveLength(1);
      if (outcomes[index] === 'spent') {
        expect(spent.map((e) => e.points)).toEqual([-30]);
        expect(expiries[0]?.points).toBe(-70);
      } else {
        expect(spent).toEqual([]);
        expect(expiries[0]?.points).toBe(-100);
      }
    }
    expect(report.expiredPoints).toBe(
      outcomes.reduce((sum, outcome) => sum + (outcome === 'spent' ? 70 : 100), 0),
    );
    // And a rerun finds nothing.
    expect((await expireLoyaltyPoints()).expiredPoints).toBe(0);
  });
});
