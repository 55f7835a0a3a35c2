import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redeemReward } from '../../functions/app/loyalty-rewards';
import { earnPoints, spendPoints } from '../../functions/app/points';
import type { DomainError } from '../../functions/core/errors';
import { sumOfPoints } from '../../functions/core/points';
import { findCard } from '../../functions/store/card-reads';
import { findMember } from '../../functions/store/members';
import { allPointsEntries, findPointsAccount } from '../../functions/store/points-ledger';
import { latestWalletMessage } from '../../functions/store/wallet-messages';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { call, registerMember, signInDirect } from '../support/loyalty';
import { mailbox } from '../support/mailbox';
import { startTestStack } from '../support/stack';

/**
 * Members end to end through the local API: sign-in answers, sessions, no member reaching another's
 * data, export and deletion; rewards spending points and loading a card in one transaction (both or
 * neither under injected failures and races), their timeout reversal; parallel earns and spends on one
 * member; promotions, sent in the background, reaching the passes of targeted members only, within the
 * frequency cap.
 */
let stack: LocalStack;
let apiKey: string;
let admin: string;
let cardProgramId: string;
let loyaltyProgramId: string;
let rewardId: string;

beforeAll(async () => {
  // No stream consumers: points are given directly (the earn test covers the stream).
  stack = await startTestStack({ consumers: [], mailCatcher: { smtpPort: 0, webPort: 0 } });
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  ({ apiKey } = demo);
  ({ admin } = demo.staffTokens);
  cardProgramId = demo.programId;
  const program = await call('POST', '/v1/loyalty/programs', admin, {
    name: 'Members',
    cardProgramIds: [cardProgramId],
    currency: 'USD',
    earn: { pointsPerUnitRedeemed: 1 },
    tiers: [
      { name: 'BASE', minPoints: 0, earnMultiplierPercent: 100 },
      { name: 'GOLD', minPoints: 1_000, earnMultiplierPercent: 200 },
    ],
    pointValueMilliMinor: 1_000,
  });
  loyaltyProgramId = program.id;
  const reward = await call('POST', `/v1/loyalty/programs/${loyaltyProgramId}/rewards`, admin, {
    name: 'Ten dollars',
    pointsCost: 100,
    valueMinor: 1_000,
  });
  rewardId = reward.id;
}, 60_000);
afterAll(async () => stack.stop());

async function memberWithCard(points = 0) {
  const memberId = await registerMember(loyaltyProgramId);
  const token = await signInDirect(memberId, loyaltyProgramId);
  const issued = await call('POST', '/v1/cards', apiKey, {
    programId: cardProgramId,
    type: 'DIGITAL',
    amount: 5_000,
    activate: true,
  });
  await call('POST', '/v1/members/me/cards', token, { code: issued.code });
  if (points > 0) await earnPoints(memberId, points, `test-${randomUUID()}`);
  return { memberId, token, cardId: issued.card.id as string, code: issued.code as string };
}

async function ledgerHolds(memberId: string) {
  const account = await findPointsAccount(memberId);
  const entries = await allPointsEntries(memberId);
  expect(account?.balance ?? 0).toBe(sumOfPoints(entries));
  expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
  expect(entries.every((e) => e.balanceAfter >= 0)).toBe(true);
  return account?.balance ?? 0;
}

const balanceOf = async (cardId: string) => (await findCard(cardId))?.balance;

