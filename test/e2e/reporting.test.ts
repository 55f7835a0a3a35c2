import { randomUUID } from 'node:crypto';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LedgerEntry } from '../../functions/core/ledger';
import { dynamoDbClient } from '../../local/dynamodb';
import { lambdaContext } from '../../local/handlers';
import type { LocalStack } from '../../local/stack';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * Finance reporting end to end: a mixed workload through the local API (issue, activate, load, redeem,
 * refund, hold/capture/void, staff adjustments, transfer, reversals, cash-out, expiry), counted by the
 * real reporting consumer fed by the stream poller, read through GET /v1/reports/summary and /daily,
 * and checked against a recomputation from the ledger entries in the table. Replays and a failing batch
 * must not change the figures.
 */
let stack: LocalStack;
let apiKey: string;
let demoProgram: string;
let merchantId: string;
let support: string;
let finance: string;
let admin: string;
let otherProgram: string;
type Handler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
let reportingHandler: Handler;

const DAY_MS = 86_400_000;
const today = new Date().toISOString().slice(0, 10);
const dayOffset = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 10);
const from = dayOffset(-1);
/** The expiry sweep runs 40 days ahead: its EXPIRE entries are dated then. */
const to = dayOffset(45);

beforeAll(async () => {
  stack = await startTestStack();
  const demo = stack.demo;
  if (!demo) throw new Error('the test stack did not seed');
  ({ apiKey, merchantId } = demo);
  demoProgram = demo.programId;
  ({ support, finance, admin } = demo.staffTokens);
  reportingHandler = (await import('../../functions/streams/reporting')).handler as Handler;
  const created = await request('POST', '/v1/programs', {
    token: admin,
    idempotencyKey: randomUUID(),
    body: {
      name: 'Expiring cash-out program',
      currency: 'USD',
      cashOut: { enabled: true },
      expiryPolicy: { type: 'MONTHS_AFTER_ISSUE', months: 1 },
    },
  });
  expect(created.status).toBe(201);
  otherProgram = created.body.id;
}, 60_000);
afterAll(async () => stack.stop());

async function call(method: string, path: string, token: string, body: unknown = {}) {
  const answer = await request(method, path, { token, idempotencyKey: randomUUID(), body });
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  return answer.body;
}

async function issue(token: string, programId: string, amount: number, activate = true): Promise<string> {
  const issued = await call('POST', '/v1/cards', token, { programId, type: 'DIGITAL', amount, activate });
  return issued.card.id as string;
}

