import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BULK_STALL_MINUTES } from '../../functions/core/bulk/bulk-batch-model';
import { readCsv } from '../../functions/core/csv-read';
import { writeBulkInvoiceFile } from '../../functions/store/export-bulk-invoices';
import { exportBucket, s3 } from '../../functions/store/s3-client';
import type { LocalStack } from '../../local/stack';
import { bulkJsonFile, type CustomerKeys, customerKeyPair } from '../support/bulk-csv-file';
import { programCardIds, request } from '../support/http';
import { startTestStack } from '../support/stack';

/**
 * Bulk batch flows beyond the CSV run (issue #19), small batches on one stack:
 * - a JSON batch: the same open / upload / submit flow with `format: "JSON"` and a JSON array file; bad
 *   rows are refused by row and field with nothing created, a good batch runs in the background to the
 *   same encrypted result file, its `line` being the batch's row number;
 * - the accepted batch's invoice summary in the finance reports (the route and the export's file);
 * - the program's e-gift designs: an order naming another design is refused, naming the field;
 * - the bulk-resume job: a batch whose runner crashed for good (every local retry spent) stays RUNNING
 *   until its progress has stood still long enough, then is resumed to the end with no card twice.
 */
const ROWS = 40;
let stack: LocalStack;
let support: string;
let finance: string;
let programId: string;
/** The JSON batch that ran, for the finance checks. */
let ranBatch: BatchAnswer | undefined;
let keys: CustomerKeys;

interface BatchAnswer {
  id: string;
  status: string;
  format: string;
  rows: number;
  totalMinor: number;
  problems: { line: number; field: string; message: string }[];
  resultFile: { rows: number; url: string } | null;
  error: string | null;
}

