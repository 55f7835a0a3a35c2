import { describe, expect, it } from 'vitest';
import {
  activationBonusSource,
  decideEarn,
  type EarnSource,
  firstUseBonusSource,
  withinDailyCap,
} from '../../functions/core/earn-rules';
import {
  checkLoyaltyProgram,
  type LoyaltyProgram,
  pointsValueMinor,
} from '../../functions/core/loyalty-program';
import { withOutstanding } from '../../functions/core/loyalty-report';
import type { PointsEntry } from '../../functions/core/points';
import { countOutcomes, isTargeted, NO_COUNTS } from '../../functions/core/promotion';
import { rewardReference } from '../../functions/core/reward';
import { earnedInWindow, tierFor, tierNamed } from '../../functions/core/tiers';

const program: LoyaltyProgram = {
  id: 'lp_1',
  name: 'Friends',
  cardProgramIds: ['prg_1'],
  currency: 'EUR',
  minorPerUnit: 100,
  earn: {
    pointsPerUnitRedeemed: 10,
    pointsPerUnitLoaded: 1,
    activationBonus: 50,
    firstUseBonus: 25,
    campaigns: [
      {
        name: 'Spring',
        from: '2026-03-01T00:00:00.000Z',
        to: '2026-04-01T00:00:00.000Z',
        extraPointsPerUnit: 5,
      },
    ],
    dailyCapPoints: 1000,
  },
  tiers: [
    { name: 'BASE', minPoints: 0, earnMultiplierPercent: 100 },
    { name: 'SILVER', minPoints: 1000, earnMultiplierPercent: 150 },
    { name: 'GOLD', minPoints: 5000, earnMultiplierPercent: 200 },
  ],
  tierWindowDays: 365,
  pointValueMilliMinor: 10_000,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const base = tierNamed(program, 'BASE');
const gold = tierNamed(program, 'GOLD');

const entry = (overrides: Partial<EarnSource>): EarnSource => ({
  id: 'tx_a_2',
  cardId: 'gc_a',
  type: 'REDEEM',
  amount: -2550,
  currency: 'EUR',
  createdAt: '2026-02-10T12:00:00.000Z',
  ...overrides,
});

describe('earn rules', () => {
  it('a redemption earns per whole unit at the redemption rate, plus the first-use bonus once per card', () => {
    const decision = decideEarn(entry({}), program, base);
    expect(decision).toEqual({
      kind: 'earn',
      earns: [
        { sourceId: 'tx_a_2', kind: 'REDEEM', points: 250, capped: true, sourceAmountMinor: 2550 },
        { sourceId: firstUseBonusSource('gc_a'), kind: 'FIRST_USE_BONUS', points: 25, capped: false },
      ],
    });
  });

  it('the tier multiplies the rate; a campaign window adds to it', () => {
    const gold25 = decideEarn(entry({}), program, gold);
    expect(gold25.kind === 'earn' && gold25.earns[0]?.points).toBe(500);
    const spring = decideEarn(entry({ createdAt: '2026-03-15T00:00:00.000Z' }), program, base);
    expect(spring.kind === 'earn' && spring.earns[0]?.points).toBe(375);
    const afterSpring = decideEarn(entry({ createdAt: '2026-04-01T00:00:00.000Z' }), program, base);
    expect(afterSpring.kind === 'earn' && afterSpring.earns[0]?.points).toBe(250);
  });

  it('an activation earns the load rate and the activation bonus; a reward load earns nothing', () => {
    const activation = decideEarn(entry({ type: 'ACTIVATE', amount: 5000 }), program, base);
    expect(activation).toEqual({
      kind: 'earn',
      earns: [
        { sourceId: 'tx_a_2', kind: 'LOAD', points: 50, capped: true, sourceAmountMinor: 5000 },
        { sourceId: activationBonusSource('gc_a'), kind: 'ACTIVATION_BONUS', points: 50, capped: false },
      ],
    });
    expect(
      decideEarn(entry({ type: 'LOAD', amount: 5000, reference: rewardReference('rwd_1') }), program, base),
    ).toEqual({
      kind: 'none',
    });
  });

  it('a refund of a redemption takes back its share, a reversal the rest; other currencies earn nothing', () => {
    expect(
      decideEarn(
        entry({ id: 'tx_a_4', type: 'REVERSAL', amount: 2550, relatedTransactionId: 'tx_a_2' }),
        program,
        base,
      ),
    ).toEqual({
      kind: 'take-back',
      sourceId: 'tx_a_2',
      takeBackId: 'tx_a_4',
      takeBack: { kind: 'reversal' },
    });
    expect(
      decideEarn(
        entry({ id: 'tx_a_3', type: 'REFUND', amount: 100, relatedTransactionId: 'tx_a_2' }),
        program,
        base,
      ),
    ).toEqual({
      kind: 'take-back',
      sourceId: 'tx_a_2',
      takeBackId: 'tx_a_3',
      takeBack: { kind: 'refund', amountMinor: 100 },
    });
    expect(decideEarn(entry({ currency: 'USD' }), program, base)).toEqual({ kind: 'none' });
    expect(decideEarn(entry({ amount: -99 }), program, { ...base })).toMatchObject({
      kind: 'earn',
      earns: [{ kind: 'FIRST_USE_BONUS' }],
    });
  });

  it('the day cap takes what is left of it, never below zero', () => {
    expect(withinDailyCap(300, 0, 1000)).toBe(300);
    expect(withinDailyCap(300, 800, 1000)).toBe(200);
    expect(withinDailyCap(300, 1200, 1000)).toBe(0);
    expect(withinDailyCap(300, 5000, 0)).toBe(300);
  });
});

const pts = (
  type: PointsEntry['type'],
  points: number,
  createdAt: string,
  relatedEarnedAt?: string,
): PointsEntry => ({
  id: `pts_m_${createdAt}`,
  memberId: 'm',
  seq: 1,
  type,
  points,
  balanceAfter: 0,
  createdAt,
  ...(relatedEarnedAt ? { relatedEarnedAt } : {}),
});

describe('tiers', () => {
  it('counts earns in the window less take-backs of earns inside it; spends do not lower the tier', () => {
    const start = new Date('2026-01-01T00:00:00.000Z');
    const entries = [
      pts('EARN', 800, '2026-02-01T00:00:00.000Z'),
      pts('EARN', 400, '2026-03-01T00:00:00.000Z'),
      pts('SPEND', -1000, '2026-03-02T00:00:00.000Z'),
      pts('REVERSE_EARN', -100, '2026-03-03T00:00:00.000Z', '2026-03-01T00:00:00.000Z'),
      pts('REVERSE_EARN', -500, '2026-03-04T00:00:00.000Z', '2025-06-01T00:00:00.000Z'),
      pts('EARN', 9999, '2025-12-31T00:00:00.000Z'),
    ];
    expect(earnedInWindow(entries, start)).toBe(1100);
    expect(tierFor(program, 1100).name).toBe('SILVER');
    expect(tierFor(program, 999).name).toBe('BASE');
    expect(tierFor(program, 5000).name).toBe('GOLD');
  });
});

describe('program rules', () => {
  it('refuses tiers that do not start at 0 or go down, and campaigns that end before they start', () => {
    const { id: _i, createdAt: _c, updatedAt: _u, ...input } = program;
    expect(() =>
      checkLoyaltyProgram({
        ...input,
        tiers: [{ name: 'A', minPoints: 10, earnMultiplierPercent: 100 }],
        earn: {
          ...input.earn,
          campaigns: [
            { name: 'x', from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z', extraPointsPerUnit: 1 },
          ],
        },
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        fieldErrors: [
          expect.objectContaining({ field: 'earn.campaigns.0' }),
          expect.objectContaining({ field: 'tiers' }),
        ],
      }),
    );
    expect(checkLoyaltyProgram(input)).toEqual(input);
  });

  it('values points in minor units, rounded down, and runs the liability day by day', () => {
    expect(pointsValueMinor(program, 1234)).toBe(12_340);
    expect(pointsValueMinor({ pointValueMilliMinor: 5 }, 333)).toBe(1);
    const day = (d: string, earned: number, spent: number) => ({
      loyaltyProgramId: 'lp',
      day: d,
      earned,
      spent,
      expired: 0,
      reversed: 0,
      adjusted: 0,
    });
    const rows = withOutstanding([day('2026-01-01', 100, 0), day('2026-01-02', 50, -120)], (p) => p * 2);
    expect(rows.map((r) => [r.outstandingPoints, r.outstandingValueMinor])).toEqual([
      [100, 200],
      [30, 60],
    ]);
  });
});

describe('promotion targets', () => {
  const now = new Date('2026-03-10T00:00:00.000Z');
  const member = {
    status: 'ACTIVE' as const,
    tier: 'GOLD',
    consent: { termsVersion: '1', acceptedAt: '', marketing: true },
  };
  it('reaches consenting members of the tiers named, active within the window', () => {
    const active = { balance: 10, updatedAt: '2026-03-05T00:00:00.000Z' };
    expect(isTargeted({ tiers: ['GOLD'], activeWithinDays: 7 }, member, active, now)).toBe(true);
    expect(isTargeted({ tiers: ['SILVER'] }, member, active, now)).toBe(false);
    expect(isTargeted({ activeWithinDays: 3 }, member, active, now)).toBe(false);
    expect(isTargeted({}, { ...member, consent: { ...member.consent, marketing: false } }, active, now)).toBe(
      false,
    );
    expect(isTargeted({ minPointsBalance: 11 }, member, active, now)).toBe(false);
  });
});

describe('promotion page counts', () => {
  it('count each member once by their outcome; a delivery counts its messages', () => {
    expect(
      countOutcomes([
        { kind: 'not-targeted' },
        { kind: 'without-cards' },
        { kind: 'capped' },
        { kind: 'delivered', messages: 2 },
        { kind: 'delivered', messages: 1 },
      ]),
    ).toEqual({ examined: 5, targeted: 4, delivered: 2, messages: 3, capped: 1, withoutCards: 1 });
    expect(countOutcomes([])).toEqual(NO_COUNTS);
  });
});
