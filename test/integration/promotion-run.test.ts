import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { earnPoints } from '../../functions/app/points';
import { PROMOTION_LEASE_MS, runPromotions } from '../../functions/app/promotion-run';
import { queuePromotion } from '../../functions/app/promotions';
import { newId } from '../../functions/core/ids';
import { DEFAULT_TIERS } from '../../functions/core/loyalty-program';
import type { PromotionTarget } from '../../functions/core/promotion';
import { linkCard } from '../../functions/store/card-links';
import { createLoyaltyProgram } from '../../functions/store/loyalty-programs';
import { createMember } from '../../functions/store/members';
import { getPromotion } from '../../functions/store/promotions';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * Member promotions in the background (issue #17 follow-up): queued by the request, walked page by page
 * by the `promotions` job with the cursor on the promotion; a crash in the middle of a page and a resume
 * message no member twice and count each once; the per-member day cap holds across promotions run side
 * by side; targeting by tier and activity picks the right members.
 */
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('promotion-run');
  await testEnv();
});
afterAll(async () => table.drop());

const staff = { type: 'staff', id: 'care-1', role: 'support' } as const;

async function program(): Promise<string> {
  const created = await createLoyaltyProgram(
    {
      name: 'Promotions',
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
    new Date(),
  );
  return created.id;
}

interface MemberSpec {
  readonly tier?: string;
  readonly marketing?: boolean;
  readonly cards?: number;
  /** Points earned now (an account changed today: active). */
  readonly points?: number;
}

async function member(loyaltyProgramId: string, spec: MemberSpec = {}) {
  const now = new Date();
  const created = await createMember(
    {
      loyaltyProgramId,
      channel: 'EMAIL',
      contact: `${newId('c')}@example.com`,
      consent: { termsVersion: '2026-01', acceptedAt: now.toISOString(), marketing: spec.marketing ?? true },
      tier: spec.tier ?? DEFAULT_TIERS[0]?.name ?? 'BASE',
    },
    undefined,
    now,
  );
  const cardIds: string[] = [];
  for (let i = 0; i < (spec.cards ?? 1); i++) {
    const cardId = newId('gc');
    await linkCard({
      cardId,
      memberId: created.id,
      loyaltyProgramId,
      last4: '0000',
      linkedAt: now.toISOString(),
    });
    cardIds.push(cardId);
  }
  if (spec.points) await earnPoints(created.id, spec.points, `promo-test-${created.id}`);
  return { memberId: created.id, cardIds };
}

async function messagesOf(cardId: string): Promise<string[]> {
  const out = await table.client.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': { S: `CARD#${cardId}` }, ':prefix': { S: 'WALLETMSG#' } },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((item) => item.header?.S ?? '');
}

const queue = async (
  loyaltyProgramId: string,
  header: string,
  target: PromotionTarget = {},
  maxPerMemberPerDay = 1,
) =>
  (
    await queuePromotion(
      loyaltyProgramId,
      { header, body: `${header} body`, target, maxPerMemberPerDay },
      staff,
      undefined,
      new Date(),
    )
  ).result;

const tiers = DEFAULT_TIERS.map((tier) => tier.name);
const [lowTier, highTier] = [tiers[0] ?? 'BASE', tiers[1] ?? 'SILVER'];

describe('promotions in the background', () => {
  it('are queued by the request and delivered by the job, page by page, to the targeted members, counted', async () => {
    const lp = await program();
    const activeTwoCards = await member(lp, { tier: highTier, cards: 2, points: 10 });
    const active = await member(lp, { tier: highTier, points: 10 });
    const activeNoCards = await member(lp, { tier: highTier, cards: 0, points: 10 });
    const inactive = await member(lp, { tier: highTier });
    const noConsent = await member(lp, { tier: highTier, marketing: false, points: 10 });
    const otherTier = await member(lp, { tier: lowTier, points: 10 });
    const otherProgram = await member(await program(), { tier: highTier, points: 10 });

    const queued = await queue(lp, 'Weekend offer', { tiers: [highTier], activeWithinDays: 30 });
    expect(queued).toMatchObject({ status: 'QUEUED', pagesDone: 0, counts: { examined: 0, delivered: 0 } });
    // Nothing is sent by the request itself.
    expect(await messagesOf(active.cardIds[0] ?? '')).toEqual([]);

    await runPromotions(new Date(), { membersPerPage: 2 });
    const sent = await getPromotion(lp, queued.id);
    expect(sent.status).toBe('SENT');
    // Three full pages, then the empty one that says the list is done.
    expect(sent.pagesDone).toBe(4);
    expect(sent.counts).toEqual({
      examined: 6,
      targeted: 3,
      delivered: 2,
      messages: 3,
      capped: 0,
      withoutCards: 1,
    });
    for (const cardId of [...activeTwoCards.cardIds, ...active.cardIds]) {
      expect(await messagesOf(cardId)).toEqual(['Weekend offer']);
    }
    for (const someone of [inactive, noConsent, otherTier, otherProgram]) {
      expect(await messagesOf(someone.cardIds[0] ?? '')).toEqual([]);
    }
    expect(activeNoCards.cardIds).toEqual([]);
    // A sent promotion is off the work list: another run sends nothing more.
    await runPromotions(new Date(), { membersPerPage: 2 });
    expect((await getPromotion(lp, queued.id)).counts).toEqual(sent.counts);
    expect(await messagesOf(active.cardIds[0] ?? '')).toEqual(['Weekend offer']);
  });

  it('resume after a crash in the middle of a page: no member messaged twice, each counted once', async () => {
    const lp = await program();
    const members = [];
    for (let i = 0; i < 10; i++) members.push(await member(lp));
    const cardIds = members.flatMap((m) => m.cardIds);
    const promotion = await queue(lp, 'Flash sale');

    let deliveries = 0;
    const crashed = await runPromotions(new Date(), {
      membersPerPage: 4,
      // The 7th delivery on dies: page 1 (4 members) is recorded, page 2 is half delivered, unrecorded.
      beforeDelivery: () => {
        deliveries += 1;
        if (deliveries > 6) throw new Error('injected crash');
      },
    });
    expect(crashed.failed).toBe(1);
    const halfway = await getPromotion(lp, promotion.id);
    expect(halfway).toMatchObject({ status: 'SENDING', pagesDone: 1 });
    expect(halfway.counts).toMatchObject({ examined: 4, delivered: 4, messages: 4 });
    const reached = async () => (await Promise.all(cardIds.map(messagesOf))).filter((m) => m.length > 0);
    expect(await reached()).toHaveLength(6);

    // The dead run's lease holds the promotion until it runs out: a run now leaves it alone.
    await runPromotions(new Date(), { membersPerPage: 4 });
    expect((await getPromotion(lp, promotion.id)).pagesDone).toBe(1);

    const resumed = await runPromotions(new Date(Date.now() + PROMOTION_LEASE_MS + 1_000), {
      membersPerPage: 4,
    });
    expect(resumed.failed).toBe(0);
    const done = await getPromotion(lp, promotion.id);
    expect(done).toMatchObject({ status: 'SENT', pagesDone: 3 });
    expect(done.counts).toEqual({
      examined: 10,
      targeted: 10,
      delivered: 10,
      messages: 10,
      capped: 0,
      withoutCards: 0,
    });
    // Every card got the message exactly once: the two members page 2 reached before the crash too.
    for (const cardId of cardIds) expect(await messagesOf(cardId)).toEqual(['Flash sale']);
  });

  it('the per-member day cap holds across promotions run side by side', async () => {
    const lp = await program();
    const members = [];
    for (let i = 0; i < 5; i++) members.push(await member(lp));
    const first = await queue(lp, 'First', {}, 1);
    const second = await queue(lp, 'Second', {}, 1);
    // Two runs at once: each leases a promotion (or one runs both); the cap counter decides per member.
    await Promise.all([runPromotions(), runPromotions()]);
    const [a, b] = [await getPromotion(lp, first.id), await getPromotion(lp, second.id)];
    expect([a.status, b.status]).toEqual(['SENT', 'SENT']);
    expect(a.counts.delivered + b.counts.delivered).toBe(5);
    expect(a.counts.capped + b.counts.capped).toBe(5);
    for (const m of members) expect(await messagesOf(m.cardIds[0] ?? '')).toHaveLength(1);

    // A cap of 2 lets one more through today, and no more after that.
    const third = await queue(lp, 'Third', {}, 2);
    const fourth = await queue(lp, 'Fourth', {}, 2);
    await runPromotions();
    const [c, d] = [await getPromotion(lp, third.id), await getPromotion(lp, fourth.id)];
    expect(c.counts.delivered + d.counts.delivered).toBe(5);
    expect(c.counts.capped + d.counts.capped).toBe(5);
    for (const m of members) expect(await messagesOf(m.cardIds[0] ?? '')).toHaveLength(2);
  });
});
