import { randomUUID } from 'node:crypto';
import { type AttributeValue, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spendPoints } from '../../functions/app/points';
import { sumOfPoints } from '../../functions/core/points';
import { allPointsEntries, findPointsAccount } from '../../functions/store/points-ledger';
import { STREAM_CONSUMERS } from '../../functions/streams/registry';
import { dynamoDbClient } from '../../local/dynamodb';
import { lambdaContext } from '../../local/handlers';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { call, eventually, registerMember, signInDirect } from '../support/loyalty';
import { startTestStack } from '../support/stack';

/**
 * Points from the card ledger stream, end to end: cards linked by members through the API, redemptions
 * and loads through the merchant API, the real loyalty consumer fed by the stream poller, and the
 * points ledger read back. Replays of the stream records earn nothing more; a reversal or refund of a
 * redemption takes its points back (a partial refund its share); the day cap and tiers apply.
 */
let stack: LocalStack;
let apiKey: string;
let admin: string;
let finance: string;
let cardProgramId: string;
let loyaltyProgramId: string;
type Handler = (event: DynamoDBStreamEvent, context: Context) => Promise<{ batchItemFailures: unknown[] }>;
let loyaltyHandler: Handler;

beforeAll(async () => {
  stack = await startTestStack({
    consumers: STREAM_CONSUMERS.filter((c) => c.name === 'loyalty' || c.name === 'loyalty-reporting'),
  });
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  ({ apiKey } = demo);
  ({ admin, finance } = demo.staffTokens);
  cardProgramId = demo.programId;
  loyaltyHandler = (await import('../../functions/streams/loyalty')).handler as Handler;
  const program = await call('POST', '/v1/loyalty/programs', admin, {
    name: 'Friends of the shop',
    cardProgramIds: [cardProgramId],
    currency: 'USD',
    earn: { pointsPerUnitRedeemed: 10, pointsPerUnitLoaded: 1, firstUseBonus: 5, dailyCapPoints: 2_000 },
    tiers: [
      { name: 'BASE', minPoints: 0, earnMultiplierPercent: 100 },
      { name: 'SILVER', minPoints: 1_000, earnMultiplierPercent: 200 },
    ],
    pointValueMilliMinor: 1_000,
  });
  loyaltyProgramId = program.id;
}, 60_000);
afterAll(async () => stack.stop());

/** A member with one linked card of `amount`, linked through the API with the card's code. */
async function memberWithCard(amount: number) {
  const memberId = await registerMember(loyaltyProgramId);
  const token = await signInDirect(memberId, loyaltyProgramId);
  const issued = await call('POST', '/v1/cards', apiKey, {
    programId: cardProgramId,
    type: 'DIGITAL',
    amount,
    activate: true,
  });
  await call('POST', '/v1/members/me/cards', token, { code: issued.code });
  return { memberId, token, cardId: issued.card.id as string };
}

async function expectLedgerHolds(memberId: string) {
  const account = await findPointsAccount(memberId);
  const entries = await allPointsEntries(memberId);
  expect(account?.balance ?? 0).toBe(sumOfPoints(entries));
  expect(entries.every((entry) => entry.balanceAfter >= 0)).toBe(true);
  return { balance: account?.balance ?? 0, entries };
}

const pointsOf = async (token: string) =>
  (await call('GET', '/v1/members/me', token)).pointsBalance as number;

/** The card's ledger entries as the stream carries their INSERTs. */
async function cardRecords(cardId: string): Promise<DynamoDBRecord[]> {
  const client = dynamoDbClient(stack.dynamodbEndpoint);
  try {
    const out = await client.send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :tx)',
        ExpressionAttributeValues: { ':pk': { S: `CARD#${cardId}` }, ':tx': { S: 'TX#' } },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((item: Record<string, AttributeValue>, i) => ({
      eventID: randomUUID(),
      eventName: 'INSERT',
      dynamodb: {
        Keys: { PK: item.PK as never, SK: item.SK as never },
        NewImage: item as never,
        SequenceNumber: String(9_000_000 + i),
      },
    }));
  } finally {
    client.destroy();
  }
}