beforeAll(async () => {
  stack = await startTestStack({ consumers: [] });
  if (!stack.demo) throw new Error('no demo');
  support = stack.demo.staffTokens.support;
  finance = stack.demo.staffTokens.finance;
  const program = await request<{ id: string }>('POST', '/v1/programs', {
    token: stack.demo.staffTokens.admin,
    body: { name: `Bulk JSON ${Date.now()}`, currency: 'USD', maxLoad: 100_000, maxBalance: 100_000 },
  });
  expect(program.status, JSON.stringify(program.body)).toBe(201);
  programId = program.body.id;
  keys = await customerKeyPair();
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

async function jsonBatch(file: AsyncIterable<Uint8Array>, forProgram = programId): Promise<BatchAnswer> {
  const opened = await request<{ batch: BatchAnswer; uploadUrl: string }>('POST', '/v1/bulk-batches', {
    token: support,
    body: {
      programId: forProgram,
      customerName: 'Acme Ltd',
      output: 'CLAIM_LINKS',
      format: 'JSON',
      recipientKey: keys.publicKey,
    },
  });
  expect(opened.status, JSON.stringify(opened.body)).toBe(201);
  expect(opened.body.batch.format).toBe('JSON');
  const parts: Uint8Array[] = [];
  for await (const chunk of file) parts.push(chunk);
  const put = await fetch(opened.body.uploadUrl, {
    method: 'PUT',
    body: Buffer.concat(parts),
    headers: { 'Content-Type': 'application/json' },
  });
  expect(put.status).toBe(200);
  const submitted = await request<BatchAnswer>('POST', `/v1/bulk-batches/${opened.body.batch.id}/submit`, {
    token: support,
    body: {},
  });
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
  return submitted.body;
}

const cardsOf = (program: string) => programCardIds(support, program);

const cardCount = async () => (await cardsOf(programId)).length;

async function batchNow(id: string): Promise<BatchAnswer & { progress: { chunksDone: number } }> {
  const answer = await request<BatchAnswer & { progress: { chunksDone: number } }>(
    'GET',
    `/v1/bulk-batches/${id}`,
    { token: support },
  );
  expect(answer.status).toBe(200);
  return answer.body;
}

async function resultRowsOf(batch: BatchAnswer): Promise<Record<string, string>[]> {
  const encrypted = new Uint8Array(await (await fetch(batch.resultFile?.url ?? '')).arrayBuffer());
  const { data } = await openpgp.decrypt({
    message: await openpgp.readMessage({ binaryMessage: encrypted }),
    decryptionKeys: keys.privateKey,
    format: 'binary',
  });
  return readCsv(Buffer.from(data as Uint8Array).toString('utf8'));
}

describe('a JSON bulk batch', () => {
  it('with bad rows is refused by row and field, and creates nothing', async () => {
    const refused = await jsonBatch(
      bulkJsonFile(ROWS, {
        row: (row, value) => (row === 7 ? { ...value, amount: '12.50' } : row === 30 ? 'not a row' : value),
      }),
    );
    expect(refused.status).toBe('REFUSED');
    expect(refused.problems.map(({ line, field }) => ({ line, field }))).toEqual([
      { line: 7, field: 'amount' },
      { line: 30, field: 'row' },
    ]);
    expect(await cardCount()).toBe(0);
  }, 60_000);

  it('runs to the end: one card per row, in the encrypted result file by row number', async () => {
    const accepted = await jsonBatch(bulkJsonFile(ROWS));
    expect(accepted).toMatchObject({ status: 'RUNNING', rows: ROWS, problems: [] });
    let final = accepted;
    for (let attempt = 0; attempt < 600 && final.status === 'RUNNING'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      final = (await request<BatchAnswer>('GET', `/v1/bulk-batches/${accepted.id}`, { token: support })).body;
    }
    expect(final.error).toBeNull();
    expect(final.status).toBe('SUCCEEDED');
    const rows = await resultRowsOf(final);
    expect(rows.map((row) => row.line)).toEqual(Array.from({ length: ROWS }, (_, at) => String(at + 1)));
    expect(rows[0]?.reference).toBe('REF-000001');
    expect(new Set(rows.map((row) => row.card_id)).size).toBe(ROWS);
    expect(await cardCount()).toBe(ROWS);
    ranBatch = final;
  }, 200_000);
});

describe("an accepted batch's invoice summary", () => {
  const day = () => new Date().toISOString().slice(0, 10);

  it('is listed for finance by acceptance day: count, total, currency, program, customer, who asked', async () => {
    const batch = ranBatch;
    if (!batch) throw new Error('the JSON batch did not run');
    const listed = await request<{ items: Record<string, unknown>[]; nextCursor: string | null }>(
      'GET',
      `/v1/reports/bulk-invoices?from=${day()}&to=${day()}`,
      { token: finance },
    );
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    const invoice = listed.body.items.find((item) => item.batchId === batch.id);
    expect(invoice).toMatchObject({
      count: ROWS,
      totalMinor: batch.totalMinor,
      currency: 'USD',
      programId,
      customerName: 'Acme Ltd',
      requestedBy: { type: 'staff' },
      merchantId: null,
    });
    // The refused batch is not invoiced; nothing before the range is listed.
    expect(listed.body.items).toHaveLength(1);
    const before = await request<{ items: unknown[] }>(
      'GET',
      '/v1/reports/bulk-invoices?from=2026-01-01&to=2026-01-31',
      { token: finance },
    );
    expect(before.body.items).toEqual([]);
    expect(
      (await request('GET', `/v1/reports/bulk-invoices?from=${day()}&to=${day()}`, { token: support }))
        .status,
    ).toBe(403);
  });

  it("is a row of the finance export's bulk-invoices file for its period", async () => {
    const batch = ranBatch;
    if (!batch) throw new Error('the JSON batch did not run');
    const from = `${day()}T00:00:00.000Z`;
    const file = await writeBulkInvoiceFile('exports/test/bulk-invoices/', from, new Date().toISOString());
    expect(file).toMatchObject({ name: 'bulk-invoices.csv.gz', rows: 1 });
    const object = await s3().send(new GetObjectCommand({ Bucket: exportBucket(), Key: file.key }));
    const rows = readCsv(
      gunzipSync((await object.Body?.transformToByteArray()) ?? new Uint8Array()).toString('utf8'),
    );
    expect(rows).toEqual([
      expect.objectContaining({
        batch_id: batch.id,
        program_id: programId,
        currency: 'USD',
        count: String(ROWS),
        total: String(batch.totalMinor),
        customer_name: 'Acme Ltd',
        requested_by_type: 'staff',
      }),
    ]);
    const empty = await writeBulkInvoiceFile('exports/test/bulk-invoices-none/', from, from);
    expect(empty.rows).toBe(0);
  });
});

describe("a program's e-gift designs", () => {
  const order = (designId: string) =>
    request<{ code?: string; errors?: { field: string }[] }>('POST', '/v1/egift-orders', {
      token: stack.demo?.staffTokens.admin ?? '',
      headers: { 'Idempotency-Key': `design-${designId}-${Math.random()}` },
      body: {
        programId,
        amount: 1_000,
        recipient: { email: 'designs@example.com' },
        senderName: 'Acme',
        designId,
      },
    });

  it('are set on the program; an order naming another is VALIDATION_FAILED on designId, one naming a listed one issues', async () => {
    const noDesigns = await order('birthday');
    expect(noDesigns.status).toBe(400);
    expect(noDesigns.body.code).toBe('VALIDATION_FAILED');
    expect(noDesigns.body.errors?.map((error) => error.field)).toEqual(['designId']);
    const patched = await request<{ designs?: string[] }>('PATCH', `/v1/programs/${programId}`, {
      token: stack.demo?.staffTokens.admin ?? '',
      body: { designs: ['birthday', 'thank-you'] },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.designs).toEqual(['birthday', 'thank-you']);
    const before = await cardCount();
    const unknown = await order('wedding');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.map((error) => error.field)).toEqual(['designId']);
    expect(await cardCount()).toBe(before);
    expect((await order('thank-you')).status).toBe(201);
    expect(await cardCount()).toBe(before + 1);
  });
});

describe('the bulk-resume job', () => {
  const RESUME_ROWS = 200;
  /** The runner dies for good after this many group transactions: the next commits, then it and every later one fails. */
  const HEALTHY_TRANSACTIONS = 4;

  it('resumes a batch whose runner crashed once its progress stood still, to the end, no card twice', async () => {
    const program = await request<{ id: string }>('POST', '/v1/programs', {
      token: stack.demo?.staffTokens.admin ?? '',
      body: { name: `Bulk resume ${Date.now()}`, currency: 'USD', maxLoad: 100_000, maxBalance: 100_000 },
    });
    expect(program.status).toBe(201);
    const send = DynamoDBDocumentClient.prototype.send as (...args: unknown[]) => Promise<unknown>;
    let transactions = 0;
    let faults = 0;
    let broken = true;
    const spy = vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(async function (
      this: DynamoDBDocumentClient,
      ...args: unknown[]
    ) {
      if (!(args[0] instanceof TransactWriteCommand) || !broken) return send.apply(this, args);
      // Counted as they start: the runner has GROUPS_IN_FLIGHT group transactions in flight at once.
      const started = ++transactions;
      if (started > HEALTHY_TRANSACTIONS + 1) {
        faults++;
        throw new Error('injected crash: the runner is gone');
      }
      const answer = await send.apply(this, args);
      if (started === HEALTHY_TRANSACTIONS + 1) {
        faults++;
        throw new Error('injected crash: the runner died after a write');
      }
      return answer;
    } as typeof DynamoDBDocumentClient.prototype.send);
    let batch: BatchAnswer;
    try {
      batch = await jsonBatch(bulkJsonFile(RESUME_ROWS), program.body.id);
      expect(batch.status).toBe('RUNNING');
      // The runner crashes, and every retry of it fails: wait until they are spent (no new fault for 2 s).
      for (let attempt = 0; faults === 0 && attempt < 600; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (let seen = -1, attempt = 0; seen !== faults && attempt < 60; attempt++) {
        seen = faults;
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      const stuck = await batchNow(batch.id);
      expect(stuck.status).toBe('RUNNING');
      const issuedBeforeResume = (await cardsOf(program.body.id)).length;
      expect(issuedBeforeResume).toBeGreaterThan(0);
      expect(issuedBeforeResume).toBeLessThan(RESUME_ROWS);
      // Its progress moved moments ago: not stuck yet, so not resumed.
      expect((await stack.scheduler.runNow('bulk-resume', new Date())).changed).toBe(0);
    } finally {
      broken = false;
      spy.mockRestore();
    }
    const later = new Date(Date.now() + (BULK_STALL_MINUTES + 1) * 60_000);
    const resumed = await stack.scheduler.runNow('bulk-resume', later);
    expect(resumed).toMatchObject({ changed: 1, failed: 0 });
    let final = await batchNow(batch.id);
    for (let attempt = 0; attempt < 600 && final.status === 'RUNNING'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      final = await batchNow(batch.id);
    }
    expect(final.error).toBeNull();
    expect(final.status).toBe('SUCCEEDED');
    const rows = await resultRowsOf(final);
    expect(rows).toHaveLength(RESUME_ROWS);
    const fileCards = new Set(rows.map((row) => row.card_id));
    expect(fileCards.size).toBe(RESUME_ROWS);
    const cards = await cardsOf(program.body.id);
    expect(cards).toHaveLength(RESUME_ROWS);
    expect(new Set(cards)).toEqual(fileCards);
    // Ended: the job has nothing left to resume.
    expect((await stack.scheduler.runNow('bulk-resume', later)).changed).toBe(0);
  }, 240_000);
});
