/**
 * Member promotions in the background (issue #17 follow-up, docs/loyalty.md): N members with one linked
 * card each (BENCH_PROMOTION_MEMBERS, 2000) against DynamoDB Local, then two promotions through the real
 * run (functions/app/promotion-run.ts) in the same process: first one whose target matches nobody (the
 * baseline: the walk alone, list pages and points accounts, no writes), then one to every member (a
 * transaction per member: once-record, cap counter, wallet message). Prints { members, walkOnly,
 * deliver: { seconds, membersPerSecond, pages }, deliverOverWalk } and the machine; the figures are
 * DynamoDB Local's on this machine, not AWS's.
 */
import '../local/quiet-logs';
import { runPromotions } from '../functions/app/promotion-run';
import { queuePromotion } from '../functions/app/promotions';
import { newId } from '../functions/core/ids';
import { DEFAULT_TIERS } from '../functions/core/loyalty-program';
import type { PromotionTarget } from '../functions/core/promotion';
import { linkCard } from '../functions/store/card-links';
import { createLoyaltyProgram } from '../functions/store/loyalty-programs';
import { createMember } from '../functions/store/members';
import { getPromotion } from '../functions/store/promotions';
import { emit, knob, progress } from './lib/env';
import { startBenchStack } from './lib/local';
import { codeState, machine } from './lib/machine';
import { elapsedMs, round } from './lib/stats';

const MEMBERS = knob('PROMOTION_MEMBERS', 2_000);
const SEED_IN_FLIGHT = 16;
const staff = { type: 'staff' as const, id: 'bench' };

const stack = await startBenchStack({ consumers: [] });
try {
  const now = new Date();
  const program = await createLoyaltyProgram(
    {
      name: 'Bench promotions',
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
      pointValueMilliMinor: 1_000,
    },
    undefined,
    now,
  );
  let seeded = 0;
  const seedOne = async () => {
    const member = await createMember(
      {
        loyaltyProgramId: program.id,
        channel: 'EMAIL',
        contact: `${newId('c')}@example.com`,
        consent: { termsVersion: '1', acceptedAt: now.toISOString(), marketing: true },
        tier: 'BASE',
      },
      undefined,
      new Date(),
    );
    await linkCard({
      cardId: newId('gc'),
      memberId: member.id,
      loyaltyProgramId: program.id,
      last4: '0000',
      linkedAt: now.toISOString(),
    });
  };
  await Promise.all(
    Array.from({ length: SEED_IN_FLIGHT }, async () => {
      while (seeded < MEMBERS) {
        seeded += 1;
        await seedOne();
        if (seeded % 500 === 0) progress(`${seeded} / ${MEMBERS} members`);
      }
    }),
  );

  const send = async (target: PromotionTarget) => {
    const { result } = await queuePromotion(
      program.id,
      { header: 'Bench', body: 'Bench promotion', target, maxPerMemberPerDay: 10 },
      staff,
      undefined,
      new Date(),
    );
    const started = process.hrtime.bigint();
    let runs = 0;
    for (;;) {
      runs += 1;
      await runPromotions();
      const stored = await getPromotion(program.id, result.id);
      if (stored.status === 'SENT') {
        const seconds = elapsedMs(started) / 1000;
        return {
          seconds: round(seconds, 1),
          membersPerSecond: Math.round(stored.counts.examined / seconds),
          pages: stored.pagesDone,
          runs,
          counts: stored.counts,
        };
      }
    }
  };
  const walkOnly = await send({ tiers: ['NOBODY'] });
  progress(`walk only: ${JSON.stringify(walkOnly)}`);
  const deliver = await send({});
  if (deliver.counts.delivered !== MEMBERS)
    throw new Error(`delivered ${deliver.counts.delivered} of ${MEMBERS}`);
  emit({
    benchmark: 'promotion-run',
    machine: machine(),
    code: codeState(),
    members: MEMBERS,
    walkOnly,
    deliver,
    deliverOverWalk: round(deliver.seconds / walkOnly.seconds, 2),
  });
} finally {
  await stack.stop();
}
