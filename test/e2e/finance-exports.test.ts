import { createHash, randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationContext } from '../../functions/core/card';
import { readCsv } from '../../functions/core/csv-read';
import type { LedgerEntry } from '../../functions/core/ledger';
import { dynamoDbClient } from '../../local/dynamodb';
import type { LocalStack } from '../../local/stack';
import { allEntries, issueCard, operateOnCard, transferBetweenCards } from '../support/cards';
import { everyone, everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * Finance exports end to end: the local API, the in-process runner with the real plan/segment/finalize
 * handlers, DynamoDB Local and s3rver. Figures are recomputed here from each card's ledger.
 */
const ZONE = 'America/New_York';
let stack: LocalStack;
let finance: string;
let support: string;

beforeAll(async () => {
  process.env.REPORTING_TIME_ZONE = ZONE;
  process.env.EXPORT_SEGMENTS = '3';
  // Pages of 7 items: every segment takes many Scan pages, and cards' entries straddle page boundaries.
  process.env.EXPORT_SCAN_PAGE_ITEMS = '7';
  stack = await startTestStack();
  if (!stack.demo) throw new Error('no demo');
  finance = stack.demo.staffTokens.finance;
  support = stack.demo.staffTokens.support;
});
afterAll(async () => {
  await stack?.stop();
  delete process.env.REPORTING_TIME_ZONE;
  delete process.env.EXPORT_SEGMENTS;
  delete process.env.EXPORT_SCAN_PAGE_ITEMS;
});

const at = (iso: string, overrides: Partial<OperationContext> = {}) =>
  staffContext({ now: new Date(iso), ...overrides });

interface ExportAnswer {
  id: string;
  status: string;
  cutoff: string;
  periodStart: string;
  error: string | null;
  files: { name: string; key: string; rows: number; sha256: string; url: string }[];
}

async function exportDone(id: string, timeoutMs = 240_000): Promise<ExportAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await request<ExportAnswer>('GET', `/v1/exports/${id}`, { token: finance });
    expect(answer.status).toBe(200);
    if (answer.body.status === 'SUCCEEDED' || answer.body.status === 'FAILED') return answer.body;
    if (Date.now() > deadline) throw new Error(`export ${id} still ${answer.body.status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Downloaded {
  manifest: {
    cutoff: string;
    periodStart: string;
    region: string;
    runId: string;
    files: { name: string; key: string; rows: number; sha256: string }[];
    rows: { balances: number; journal: number; summary: number };
    totals: { currency: string; closingLiability: number }[];
  };
  balances: Record<string, string>[];
  journal: Record<string, string>[];
  summary: Record<string, string>[];
}

/** Downloads every file by its link, checks its SHA-256 against the manifest and the API, parses it. */
async function download(answer: ExportAnswer): Promise<Downloaded> {
  const bytes = new Map<string, Buffer>();
  for (const file of answer.files) {
    const response = await fetch(file.url);
    expect(response.status, file.name).toBe(200);
    const body = Buffer.from(await response.arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex'), file.name).toBe(file.sha256);
    bytes.set(file.name, body);
  }
  const manifest = JSON.parse(String(bytes.get('manifest.json'))) as Downloaded['manifest'];
  const rowsOf = (prefix: string) => {
    const rows: Record<string, string>[] = [];
    for (const file of manifest.files.filter((f) => f.name.startsWith(prefix))) {
      const body = bytes.get(file.name);
      if (!body) throw new Error(`manifest lists ${file.name}, the API does not`);
      expect(createHash('sha256').update(body).digest('hex'), `manifest ${file.name}`).toBe(file.sha256);
      const parsed = readCsv(gunzipSync(body).toString('utf8'));
      expect(parsed.length, file.name).toBe(file.rows);
      rows.push(...parsed);
    }
    return rows;
  };
  return { manifest, balances: rowsOf('balances/'), journal: rowsOf('journal/'), summary: rowsOf('summary') };
}

/** Every card's ledger, read straight from the table. */
async function everyLedger(): Promise<LedgerEntry[][]> {
  const client = dynamoDbClient(stack.dynamodbEndpoint);
  const ids: string[] = [];
  let start: Record<string, never> | undefined;
  do {
    const out = await client.send(
      new ScanCommand({
        TableName: stack.tableName,
        FilterExpression: 'SK = :card',
        ExpressionAttributeValues: { ':card': { S: 'CARD' } },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) ids.push(String(unmarshall(item).id));
    start = out.LastEvaluatedKey as typeof start;
  } while (start);
  client.destroy();
  return Promise.all(ids.map((id) => allEntries(id)));
}

/** The ledger's own answer: per card, the sum of amounts dated at or before an instant. */
function expected(ledgers: LedgerEntry[][], periodStart: string, cutoff: string) {
  const sumUntil = (entries: LedgerEntry[], instant: string) =>
    entries.filter((entry) => entry.createdAt <= instant).reduce((sum, entry) => sum + entry.amount, 0);
  const balances = new Map<
    string,
    { balance: number; opening: number; currency: string; programId: string }
  >();
  const journal = new Set<string>();
  for (const entries of ledgers) {
    const first = entries[0];
    if (!first || first.createdAt > cutoff) continue;
    balances.set(first.cardId, {
      balance: sumUntil(entries, cutoff),
      opening: sumUntil(entries, periodStart),
      currency: first.currency,
      programId: first.programId,
    });
    for (const entry of entries)
      if (entry.createdAt > periodStart && entry.createdAt <= cutoff) journal.add(entry.id);
  }
  return { balances, journal };
}

const objectKeys = async (prefix: string): Promise<string[]> => {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: stack.s3Endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const out = await client.send(new ListObjectsV2Command({ Bucket: stack.s3Bucket, Prefix: prefix }));
  client.destroy();
  return (out.Contents ?? []).map((object) => String(object.Key)).sort();
};

const exportItems = async (): Promise<number> => {
  const client = dynamoDbClient(stack.dynamodbEndpoint);
  const out = await client.send(
    new ScanCommand({
      TableName: stack.tableName,
      FilterExpression: 'begins_with(PK, :export)',
      ExpressionAttributeValues: { ':export': { S: 'EXPORT#' } },
    }),
  );
  client.destroy();
  return out.Count ?? 0;
};

describe('refusing bad export requests', () => {
  it('answers 400 problem+json naming the field, and writes nothing', async () => {
    const bad: [unknown, string][] = [
      [{ month: '2026-13' }, 'month'],
      [{ month: '26-10' }, 'month'],
      [{ month: '2999-01' }, 'month'],
      [{ cutoff: 'last tuesday' }, 'cutoff'],
      [{ cutoff: new Date(Date.now() + 3_600_000).toISOString() }, 'cutoff'],
      [{ cutoff: '2026-10-01' }, 'cutoff'],
      [{ cutoff: '2026-02-30T00:00:00Z' }, 'cutoff'],
      [{ cutoff: '2026-13-45T00:00:00Z' }, 'cutoff'],
      [{ month: '2026-00' }, 'month'],
      [{}, 'month'],
      [{ month: '2026-09', cutoff: '2026-10-01T00:00:00Z' }, 'month'],
      [{ month: '2026-09', extra: 1 }, 'extra'],
    ];
    for (const [body, field] of bad) {
      const answer = await request('POST', '/v1/exports', {
        token: finance,
        body,
        idempotencyKey: randomUUID(),
      });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.headers['content-type']).toContain('application/problem+json');
      expect(answer.body.code).toBe('VALIDATION_FAILED');
      expect(
        answer.body.errors.map((error: { field: string }) => error.field),
        JSON.stringify(body),
      ).toContain(field);
    }
    expect(await exportItems()).toBe(0);
    expect(await objectKeys('exports/')).toEqual([]);
  });

  it('is for finance and admin staff only', async () => {
    const answer = await request('POST', '/v1/exports', { token: support, body: { month: '2026-09' } });
    expect(answer.status).toBe(403);
    const merchant = await request('GET', `/v1/exports/exp_${'0'.repeat(26)}`, { token: stack.demo?.apiKey });
    expect(merchant.status).toBe(403);
  });
});

describe('the monthly export of a month with history', () => {
  let answer: ExportAnswer;
  let files: Downloaded;
  let ledgers: LedgerEntry[][];

  beforeAll(async () => {
    const usd = await makeProgram({ name: 'Export USD' });
    const eur = await makeProgram({ name: 'Export EUR', currency: 'EUR' });
    const issue = (programId: string, amount: number, when: string) =>
      issueCard(programId, { type: 'DIGITAL', amount, activate: true }, at(when), undefined, everyProgram);
    // Issued before October: they make the opening liability.
    const a = await issue(usd.id, 5000, '2026-09-10T12:00:00Z');
    const c = await issue(usd.id, 2000, '2026-09-01T12:00:00Z');
    await operateOnCard(
      a.card.id,
      { type: 'REDEEM', amount: 1000 },
      at('2026-09-20T12:00:00Z'),
      undefined,
      everyone,
    );
    // October (New York time): loads, redemptions, a transfer, an adjustment, a reversal.
    await operateOnCard(
      a.card.id,
      { type: 'LOAD', amount: 2000 },
      at('2026-10-05T12:00:00Z'),
      undefined,
      everyone,
    );
    await operateOnCard(
      a.card.id,
      { type: 'REDEEM', amount: 500 },
      at('2026-10-20T12:00:00Z', {
        request: { reference: '=HYPERLINK("http://evil","x")', locationId: 'store-1' },
      }),
      undefined,
      everyone,
    );
    const b = await issue(usd.id, 3000, '2026-10-10T12:00:00Z');
    await transferBetweenCards(b.card.id, a.card.id, 1000, at('2026-10-15T12:00:00Z'), undefined, everyone);
    await operateOnCard(
      c.card.id,
      { type: 'ADJUST', amount: -200, reason: 'till error' },
      at('2026-10-03T12:00:00Z'),
      undefined,
      everyone,
    );
    const d = await issue(eur.id, 4000, '2026-10-02T12:00:00Z');
    const redeemed = await operateOnCard(
      d.card.id,
      { type: 'REDEEM', amount: 1500 },
      at('2026-10-03T12:00:00Z'),
      undefined,
      everyone,
    );
    await operateOnCard(
      d.card.id,
      { type: 'REVERSE', transactionId: redeemed.transaction.id },
      at('2026-10-04T12:00:00Z'),
      undefined,
      everyone,
    );
    // 22:00 in New York on 31 October is November in UTC: still October here.
    await operateOnCard(
      c.card.id,
      { type: 'REDEEM', amount: 300 },
      at('2026-11-01T02:00:00Z'),
      undefined,
      everyone,
    );
    // November: after the cutoff.
    await operateOnCard(
      a.card.id,
      { type: 'REDEEM', amount: 700 },
      at('2026-11-02T12:00:00Z'),
      undefined,
      everyone,
    );
    await issue(usd.id, 900, '2026-11-03T12:00:00Z');

    const started = await request('POST', '/v1/exports', {
      token: finance,
      body: { month: '2026-10' },
      idempotencyKey: randomUUID(),
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ id: expect.stringMatching(/^exp_/), status: 'PENDING' });
    answer = await exportDone(started.body.id);
    expect(answer.error).toBeNull();
    expect(answer.status).toBe('SUCCEEDED');
    files = await download(answer);
    ledgers = await everyLedger();
  }, 300_000);

  it('cuts off at midnight of 1 November in the region time zone, files under region, month and run', () => {
    expect(answer.cutoff).toBe('2026-11-01T04:00:00.000Z');
    expect(answer.periodStart).toBe('2026-10-01T04:00:00.000Z');
    expect(files.manifest).toMatchObject({ cutoff: answer.cutoff, runId: answer.id, region: 'us-east-1' });
    for (const file of answer.files)
      expect(file.key.startsWith(`exports/us-east-1/2026-10/${answer.id}/`)).toBe(true);
    expect(answer.files.map((file) => file.name)).toEqual(
      expect.arrayContaining([
        'summary.csv.gz',
        'breakage.csv.gz',
        'bulk-invoices.csv.gz',
        'manifest.json',
        'balances/part-0000.csv.gz',
        'journal/part-0002.csv.gz',
      ]),
    );
  });

  it('has one balance row per card that existed at the cutoff, with its balance then', () => {
    const truth = expected(ledgers, answer.periodStart, answer.cutoff);
    expect(files.balances.length).toBe(truth.balances.size);
    for (const row of files.balances) {
      const card = truth.balances.get(row.card_id ?? '');
      expect(card, row.card_id).toBeDefined();
      expect(Number(row.balance), row.card_id).toBe(card?.balance);
      expect(Number(row.opening_balance), row.card_id).toBe(card?.opening);
      expect(row.currency).toBe(card?.currency);
    }
  });

  it('journals exactly the month’s entries, with what finance needs, safe to open in a spreadsheet', () => {
    const truth = expected(ledgers, answer.periodStart, answer.cutoff);
    expect(new Set(files.journal.map((row) => row.transaction_id))).toEqual(truth.journal);
    expect(files.journal.length).toBe(truth.journal.size);
    const redemption = files.journal.find((row) => row.reference?.includes('HYPERLINK'));
    expect(redemption).toMatchObject({
      type: 'REDEEM',
      amount: '-500',
      location_id: 'store-1',
      actor_type: 'staff',
    });
    expect(redemption?.reference?.startsWith("'=")).toBe(true);
    expect(
      files.journal
        .filter((row) => row.type?.startsWith('TRANSFER_'))
        .map((row) => row.related_transaction_id),
    ).not.toContain('');
  });

  it('summarises per program and currency: opening + movements = closing, opening from cards issued before', () => {
    const truth = expected(ledgers, answer.periodStart, answer.cutoff);
    for (const line of files.summary) {
      const cards = [...truth.balances.values()].filter(
        (card) => card.programId === line.program_id && card.currency === line.currency,
      );
      const opening = cards.reduce((sum, card) => sum + card.opening, 0);
      const closing = cards.reduce((sum, card) => sum + card.balance, 0);
      expect(Number(line.opening_liability), line.program_id).toBe(opening);
      expect(Number(line.closing_liability), line.program_id).toBe(closing);
      const movements = [
        'issued',
        'activated',
        'loaded',
        'redeemed',
        'refunded',
        'reversed',
        'transferred_in',
        'transferred_out',
        'adjusted',
        'cashed_out',
        'expired',
        'other',
      ];
      const moved = movements.reduce((sum, column) => sum + Number(line[column]), 0);
      expect(opening + moved).toBe(closing);
    }
    const usd = files.summary.find((line) => line.currency === 'USD' && Number(line.opening_liability) > 0);
    // Cards a (5000 - 1000) and c (2000) were issued in September.
    expect(usd).toMatchObject({
      opening_liability: '6000',
      loaded: '2000',
      adjusted: '-200',
      transferred_in: '1000',
      transferred_out: '-1000',
    });
    expect(usd?.redeemed).toBe('-800');
    const eur = files.summary.find((line) => line.currency === 'EUR');
    expect(eur).toMatchObject({
      opening_liability: '0',
      activated: '4000',
      redeemed: '-1500',
      reversed: '1500',
      closing_liability: '4000',
    });
    expect(files.manifest.totals.find((total) => total.currency === 'EUR')?.closingLiability).toBe(4000);
  });

  it('asking for the same month again returns the same run and writes nothing new', async () => {
    const keysBefore = await objectKeys(`exports/us-east-1/2026-10/`);
    const again = await request('POST', '/v1/exports', {
      token: finance,
      body: { month: '2026-10' },
      idempotencyKey: randomUUID(),
    });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: answer.id, status: 'SUCCEEDED' });
    const sameCutoff = await request('POST', '/v1/exports', {
      token: finance,
      body: { cutoff: '2026-11-01T00:00:00-04:00' },
    });
    expect(sameCutoff.body.id).toBe(answer.id);
    expect(await objectKeys(`exports/us-east-1/2026-10/`)).toEqual(keysBefore);
    expect(keysBefore.length).toBe(answer.files.length);
    const reread = await request<ExportAnswer>('GET', `/v1/exports/${answer.id}`, { token: finance });
    expect(reread.body.files.map((file) => file.sha256)).toEqual(answer.files.map((file) => file.sha256));
  });
});

describe('an export taken while redemptions go on', () => {
  it('ties out exactly: balances = closing liability = the ledger as of the cutoff', async () => {
    const demo = stack.demo;
    if (!demo) throw new Error('no demo');
    const cards: string[] = [];
    for (let i = 0; i < 6; i++) {
      const issued = await request('POST', '/v1/cards', {
        token: demo.apiKey,
        idempotencyKey: randomUUID(),
        body: { programId: demo.programId, type: 'DIGITAL', amount: 50_000, activate: true },
      });
      expect(issued.status).toBe(201);
      cards.push(issued.body.card.id);
    }
    let running = true;
    let redemptions = 0;
    const worker = async (n: number) => {
      for (let i = n; running; i++) {
        const cardId = cards[i % cards.length] ?? '';
        const answer = await request('POST', `/v1/cards/${cardId}/redeem`, {
          token: demo.apiKey,
          idempotencyKey: randomUUID(),
          body: { amount: 7, channel: 'POS' },
        });
        if (answer.status === 200) redemptions += 1;
      }
    };
    const workers = Array.from({ length: 6 }, (_, n) => worker(n));
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const cutoff = new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const started = await request('POST', '/v1/exports', { token: finance, body: { cutoff } });
      expect(started.status).toBe(202);
      // Redemptions go on through the settle margin and the scan.
      const answer = await exportDone(started.body.id);
      expect(answer.error).toBeNull();
      running = false;
      await Promise.all(workers);
      expect(redemptions).toBeGreaterThan(0);

      const files = await download(answer);
      const truth = expected(await everyLedger(), answer.periodStart, answer.cutoff);
      const sumOfBalances = files.balances.reduce((sum, row) => sum + Number(row.balance), 0);
      const ledgerSum = [...truth.balances.values()].reduce((sum, card) => sum + card.balance, 0);
      const closing = files.summary.reduce((sum, line) => sum + Number(line.closing_liability), 0);
      expect(sumOfBalances).toBe(ledgerSum);
      expect(closing).toBe(ledgerSum);
      for (const row of files.balances)
        expect(Number(row.balance), row.card_id).toBe(truth.balances.get(row.card_id ?? '')?.balance);
      expect(new Set(files.journal.map((row) => row.transaction_id))).toEqual(truth.journal);
      // Some of the traffic landed after the cutoff and is not in the export.
      const after = (await everyLedger()).flat().filter((entry) => entry.createdAt > answer.cutoff);
      expect(after.length).toBeGreaterThan(0);
    } finally {
      running = false;
      await Promise.allSettled(workers);
    }
  }, 300_000);
});

// Last in the file: the broken ledger it writes would fail every later export of this table.
describe('a ledger that does not tie out', () => {
  it('fails the export loudly: FAILED with the reason, no manifest, no links; asking again runs it again', async () => {
    const client = dynamoDbClient(stack.dynamodbEndpoint);
    const cardId = `gc_${'7'.repeat(26)}`;
    const entry = (seq: number, type: string, amount: number, balanceAfter: number) => ({
      PK: { S: `CARD#${cardId}` },
      SK: { S: `TX#${String(seq).padStart(10, '0')}` },
      id: { S: `tx_${'7'.repeat(26)}_${seq}` },
      cardId: { S: cardId },
      programId: { S: `prg_${'7'.repeat(26)}` },
      seq: { N: String(seq) },
      type: { S: type },
      amount: { N: String(amount) },
      currency: { S: 'USD' },
      balanceAfter: { N: String(balanceAfter) },
      availableAfter: { N: String(balanceAfter) },
      actor: { M: { type: { S: 'system' }, id: { S: 'test' } } },
      channel: { S: 'API' },
      createdAt: { S: `2026-08-1${seq}T12:00:00.000Z` },
    });
    await client.send(new PutItemCommand({ TableName: stack.tableName, Item: entry(1, 'ISSUE', 100, 100) }));
    // 100 + 50 is not 999: an entry altered after the fact.
    await client.send(new PutItemCommand({ TableName: stack.tableName, Item: entry(2, 'LOAD', 50, 999) }));
    client.destroy();

    const started = await request('POST', '/v1/exports', { token: finance, body: { month: '2026-08' } });
    expect(started.status).toBe(202);
    const failed = await exportDone(started.body.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toContain(`card ${cardId} entry 2: balanceAfter 999 is not 100 + 50`);
    expect(failed.files).toEqual([]);
    const keys = await objectKeys('exports/us-east-1/2026-08/');
    expect(keys.some((key) => key.endsWith('manifest.json'))).toBe(false);

    const again = await request('POST', '/v1/exports', { token: finance, body: { month: '2026-08' } });
    expect(again.body).toMatchObject({ id: started.body.id, status: 'PENDING' });
    const failedAgain = await exportDone(started.body.id);
    expect(failedAgain.status).toBe('FAILED');
  }, 300_000);
});