describe('sign-in and sessions', () => {
  it('a one-time code goes to the contact through the delivery service and opens a session once', async () => {
    const contact = `mail-${randomUUID()}@example.com`;
    const member = await call('POST', `/v1/loyalty/programs/${loyaltyProgramId}/members`, undefined, {
      channel: 'EMAIL',
      contact,
      consent: { termsVersion: '1', accepted: true },
    });
    const signIn = (to: string) =>
      request('POST', `/v1/loyalty/programs/${loyaltyProgramId}/sign-in`, {
        body: { channel: 'EMAIL', contact: to },
      });
    const started = await signIn(contact.toUpperCase());
    expect(started.status).toBe(202);
    const unknown = await signIn(`nobody-${randomUUID()}@example.com`);
    // An unknown contact gets the same answer: a challenge and its expiry.
    expect(unknown.status).toBe(202);
    expect(Object.keys(unknown.body).sort()).toEqual(Object.keys(started.body).sort());
    const mail = await mailbox(stack).waitFor(contact);
    const code = /\b(\d{6})\b/.exec(mail.text)?.[1];
    expect(code).toBeDefined();
    const verify = (body: unknown) => request('POST', '/v1/loyalty/sign-in/verify', { body });
    const wrongCode = code === '000000' ? '000001' : '000000';
    const wrong = await verify({ challengeId: started.body.challengeId, code: wrongCode });
    const other = await verify({ challengeId: unknown.body.challengeId, code });
    expect([wrong.status, other.status]).toEqual([401, 401]);
    expect(wrong.body.detail).toBe(other.body.detail);
    const session = await verify({ challengeId: started.body.challengeId, code });
    expect(session.status).toBe(201);
    expect(session.body.memberId).toBe(member.id);
    // A code opens one session.
    expect((await verify({ challengeId: started.body.challengeId, code })).status).toBe(401);
    expect((await request('GET', '/v1/members/me', { token: session.body.token })).body.id).toBe(member.id);
  });

  it('a challenge allows five attempts: the right code after them opens nothing', async () => {
    const contact = `tries-${randomUUID()}@example.com`;
    await call('POST', `/v1/loyalty/programs/${loyaltyProgramId}/members`, undefined, {
      channel: 'EMAIL',
      contact,
      consent: { termsVersion: '1', accepted: true },
    });
    const started = await request('POST', `/v1/loyalty/programs/${loyaltyProgramId}/sign-in`, {
      body: { channel: 'EMAIL', contact },
    });
    const code = /\b(\d{6})\b/.exec((await mailbox(stack).waitFor(contact)).text)?.[1] ?? '';
    const wrongCode = code === '999999' ? '999998' : '999999';
    for (let i = 0; i < 5; i++) {
      const attempt = await request('POST', '/v1/loyalty/sign-in/verify', {
        body: { challengeId: started.body.challengeId, code: wrongCode },
      });
      expect(attempt.status).toBe(401);
    }
    const late = await request('POST', '/v1/loyalty/sign-in/verify', {
      body: { challengeId: started.body.challengeId, code },
    });
    expect(late.status).toBe(401);
  });

  it('a wrong code, an unknown challenge and an exhausted one answer alike; the right code opens one session', async () => {
    const memberId = await registerMember(loyaltyProgramId);
    const wrong = await request('POST', '/v1/loyalty/sign-in/verify', {
      body: { challengeId: `sgn_${'0'.repeat(26)}`, code: '000000' },
    });
    expect(wrong.status).toBe(401);
    const token = await signInDirect(memberId, loyaltyProgramId);
    expect(token.startsWith('ms_')).toBe(true);
    const me = await call('GET', '/v1/members/me', token);
    expect(me).toMatchObject({ id: memberId, tier: 'BASE', pointsBalance: 0 });
    await call('POST', '/v1/members/me/sign-out', token);
    expect((await request('GET', '/v1/members/me', { token })).status).toBe(401);
  });

  it('revoke-all ends every session of the member, and only theirs', async () => {
    const memberId = await registerMember(loyaltyProgramId);
    const first = await signInDirect(memberId, loyaltyProgramId);
    const second = await signInDirect(memberId, loyaltyProgramId);
    const other = await signInDirect(await registerMember(loyaltyProgramId), loyaltyProgramId);
    expect((await call('POST', '/v1/members/me/sessions/revoke-all', first)).revoked).toBe(2);
    expect((await request('GET', '/v1/members/me', { token: first })).status).toBe(401);
    expect((await request('GET', '/v1/members/me', { token: second })).status).toBe(401);
    expect((await request('GET', '/v1/members/me', { token: other })).status).toBe(200);
  });

  it('a contact registers once per program', async () => {
    const contact = `once-${randomUUID()}@example.com`;
    const body = { channel: 'EMAIL', contact, consent: { termsVersion: '1', accepted: true } };
    const path = `/v1/loyalty/programs/${loyaltyProgramId}/members`;
    expect((await request('POST', path, { body, idempotencyKey: randomUUID() })).status).toBe(201);
    const again = await request('POST', path, {
      body: { ...body, contact: contact.toUpperCase() },
      idempotencyKey: randomUUID(),
    });
    expect(again.status).toBe(409);
  });
});