/** Every ledger item in the table, as stored. */
async function ledgerItems(): Promise<Record<string, AttributeValue>[]> {
  const client = dynamoDbClient(stack.dynamodbEndpoint);
  const items: Record<string, AttributeValue>[] = [];
  try {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await client.send(
        new ScanCommand({
          TableName: stack.tableName,
          FilterExpression: 'begins_with(SK, :tx)',
          ExpressionAttributeValues: { ':tx': { S: 'TX#' } },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  return items;
}

const ledger = async (): Promise<LedgerEntry[]> =>
  (await ledgerItems()).map((item) => unmarshall(item) as LedgerEntry);

let sequence = 5_000_000;
/** The ledger entries' INSERT records as the stream carries them. */
async function streamRecords(): Promise<DynamoDBRecord[]> {
  return (await ledgerItems()).map((item) => {
    sequence += 1;
    return {
      eventID: randomUUID(),
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        Keys: { PK: item.PK as never, SK: item.SK as never },
        NewImage: item as never,
        SequenceNumber: String(sequence),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
  });
}

/** The report recomputed from ledger entries, independently of the consumer's code. */
function recompute(
  entries: readonly LedgerEntry[],
  range: { from: string; to: string; merchantId?: string },
) {
  const day = (entry: LedgerEntry) => entry.createdAt.slice(0, 10);
  const inRange = entries.filter((entry) => day(entry) >= range.from && day(entry) <= range.to);
  const selected = inRange.filter((entry) => !range.merchantId || entry.merchantId === range.merchantId);
  const of = (...types: string[]) => selected.filter((entry) => types.includes(entry.type));
  const value = (...types: string[]) => of(...types).reduce((sum, entry) => sum + Math.abs(entry.amount), 0);
  const signed = (...types: string[]) => of(...types).reduce((sum, entry) => sum + entry.amount, 0);
  const total = (list: readonly LedgerEntry[]) => list.reduce((sum, entry) => sum + entry.amount, 0);
  const closing = total(entries.filter((entry) => day(entry) <= range.to));
  return {
    currency: 'USD',
    issued: value('ISSUE'),
    issuedCount: of('ISSUE').length,
    activated: value('ACTIVATE'),
    activatedCount: of('ACTIVATE').length,
    loaded: value('LOAD'),
    loadedCount: of('LOAD').length,
    redeemed: value('REDEEM', 'CAPTURE'),
    redeemedCount: of('REDEEM', 'CAPTURE').length,
    captured: value('CAPTURE'),
    capturedCount: of('CAPTURE').length,
    refunded: value('REFUND'),
    refundedCount: of('REFUND').length,
    adjusted: signed('ADJUST_INCREMENT', 'ADJUST_DECREMENT'),
    adjustedCount: of('ADJUST_INCREMENT', 'ADJUST_DECREMENT').length,
    adjustedUp: value('ADJUST_INCREMENT'),
    adjustedDown: value('ADJUST_DECREMENT'),
    expired: value('EXPIRE'),
    expiredCount: of('EXPIRE').length,
    reversed: signed('REVERSAL'),
    reversedCount: of('REVERSAL').length,
    cashedOut: value('CLEAR_BALANCE'),
    cashedOutCount: of('CLEAR_BALANCE').length,
    transferredIn: value('TRANSFER_IN'),
    transferredOut: value('TRANSFER_OUT'),
    holdsPlacedCount: of('HOLD').length,
    holdsReleasedCount: of('VOID').length,
    netChange: total(selected),
    outstandingLiability: closing,
    openingLiability: closing - total(inRange),
  };
}

async function summary(query: string) {
  const answer = await request('GET', `/v1/reports/summary?${query}`, { token: finance });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.items as Record<string, unknown>[];
}

describe('real-time reporting fed by the stream', () => {
  const cards: string[] = [];

  it('after a mixed workload the summary equals a recomputation from the ledger', async () => {
    // Demo program, at the merchant's till.
    const a = await issue(apiKey, demoProgram, 10_000);
    const b = await issue(apiKey, demoProgram, 5_000, false);
    cards.push(a, b);
    await call('POST', `/v1/cards/${b}/activate`, apiKey, { amount: 0 });
    await call('POST', `/v1/cards/${a}/load`, apiKey, { amount: 2_000 });
    const redeemed = await call('POST', `/v1/cards/${a}/redeem`, apiKey, { amount: 3_000 });
    await call('POST', `/v1/cards/${a}/refund`, apiKey, {
      amount: 500,
      transactionId: redeemed.transaction.id,
    });
    const held = await call('POST', `/v1/cards/${a}/holds`, apiKey, { amount: 1_000 });
    await call('POST', `/v1/cards/${a}/holds/${held.hold.id}/capture`, apiKey, { amount: 600 });
    const voided = await call('POST', `/v1/cards/${a}/holds`, apiKey, { amount: 700 });
    await call('POST', `/v1/cards/${a}/holds/${voided.hold.id}/void`, apiKey);
    await call('POST', `/v1/cards/${a}/adjust`, support, { amount: 250, reason: 'goodwill' });
    await call('POST', `/v1/cards/${b}/adjust`, support, { amount: -100, reason: 'correction' });
    await call('POST', `/v1/cards/${a}/transfer`, apiKey, { toCardId: b, amount: 1_000 });
    const spent = await call('POST', `/v1/cards/${b}/redeem`, apiKey, { amount: 800 });
    await call('POST', `/v1/transactions/${spent.transaction.id}/reverse`, apiKey);
    const loaded = await call('POST', `/v1/cards/${a}/load`, apiKey, { amount: 1_000 });
    await call('POST', `/v1/transactions/${loaded.transaction.id}/reverse`, apiKey);
    // The other program, by support: a cash-out and a card that expires with value (breakage).
    const c = await issue(support, otherProgram, 3_000);
    const d = await issue(support, otherProgram, 4_000);
    cards.push(c, d);
    await call('POST', `/v1/cards/${c}/cash-out`, support, { reason: 'customer moved abroad' });
    const { expireCards } = await import('../../functions/app/sweeps');
    const swept = await expireCards(new Date(Date.now() + 40 * DAY_MS));
    expect(swept).toMatchObject({ changed: 1, failed: 0 });
    await stack.poller.drain();

    const entries = await ledger();
    expect(new Set(entries.map((entry) => entry.type))).toEqual(
      new Set([
        'ISSUE',
        'ACTIVATE',
        'LOAD',
        'REDEEM',
        'REFUND',
        'HOLD',
        'CAPTURE',
        'VOID',
        'ADJUST_INCREMENT',
        'ADJUST_DECREMENT',
        'TRANSFER_OUT',
        'TRANSFER_IN',
        'REVERSAL',
        'CLEAR_BALANCE',
        'EXPIRE',
      ]),
    );
    const all = await summary(`from=${from}&to=${to}`);
    expect(all).toEqual([expect.objectContaining(recompute(entries, { from, to }))]);
    for (const programId of [demoProgram, otherProgram]) {
      const ofProgram = entries.filter((entry) => entry.programId === programId);
      expect(await summary(`from=${from}&to=${to}&programId=${programId}&currency=USD`)).toEqual([
        expect.objectContaining(recompute(ofProgram, { from, to })),
      ]);
    }
    // The liability is what the cards hold.
    let held2 = 0;
    for (const cardId of cards) {
      held2 += (await request('GET', `/v1/cards/${cardId}`, { token: admin })).body.balance;
    }
    expect(all[0]?.outstandingLiability).toBe(held2);
    // Redemptions 3,000 + 800 (reversed: +800) and a 600 capture; a 1,000 load reversed (-1,000).
    expect(all[0]).toMatchObject({
      expired: 4_000,
      cashedOut: 3_000,
      redeemed: 4_400,
      captured: 600,
      reversed: -200,
    });
  }, 120_000);

  it('a merchant filter narrows the activity; the liability stays that of the cards', async () => {
    const entries = (await ledger()).filter((entry) => entry.programId === demoProgram);
    const [row] = await summary(`from=${from}&to=${to}&programId=${demoProgram}&merchantId=${merchantId}`);
    const expected = recompute(entries, { from, to, merchantId });
    expect(row).toMatchObject(expected);
    // Staff adjustments have no merchant: not in the merchant's activity.
    expect(row).toMatchObject({ adjusted: 0, adjustedCount: 0 });
  });

  it('outstandingLiability is the liability at the end of `to`: the expiry 40 days ahead is not in today', async () => {
    const entries = await ledger();
    const [now] = await summary(`from=${from}&to=${today}`);
    expect(now).toMatchObject(recompute(entries, { from, to: today }));
    expect(now?.expired).toBe(0);
    const [later] = await summary(`from=${dayOffset(30)}&to=${to}`);
    expect(later).toMatchObject({ expired: 4_000, openingLiability: now?.outstandingLiability });
    expect(later?.outstandingLiability).toBe(Number(now?.outstandingLiability) - 4_000);
  });

  it('the daily breakdown has every day of the range and adds up to the summary', async () => {
    const answer = await request('GET', `/v1/reports/daily?from=${from}&to=${to}`, { token: admin });
    expect(answer.status).toBe(200);
    const rows = answer.body.items as { date: string; netChange: number; outstandingLiability: number }[];
    expect(rows).toHaveLength(47);
    const [total] = await summary(`from=${from}&to=${to}`);
    expect(rows.reduce((sum, row) => sum + row.netChange, 0)).toBe(total?.netChange);
    expect(rows.at(-1)?.outstandingLiability).toBe(total?.outstandingLiability);
    expect(rows.find((row) => row.date === today)?.netChange).toBeGreaterThan(0);
  });

  it('replaying the same records, twice, changes nothing', async () => {
    const before = await summary(`from=${from}&to=${to}`);
    const records = await streamRecords();
    expect(records.length).toBeGreaterThan(20);
    const invoke = () => reportingHandler({ Records: records }, lambdaContext('reporting', 60_000));
    expect((await invoke()).batchItemFailures).toEqual([]);
    expect((await invoke()).batchItemFailures).toEqual([]);
    // The same record twice in one batch counts once too.
    const [first] = records;
    if (!first) throw new Error('no records');
    expect(
      (await reportingHandler({ Records: [first, first] }, lambdaContext('reporting', 60_000)))
        .batchItemFailures,
    ).toEqual([]);
    expect(await summary(`from=${from}&to=${to}`)).toEqual(before);
  });

  it('a batch whose counters fail is retried by the poller and counted once', async () => {
    // A new program: every report transaction of its entries fails (as if throttled) three times in all.
    const program = await call('POST', '/v1/programs', admin, { name: 'Throttled', currency: 'USD' });
    const original = DynamoDBDocumentClient.prototype.send;
    let failures = 0;
    const spy = vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
      this: DynamoDBDocumentClient,
      command: unknown,
      ...rest: unknown[]
    ) {
      if (command instanceof TransactWriteCommand && failures < 3) {
        const keys = (command.input.TransactItems ?? []).map((item) => String(item.Update?.Key?.SK ?? ''));
        if (keys.some((sk) => sk.includes(`#${program.id}#`))) {
          failures += 1;
          return Promise.reject(new Error('ProvisionedThroughputExceededException (test)'));
        }
      }
      return (original as (this: unknown, ...args: unknown[]) => Promise<unknown>).call(
        this,
        command,
        ...rest,
      );
    } as never);
    try {
      const id = await issue(support, program.id, 7_000, false);
      await call('POST', `/v1/cards/${id}/activate`, support, { amount: 0 });
      await call('POST', `/v1/cards/${id}/load`, support, { amount: 1_000 });
      await stack.poller.drain();
    } finally {
      spy.mockRestore();
    }
    expect(failures).toBe(3);
    const entries = await ledger();
    expect(await summary(`from=${from}&to=${to}`)).toEqual([
      expect.objectContaining(recompute(entries, { from, to })),
    ]);
    const ofProgram = entries.filter((entry) => entry.programId === program.id);
    expect(await summary(`from=${from}&to=${to}&programId=${program.id}`)).toEqual([
      expect.objectContaining({ ...recompute(ofProgram, { from, to }), issued: 7_000, loaded: 1_000 }),
    ]);
  }, 60_000);

  it('breakage cohorts equal a recomputation from the ledger after the replays and the failed batch', async () => {
    const entries = (await ledger()).filter((entry) => entry.currency === 'USD');
    const cohorts = new Map<
      string,
      { loaded: number; withdrawn: number; redeemed: number; expired: number }
    >();
    for (const entry of entries) {
      const month = entry.issueMonth ?? 'none';
      const cohort = cohorts.get(month) ?? { loaded: 0, withdrawn: 0, redeemed: 0, expired: 0 };
      const value = Math.abs(entry.amount);
      const refundOfRedemption = entry.type === 'REFUND' && entry.relatedTransactionId !== undefined;
      if (['ISSUE', 'ACTIVATE', 'LOAD', 'TRANSFER_IN', 'ADJUST_INCREMENT'].includes(entry.type))
        cohort.loaded += value;
      if (entry.type === 'REFUND' && !refundOfRedemption) cohort.loaded += value;
      if (entry.type === 'REVERSAL' && entry.amount < 0) cohort.loaded -= value;
      if (['REDEEM', 'CAPTURE'].includes(entry.type)) cohort.redeemed += value;
      if (refundOfRedemption || (entry.type === 'REVERSAL' && entry.amount > 0)) cohort.redeemed -= value;
      if (['TRANSFER_OUT', 'CLEAR_BALANCE', 'ADJUST_DECREMENT'].includes(entry.type))
        cohort.withdrawn += value;
      if (entry.type === 'EXPIRE') cohort.expired += value;
      cohorts.set(month, cohort);
    }
    expect([...cohorts.keys()]).toEqual([today.slice(0, 7)]);
    const answer = await request('GET', `/v1/reports/breakage?currency=USD&asOf=${to.slice(0, 7)}`, {
      token: finance,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const [cohort] = answer.body.cohorts;
    expect(answer.body.cohorts).toHaveLength(1);
    expect(cohort).toMatchObject({ cohort: today.slice(0, 7), ...cohorts.get(today.slice(0, 7)) });
    // Net loaded - redeemed - expired is what the cards hold: the liability the day counters give.
    const liability = entries.reduce((sum, entry) => sum + entry.amount, 0);
    expect(answer.body.totals.outstandingLiability).toBe(liability);
    expect(answer.body.reportedLiability).toBe(liability);
    expect(cohort.expectedBreakage).toBeGreaterThanOrEqual(cohort.expired);
    expect(cohort.recognisedToDate).toBeLessThanOrEqual(cohort.expectedBreakage);
    expect(answer.body.redemptionDevelopment.factors).toHaveLength(59);
  });

  it('an entry written before entries carried their cohort is counted, once, under its card’s issue month', async () => {
    const program = await call('POST', '/v1/programs', admin, { name: 'Legacy cohort', currency: 'USD' });
    const cardId = await issue(support, program.id, 2_000);
    await stack.poller.drain();
    const [record] = (await streamRecords()).filter(
      (item) =>
        item.dynamodb?.NewImage?.cardId?.S === cardId && item.dynamodb.NewImage.type?.S === 'ACTIVATE',
    );
    const image = { ...record?.dynamodb?.NewImage };
    if (!record || !image.SK) throw new Error('no ACTIVATE record');
    // A LOAD the card never had, as an entry of last year's code would carry it: no issueMonth.
    delete image.issueMonth;
    const legacy = {
      ...image,
      id: { S: `${String(image.id?.S)}9` },
      SK: { S: `${image.SK.S}9` },
      type: { S: 'LOAD' },
      amount: { N: '300' },
      createdAt: { S: `${to}T12:00:00.000Z` },
    };
    const event = { Records: [{ ...record, dynamodb: { ...record.dynamodb, NewImage: legacy } }] };
    for (let replay = 0; replay < 2; replay++) {
      const result = await reportingHandler(event as DynamoDBStreamEvent, lambdaContext('reporting', 60_000));
      expect(result.batchItemFailures).toEqual([]);
    }
    const answer = await request(
      'GET',
      `/v1/reports/breakage?currency=USD&programId=${program.id}&asOf=${to.slice(0, 7)}`,
      { token: finance },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.cohorts).toEqual([
      expect.objectContaining({ cohort: today.slice(0, 7), loaded: 2_300, redeemed: 0, withdrawn: 0 }),
    ]);
  });

  it('refuses a breakage report without a currency or with a bad month, and callers other than finance and admin', async () => {
    const answer = await request('GET', '/v1/reports/breakage?asOf=2026-13', { token: finance });
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((error: { field: string }) => error.field).sort()).toEqual([
      'query.asOf',
      'query.currency',
    ]);
    for (const token of [apiKey, support]) {
      expect((await request('GET', '/v1/reports/breakage?currency=USD', { token })).status).toBe(403);
    }
  });

  it('refuses bad ranges and callers other than finance and admin', async () => {
    const bad = async (query: string, field: string) => {
      const answer = await request('GET', `/v1/reports/summary?${query}`, { token: finance });
      expect(answer.status, query).toBe(400);
      expect(answer.body.code).toBe('VALIDATION_FAILED');
      expect(answer.body.errors.map((error: { field: string }) => error.field)).toContain(field);
    };
    await bad(`from=${to}&to=${from}`, 'query.from');
    await bad('from=2025-01-01&to=2026-06-30', 'query.to');
    await bad('from=2026-02-30&to=2026-03-01', 'query.from');
    // Calendar-invalid dates were a RangeError (500) in core/report.ts.
    await bad('from=2026-13-45&to=2026-12-01', 'query.from');
    await bad('from=2026-01-01&to=2026-02-30', 'query.to');
    const daily = await request('GET', '/v1/reports/daily?from=2026-13-45&to=2026-13-46', { token: finance });
    expect(daily.status).toBe(400);
    expect(daily.body.errors.map((error: { field: string }) => error.field)).toEqual([
      'query.from',
      'query.to',
    ]);
    await bad('to=2026-03-01', 'query.from');
    await bad('from=2026-03-01&to=2026-03-02&currency=XXX', 'query.currency');
    for (const token of [apiKey, support]) {
      expect((await request('GET', `/v1/reports/summary?from=${from}&to=${to}`, { token })).status).toBe(403);
    }
  });
});
