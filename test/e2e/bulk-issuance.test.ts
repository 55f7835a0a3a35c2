import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CHUNK_ROWS, CHUNKS_IN_FLIGHT, GROUP_ROWS } from '../../functions/core/bulk/bulk-batch-model';
import { readCsv } from '../../functions/core/csv-read';
import type { LocalStack } from '../../local/stack';
import { bulkCsvFile, type CustomerKeys, customerKeyPair } from '../support/bulk-csv-file';
import { programCardIds, request } from '../support/http';
import { type CapturedOutput, captureOutput } from '../support/log-capture';
import { startTestStack } from '../support/stack';

/**
 * Bulk issuance end to end (issue #19) through the local API, s3rver and the in-process runner: a 10,000-
 * row file with 3 bad rows is refused up front with each problem by line and field and nothing created;
 * the corrected file runs to the end through one crash in the middle (a DynamoDB failure while a chunk's
 * cards are being issued, so some of its rows committed and some did not), and every row has exactly one
 * card, in the result file encrypted to the customer's key. The runner reads the file only as it goes: at
 * each chunk it records, it has read at most CHUNKS_IN_FLIGHT chunks (and one S3 body chunk) past it, so
 * what it holds does not grow with the rows. No log line, at any level, holds a claim
 * link's token or (for a batch whose result file carries codes) a card code.
 */
const ROWS = 10_000;
/** Mid-run: groups of 16 rows, 625 transactions in all (chunk 40 of 79 or so). */
const CRASH_AT_TRANSACTION = 321;
let stack: LocalStack;
let admin: string;
let support: string;
let programId: string;
let keys: CustomerKeys;

interface BatchAnswer {
  id: string;
  status: string;
  rows: number;
  totalMinor: number;
  problems: { line: number; field: string; message: string }[];
  moreProblems: number;
  progress: { chunks: number; chunksDone: number; rowsDone: number };
  resultFile: { rows: number; url: string; recipientFingerprint: string } | null;
  error: string | null;
}

const logged: string[] = [];
let output: CapturedOutput | undefined;

// Before any module (the Powertools logger included) is loaded: the handlers and the runner log at DEBUG.
vi.hoisted(() => {
  process.env.LOG_LEVEL = 'DEBUG';
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
});

const loggedLinesHolding = (secret: string) => logged.filter((line) => line.includes(secret));

beforeAll(async () => {
  // Every line written from here on is kept: none may hold a secret.
  output = captureOutput(logged);
  // No stream consumers: 10,000 cards' entries would keep them busy on the same two cores, and nothing
  // here reads what they write.
  stack = await startTestStack({ consumers: [] });
  if (!stack.demo) throw new Error('no demo');
  admin = stack.demo.staffTokens.admin;
  support = stack.demo.staffTokens.support;
  const program = await request<{ id: string }>('POST', '/v1/programs', {
    token: admin,
    body: { name: `Bulk ${Date.now()}`, currency: 'USD', maxLoad: 100_000, maxBalance: 100_000 },
  });
  expect(program.status, JSON.stringify(program.body)).toBe(201);
  programId = program.body.id;
  keys = await customerKeyPair();
}, 60_000);
afterAll(async () => {
  output?.restore();
  delete process.env.LOG_LEVEL;
  delete process.env.POWERTOOLS_LOG_LEVEL;
  await stack?.stop();
});

async function openBatch(output = 'CLAIM_LINKS'): Promise<{ id: string; uploadUrl: string }> {
  const opened = await request<{ batch: BatchAnswer; uploadUrl: string }>('POST', '/v1/bulk-batches', {
    token: support,
    headers: { 'Idempotency-Key': `bulk-${Math.random()}` },
    body: { programId, customerName: 'Acme Ltd', output, recipientKey: keys.publicKey },
  });
  expect(opened.status, JSON.stringify(opened.body)).toBe(201);
  expect(opened.body.batch.status).toBe('AWAITING_FILE');
  return { id: opened.body.batch.id, uploadUrl: opened.body.uploadUrl };
}

/** Rows an S3 body chunk of the input file may hold beyond the rows the runner asked for (64 KiB / 64). */
const ROWS_IN_ONE_BODY_CHUNK = 1_024;

/**
 * Counts the input file's lines each reader of it has pulled (the validation's, then the runner's):
 * every GetObject of a `input.csv` key gets a body that counts as it is read.
 */