describe('earning from the ledger stream', () => {
  it('a redemption earns once, whatever the replays and parallel retries of its records', async () => {
    const { memberId, token, cardId } = await memberWithCard(10_000);
    const redeemed = await call('POST', `/v1/cards/${cardId}/redeem`, apiKey, { amount: 2_550 });
    // 25 whole dollars at 10 a dollar, and the first-use bonus.
    await eventually(async () => expect(await pointsOf(token)).toBe(255));
    const records = await cardRecords(cardId);
    await Promise.all(
      Array.from({ length: 5 }, () => loyaltyHandler({ Records: records }, lambdaContext('loyalty', 60_000))),
    );
    await loyaltyHandler({ Records: [...records].reverse() }, lambdaContext('loyalty', 60_000));
    const { balance, entries } = await expectLedgerHolds(memberId);
    expect(balance).toBe(255);
    expect(entries.map((e) => [e.type, e.points, e.sourceId])).toEqual([
      ['EARN', 250, redeemed.transaction.id],
      ['EARN', 5, `bonus-first-use-${cardId}`],
    ]);
  });

  it('a reversal of the redemption takes its points back, once; a refund of another takes that one back', async () => {
    const { memberId, token, cardId } = await memberWithCard(10_000);
    const first = await call('POST', `/v1/cards/${cardId}/redeem`, apiKey, { amount: 1_000 });
    const second = await call('POST', `/v1/cards/${cardId}/redeem`, apiKey, { amount: 3_000 });
    await eventually(async () => expect(await pointsOf(token)).toBe(100 + 5 + 300));
    await call('POST', `/v1/transactions/${first.transaction.id}/reverse`, apiKey);
    await call('POST', `/v1/cards/${cardId}/refund`, apiKey, {
      amount: 3_000,
      transactionId: second.transaction.id,
    });
    await eventually(async () => expect(await pointsOf(token)).toBe(5));
    await loyaltyHandler({ Records: await cardRecords(cardId) }, lambdaContext('loyalty', 60_000));
    const { balance, entries } = await expectLedgerHolds(memberId);
    expect(balance).toBe(5);
    expect(entries.filter((e) => e.type === 'REVERSE_EARN').map((e) => [e.points, e.sourceId])).toEqual([
      [-100, first.transaction.id],
      [-300, second.transaction.id],
    ]);
  });

  it('loads earn at the load rate; the day cap stops capped earns; a higher tier multiplies the rate', async () => {
    const { memberId, token, cardId } = await memberWithCard(40_000);
    await call('POST', `/v1/cards/${cardId}/load`, apiKey, { amount: 5_000 });
    await eventually(async () => expect(await pointsOf(token)).toBe(50));
    // 100 dollars redeemed: 1,000 points, which reaches SILVER (1,000 earned in the window).
    await call('POST', `/v1/cards/${cardId}/redeem`, apiKey, { amount: 10_000 });
    await eventually(async () => expect((await call('GET', '/v1/members/me', token)).tier).toBe('SILVER'));
    expect(await pointsOf(token)).toBe(50 + 1_000 + 5);
    // At SILVER a dollar earns 20: 50 dollars would be 1,000, but the day's cap (2,000) leaves 950.
    await call('POST', `/v1/cards/${cardId}/redeem`, apiKey, { amount: 5_000 });
    await eventually(async () => expect(await pointsOf(token)).toBe(2_000 + 5));
    await call('POST', `/v1/cards/${cardId}/redeem`, apiKey, { amount: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { balance } = await expectLedgerHolds(memberId);
    expect(balance).toBe(2_005);
  });

  it('cards not linked earn nothing; the loyalty report counts earned and spent per day with the liability', async () => {
    const issued = await call('POST', '/v1/cards', apiKey, {
      programId: cardProgramId,
      type: 'DIGITAL',
      amount: 5_000,
      activate: true,
    });
    await call('POST', `/v1/cards/${issued.card.id}/redeem`, apiKey, { amount: 1_000 });
    const today = new Date().toISOString().slice(0, 10);
    const report = await eventually(async () => {
      const answer = await request(
        'GET',
        `/v1/reports/loyalty?from=${today}&to=${today}&loyaltyProgramId=${loyaltyProgramId}`,
        { token: finance },
      );
      expect(answer.status).toBe(200);
      const [program] = answer.body.items;
      // Every member's balance, from the points ledgers themselves.
      expect(program.outstandingPoints).toBe(255 + 5 + 2_005);
      return program;
    });
    expect(report.days).toEqual([
      expect.objectContaining({
        day: today,
        earned: 255 + 405 + 2_005,
        reversed: -400,
        spent: 0,
        expired: 0,
      }),
    ]);
    expect(report.outstandingValueMinor).toBe(2_265);
  });
});

const takeBacksOf = (entries: Awaited<ReturnType<typeof allPointsEntries>>) =>
  entries.filter((e) => e.type === 'REVERSE_EARN');

/** The card's REFUND records, each as the stream would deliver it. */
const refundRecords = async (cardId: string) =>
  (await cardRecords(cardId)).filter((record) => record.dynamodb?.NewImage?.type?.S === 'REFUND');

// After the report above: these members' points are not in its totals.
describe('partial refunds through the stream', () => {
  it('a 40% refund takes back 40% of the earn, the 60% refund the rest; replays take nothing more', async () => {
    const { memberId, token, cardId } = await memberWithCard(20_000);
    const redeemed = await call('POST', `/v1/cards/${cardId}/redeem`, apiKey, { amount: 5_000 });
    await eventually(async () => expect(await pointsOf(token)).toBe(500 + 5));
    const forty = await call('POST', `/v1/cards/${cardId}/refund`, apiKey, {
      amount: 2_000,
      transactionId: redeemed.transaction.id,
    });
    await eventually(async () => expect(await pointsOf(token)).toBe(300 + 5));
    const sixty = await call('POST', `/v1/cards/${cardId}/refund`, apiKey, {
      amount: 3_000,
      transactionId: redeemed.transaction.id,
    });
    await eventually(async () => expect(await pointsOf(token)).toBe(5));
    const records = await cardRecords(cardId);
    await Promise.all(
      Array.from({ length: 3 }, () => loyaltyHandler({ Records: records }, lambdaContext('loyalty', 60_000))),
    );
    await loyaltyHandler({ Records: [...records].reverse() }, lambdaContext('loyalty', 60_000));
    const { balance, entries } = await expectLedgerHolds(memberId);
    expect(balance).toBe(5);
    expect(takeBacksOf(entries).map((e) => [e.points, e.sourceId, e.takenBackBy])).toEqual([
      [-200, redeemed.transaction.id, forty.transaction.id],
      [-300, redeemed.transaction.id, sixty.transaction.id],
    ]);
  });

  it('refunds delivered concurrently take the whole earn once; after a spend a refund floors at 0', async () => {
    const { memberId, token, cardId } = await memberWithCard(20_000);
    const redeemed = await call('POST', `/v1/cards/${cardId}/redeem`, apiKey, { amount: 2_000 });
    await eventually(async () => expect(await pointsOf(token)).toBe(200 + 5));
    // Three refunds of about a third each; their records go to three invocations at once, racing the
    // poller's own delivery.
    for (const amount of [666, 667, 667]) {
      await call('POST', `/v1/cards/${cardId}/refund`, apiKey, {
        amount,
        transactionId: redeemed.transaction.id,
      });
    }
    const refunds = await refundRecords(cardId);
    expect(refunds).toHaveLength(3);
    await Promise.all(
      [...refunds, ...refunds].map((record) =>
        loyaltyHandler({ Records: [record] }, lambdaContext('loyalty', 60_000)),
      ),
    );
    await eventually(async () => expect(await pointsOf(token)).toBe(5));
    const taken = takeBacksOf((await expectLedgerHolds(memberId)).entries);
    expect(taken).toHaveLength(3);
    expect(sumOfPoints(taken)).toBe(-200);
    expect(new Set(taken.map((e) => e.takenBackBy))).toEqual(
      new Set(refunds.map((record) => record.dynamodb?.NewImage?.id?.S)),
    );

    // 100 points earned, all spent but the bonus; a half refund's share (50) finds only 5.
    const second = await call('POST', `/v1/cards/${cardId}/redeem`, apiKey, { amount: 1_000 });
    await eventually(async () => expect(await pointsOf(token)).toBe(105));
    await spendPoints(memberId, 100, randomUUID());
    await call('POST', `/v1/cards/${cardId}/refund`, apiKey, {
      amount: 500,
      transactionId: second.transaction.id,
    });
    await eventually(async () => expect(await pointsOf(token)).toBe(0));
    await loyaltyHandler({ Records: await refundRecords(cardId) }, lambdaContext('loyalty', 60_000));
    const { balance, entries } = await expectLedgerHolds(memberId);
    expect(balance).toBe(0);
    expect(takeBacksOf(entries).at(-1)).toMatchObject({
      points: -5,
      shortfall: 45,
      sourceId: second.transaction.id,
    });
    expect(takeBacksOf(entries)).toHaveLength(4);
  });
});