describe('no member reaches another member', () => {
  it("member A cannot unlink, redeem onto, link or export B's card", async () => {
    const a = await memberWithCard(500);
    const b = await memberWithCard(500);
    expect((await request('DELETE', `/v1/members/me/cards/${b.cardId}`, { token: a.token })).status).toBe(
      404,
    );
    const onto = await request('POST', `/v1/members/me/rewards/${rewardId}/redeem`, {
      token: a.token,
      idempotencyKey: randomUUID(),
      body: { cardId: b.cardId },
    });
    expect(onto.status).toBe(404);
    const link = await request('POST', '/v1/members/me/cards', {
      token: a.token,
      idempotencyKey: randomUUID(),
      body: { code: b.code },
    });
    expect(link.status).toBe(409);
    const exported = await call('GET', '/v1/members/me/export', a.token);
    expect(exported.member.id).toBe(a.memberId);
    expect(exported.cards.map((c: { cardId: string }) => c.cardId)).toEqual([a.cardId]);
    expect(await balanceOf(b.cardId)).toBe(5_000);
    expect(await ledgerHolds(b.memberId)).toBe(500);
  });

  it('a wrong code links nothing and answers like an unknown one', async () => {
    const a = await memberWithCard();
    const unknown = await request('POST', '/v1/members/me/cards', {
      token: a.token,
      idempotencyKey: randomUUID(),
      body: { code: '0000000000000000' },
    });
    expect(unknown.status).toBe(404);
    expect((await call('GET', '/v1/members/me/cards', a.token)).items).toHaveLength(1);
  });

  it('deletion pseudonymises the member, ends the sessions, unlinks the cards and keeps the ledger', async () => {
    const a = await memberWithCard(300);
    expect((await request('DELETE', '/v1/members/me', { token: a.token })).status).toBe(204);
    expect((await request('GET', '/v1/members/me/export', { token: a.token })).status).toBe(401);
    const stored = await findMember(a.memberId);
    expect(stored).toMatchObject({ status: 'DELETED' });
    expect(stored?.contact).toBeUndefined();
    expect(stored?.consent).toBeUndefined();
    expect(await ledgerHolds(a.memberId)).toBe(300);
    const again = await memberWithCard();
    const relink = await request('POST', '/v1/members/me/cards', {
      token: again.token,
      idempotencyKey: randomUUID(),
      body: { code: a.code },
    });
    expect(relink.status).toBe(201);
  });
});

describe('rewards: points and card value in one transaction', () => {
  it('a redemption spends the points and loads the card; without enough points neither moves', async () => {
    const a = await memberWithCard(150);
    const done = await call('POST', `/v1/members/me/rewards/${rewardId}/redeem`, a.token, {
      cardId: a.cardId,
    });
    expect(done).toMatchObject({ pointsSpent: 100, pointsBalanceAfter: 50, cardBalanceAfter: 6_000 });
    const short = await request('POST', `/v1/members/me/rewards/${rewardId}/redeem`, {
      token: a.token,
      idempotencyKey: randomUUID(),
      body: { cardId: a.cardId },
    });
    expect(short.status).toBe(422);
    expect(short.body.code).toBe('INSUFFICIENT_FUNDS');
    expect(await balanceOf(a.cardId)).toBe(6_000);
    expect(await ledgerHolds(a.memberId)).toBe(50);
  });

  it('injected failures: a failed write, points spent between plan and write, a blocked card: both or neither', async () => {
    const a = await memberWithCard(100);
    const original = DynamoDBDocumentClient.prototype.send;
    const spy = vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
      this: DynamoDBDocumentClient,
      command: unknown,
      ...rest: unknown[]
    ) {
      if (command instanceof TransactWriteCommand)
        return Promise.reject(new Error('InternalServerError (test)'));
      return (original as (this: unknown, ...args: unknown[]) => Promise<unknown>).call(
        this,
        command,
        ...rest,
      );
    } as never);
    try {
      await expect(redeemReward(a.memberId, rewardId, a.cardId, undefined, new Date())).rejects.toThrow(
        '(test)',
      );
    } finally {
      spy.mockRestore();
    }
    expect(await balanceOf(a.cardId)).toBe(5_000);
    expect(await ledgerHolds(a.memberId)).toBe(100);

    // Between plan and write the points go elsewhere: the write fails its condition, the retry is refused.
    const raced = redeemReward(a.memberId, rewardId, a.cardId, undefined, new Date(), {
      beforeWrite: async (attempt) => {
        if (attempt === 0) await spendPoints(a.memberId, 60, randomUUID(), { singleFlight: false });
      },
    });
    await expect(raced).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect(await balanceOf(a.cardId)).toBe(5_000);
    expect(await ledgerHolds(a.memberId)).toBe(40);

    // The card side refuses (blocked): no points are spent either.
    const b = await memberWithCard(100);
    await call('POST', `/v1/cards/${b.cardId}/block`, apiKey, { reason: 'lost' });
    const blocked = redeemReward(b.memberId, rewardId, b.cardId, undefined, new Date());
    await expect(blocked).rejects.toMatchObject({ code: 'CARD_BLOCKED' });
    expect(await balanceOf(b.cardId)).toBe(5_000);
    expect(await ledgerHolds(b.memberId)).toBe(100);
  });

  it('a timeout reversal by the Idempotency-Key undoes both, once; a key never used reverses nothing', async () => {
    const a = await memberWithCard(100);
    const key = randomUUID();
    const redeem = () =>
      request('POST', `/v1/members/me/rewards/${rewardId}/redeem`, {
        token: a.token,
        idempotencyKey: key,
        body: { cardId: a.cardId },
      });
    const [first, retried] = [await redeem(), await redeem()];
    expect(first.status).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(await balanceOf(a.cardId)).toBe(6_000);
    const reverse = (idempotencyKey: string) =>
      call('POST', '/v1/members/me/rewards/reversals', a.token, { idempotencyKey });
    expect(await reverse(key)).toMatchObject({ status: 'REVERSED', pointsReturned: 100 });
    expect(await reverse(key)).toMatchObject({ status: 'ALREADY_REVERSED' });
    expect(await balanceOf(a.cardId)).toBe(5_000);
    expect(await ledgerHolds(a.memberId)).toBe(100);
    const unused = randomUUID();
    expect(await reverse(unused)).toEqual({ status: 'NOTHING_TO_REVERSE' });
    // The spent key can no longer redeem: the lost request, arriving late, moves nothing.
    const late = await request('POST', `/v1/members/me/rewards/${rewardId}/redeem`, {
      token: a.token,
      idempotencyKey: unused,
      body: { cardId: a.cardId },
    });
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect(await balanceOf(a.cardId)).toBe(5_000);
    expect(await ledgerHolds(a.memberId)).toBe(100);
  });

  it('parallel earns, spends and reward redemptions on one member keep the ledger whole and never negative', async () => {
    const a = await memberWithCard(1_000);
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 20 }, () =>
        redeemReward(a.memberId, rewardId, a.cardId, undefined, new Date()),
      ),
      ...Array.from({ length: 20 }, () => spendPoints(a.memberId, 50, randomUUID())),
      ...Array.from({ length: 10 }, (_, i) => earnPoints(a.memberId, 10, `par-${a.memberId}-${i}`)),
    ]);
    const redeemed = outcomes.slice(0, 20).filter((o) => o.status === 'fulfilled').length;
    const spent = outcomes.slice(20, 40).filter((o) => o.status === 'fulfilled').length;
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(['INSUFFICIENT_FUNDS', 'CONFLICT']).toContain((outcome.reason as DomainError).code);
      }
    }
    const balance = await ledgerHolds(a.memberId);
    expect(balance).toBe(1_000 + 100 - redeemed * 100 - spent * 50);
    expect(await balanceOf(a.cardId)).toBe(5_000 + redeemed * 1_000);
  });
});