function watchInputReads(): { linesRead: () => number; restore: () => void } {
  let lines = 0;
  const send = S3Client.prototype.send as (...args: unknown[]) => Promise<unknown>;
  const spy = vi.spyOn(S3Client.prototype, 'send').mockImplementation(async function (
    this: S3Client,
    ...args: unknown[]
  ) {
    const answer = (await send.apply(this, args)) as { Body?: AsyncIterable<Uint8Array> };
    const [command] = args;
    if (!(command instanceof GetObjectCommand) || !command.input.Key?.endsWith('input.csv') || !answer.Body) {
      return answer;
    }
    const body = answer.Body;
    lines = 0;
    return {
      ...answer,
      Body: (async function* () {
        for await (const chunk of body) {
          for (const byte of chunk) if (byte === 0x0a) lines++;
          yield chunk;
        }
      })(),
    };
  } as typeof S3Client.prototype.send);
  return { linesRead: () => lines, restore: () => spy.mockRestore() };
}

async function upload(url: string, file: AsyncIterable<Uint8Array>): Promise<void> {
  const parts: Uint8Array[] = [];
  for await (const chunk of file) parts.push(chunk);
  const response = await fetch(url, {
    method: 'PUT',
    body: Buffer.concat(parts),
    headers: { 'Content-Type': 'text/csv' },
  });
  expect(response.status).toBe(200);
}

const submit = (id: string) =>
  request<BatchAnswer>('POST', `/v1/bulk-batches/${id}/submit`, { token: support, body: {} });

async function resultRows(url: string): Promise<Record<string, string>[]> {
  const encrypted = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const { data } = await openpgp.decrypt({
    message: await openpgp.readMessage({ binaryMessage: encrypted }),
    decryptionKeys: keys.privateKey,
    format: 'binary',
  });
  return readCsv(Buffer.from(data as Uint8Array).toString('utf8'));
}

const cardsOfProgram = () => programCardIds(support, programId);

async function finished(id: string): Promise<{ final: BatchAnswer; seenInProgress: boolean }> {
  let seenInProgress = false;
  // A bound on waiting, generous for a loaded 2-core machine (about 200 s here alone), not a figure.
  for (let attempt = 0; attempt < 3_600; attempt++) {
    const answer = await request<BatchAnswer>('GET', `/v1/bulk-batches/${id}`, { token: support });
    expect(answer.status).toBe(200);
    const { progress } = answer.body;
    if (progress.rowsDone > 0 && progress.rowsDone < ROWS) seenInProgress = true;
    if (answer.body.status !== 'RUNNING') return { final: answer.body, seenInProgress };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the batch did not finish in 900 s');
}

describe('a 10,000-row bulk batch', () => {
  it('with 3 bad rows is refused up front, each problem by line and field, and creates nothing', async () => {
    const { id, uploadUrl } = await openBatch();
    await upload(
      uploadUrl,
      bulkCsvFile(ROWS, {
        cells: (row, cells) =>
          row === 17
            ? { ...cells, amount: '12.50' }
            : row === 4_321
              ? { ...cells, email: 'not-an-address' }
              : row === 9_999
                ? { ...cells, reference: 'REF-000017' }
                : cells,
      }),
    );
    const refused = await submit(id);
    expect(refused.status, JSON.stringify(refused.body)).toBe(200);
    expect(refused.body.status).toBe('REFUSED');
    expect(refused.body.problems.map(({ line, field }) => ({ line, field }))).toEqual([
      { line: 18, field: 'amount' },
      { line: 4_322, field: 'recipient_email' },
      { line: 10_000, field: 'reference' },
    ]);
    expect(refused.body.moreProblems).toBe(0);
    expect(await cardsOfProgram()).toEqual([]);
    // Submitting again judges nothing twice.
    expect((await submit(id)).body.status).toBe('REFUSED');
  }, 60_000);

  it('corrected, runs to the end through a crash mid-chunk, one card per row, in the encrypted result file', async () => {
    const { id, uploadUrl } = await openBatch();
    await upload(uploadUrl, bulkCsvFile(ROWS));
    // The crash: the runner dies right after one group of a chunk committed its cards, while the chunk's
    // other groups may or may not have; it is run again (as Lambda retries an asynchronous invocation).
    const send = DynamoDBDocumentClient.prototype.send as (...args: unknown[]) => Promise<unknown>;
    let transactions = 0;
    let crashed = false;
    const reads = watchInputReads();
    /** How far the file was read past the rows recorded done, at each chunk recorded. */
    const linesAhead: number[] = [];
    const spy = vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(async function (
      this: DynamoDBDocumentClient,
      ...args: unknown[]
    ) {
      // The progress update of finishChunk (store/bulk-batches.ts): chunksDone moves to `:next`.
      const [command] = args;
      const next =
        command instanceof UpdateCommand && command.input.UpdateExpression?.includes('chunksDone = :next')
          ? command.input.ExpressionAttributeValues?.[':next']
          : undefined;
      if (typeof next === 'number') linesAhead.push(reads.linesRead() - next * CHUNK_ROWS);
      const answer = await send.apply(this, args);
      if (args[0] instanceof TransactWriteCommand && ++transactions === CRASH_AT_TRANSACTION && !crashed) {
        crashed = true;
        throw new Error('injected crash: the runner died after a write');
      }
      return answer;
    } as typeof DynamoDBDocumentClient.prototype.send);
    try {
      const accepted = await submit(id);
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
      expect(accepted.body).toMatchObject({ status: 'RUNNING', rows: ROWS, problems: [] });
      const { final, seenInProgress } = await finished(id);
      expect(final.error).toBeNull();
      expect(final.status).toBe('SUCCEEDED');
      expect(seenInProgress).toBe(true);
      expect(crashed).toBe(true);
      const chunks = Math.ceil(ROWS / CHUNK_ROWS);
      expect(final.progress).toEqual({ chunks, chunksDone: chunks, rowsDone: ROWS });
      expect(final.resultFile?.rows).toBe(ROWS);
      expect(final.resultFile?.recipientFingerprint).toBe(keys.privateKey.getFingerprint());

      const rows = await resultRows(final.resultFile?.url ?? '');
      expect(Object.keys(rows[0] ?? {})).toEqual([
        'line',
        'reference',
        'card_id',
        'last4',
        'amount',
        'claim_link',
        'code',
        'delivery',
      ]);
      expect(rows).toHaveLength(ROWS);
      expect(new Set(rows.map((row) => row.reference)).size).toBe(ROWS);
      expect(rows[0]).toMatchObject({ line: '2', reference: 'REF-000001', code: '' });
      for (const row of rows) expect(row.claim_link).toMatch(/\/portal\/claim#token=[A-Za-z0-9_-]{43}$/);
      const fileCards = new Set(rows.map((row) => row.card_id));
      expect(fileCards.size).toBe(ROWS);

      // No card was created twice: the program holds exactly the file's cards.
      const cards = await cardsOfProgram();
      expect(cards).toHaveLength(ROWS);
      expect(new Set(cards)).toEqual(fileCards);

      // The runner's crash was logged; no claim link's token was.
      expect(logged.some((line) => line.includes('injected crash'))).toBe(true);
      const tokens = rows.map((row) => row.claim_link?.split('#token=')[1] ?? '');
      expect(tokens.filter((token) => token.length !== 43)).toEqual([]);
      expect(tokens.flatMap(loggedLinesHolding)).toEqual([]);

      // Rows held are bounded by the chunks in flight, not the file: never the whole file read ahead.
      expect(linesAhead.length).toBeGreaterThanOrEqual(chunks);
      // The count saw the runner's reads (the runner reads a few chunks ahead of what it records).
      expect(Math.max(...linesAhead)).toBeGreaterThan(0);
      expect(Math.max(...linesAhead)).toBeLessThanOrEqual(
        (CHUNKS_IN_FLIGHT + 1) * CHUNK_ROWS + ROWS_IN_ONE_BODY_CHUNK,
      );
    } finally {
      spy.mockRestore();
      reads.restore();
    }
  }, 1_000_000);

  it('carrying codes for a customer who hands them out: the codes are in the file and in no log line', async () => {
    const { id, uploadUrl } = await openBatch('CODES');
    await upload(
      uploadUrl,
      bulkCsvFile(2 * GROUP_ROWS, { cells: (row, cells) => ({ ...cells, reference: `C-${row}` }) }),
    );
    expect((await submit(id)).body.status).toBe('RUNNING');
    const { final } = await finished(id);
    expect(final.status).toBe('SUCCEEDED');
    const rows = await resultRows(final.resultFile?.url ?? '');
    expect(rows).toHaveLength(2 * GROUP_ROWS);
    const codes = rows.map((row) => row.code ?? '');
    expect(codes.filter((code) => code.length < 8)).toEqual([]);
    expect(new Set(codes).size).toBe(2 * GROUP_ROWS);
    expect(logged.length).toBeGreaterThan(0);
    expect(codes.flatMap(loggedLinesHolding)).toEqual([]);
  }, 120_000);
});