describe('promotions through wallet passes', () => {
  it('reach the passes of the targeted members only, within the frequency cap, counted', async () => {
    const gold = await memberWithCard(1_500);
    const base = await memberWithCard(10);
    const noConsentId = await registerMember(loyaltyProgramId, false);
    // Tiers are recomputed on change; this member's earn came straight from the ledger, so set it here.
    const { recomputeTier } = await import('../../functions/app/loyalty-earn');
    const { getLoyaltyProgram } = await import('../../functions/store/loyalty-programs');
    const program = await getLoyaltyProgram(loyaltyProgramId);
    const goldMember = await findMember(gold.memberId);
    if (!goldMember) throw new Error('no member');
    expect(await recomputeTier(goldMember, program)).toBe('GOLD');
    const promotions = `/v1/loyalty/programs/${loyaltyProgramId}/promotions`;
    // The request queues the promotion (202); the promotions job sends it in the background.
    const queued = await request('POST', promotions, {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { header: 'Gold weekend', body: 'Double points for Gold members', target: { tiers: ['GOLD'] } },
    });
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ status: 'QUEUED', counts: { delivered: 0 } });
    expect(await latestWalletMessage(gold.cardId, cardProgramId)).toBeUndefined();
    await stack.scheduler.runNow('promotions');
    const sent = await call('GET', `${promotions}/${queued.body.id}`, admin);
    expect(sent.status).toBe('SENT');
    expect(sent.counts).toMatchObject({ targeted: 1, delivered: 1, messages: 1 });
    expect((await latestWalletMessage(gold.cardId, cardProgramId))?.header).toBe('Gold weekend');
    expect(await latestWalletMessage(base.cardId, cardProgramId)).toBeUndefined();
    expect(noConsentId).toBeTruthy();
    const again = await call('POST', promotions, admin, {
      header: 'Again',
      body: 'Too soon',
      target: { tiers: ['GOLD'] },
      maxPerMemberPerDay: 1,
    });
    await stack.scheduler.runNow('promotions');
    const second = await call('GET', `${promotions}/${again.id}`, admin);
    expect(second).toMatchObject({ status: 'SENT' });
    expect(second.counts).toMatchObject({ targeted: 1, delivered: 0, capped: 1, messages: 0 });
    expect((await latestWalletMessage(gold.cardId, cardProgramId))?.header).toBe('Gold weekend');
  });
});
