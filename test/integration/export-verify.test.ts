import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headsOfPart, verifyExport } from '../../functions/app/export-verify';
import { resetConfigForTests } from '../../functions/config';
import { csvRow } from '../../functions/core/csv';
import { readCsv } from '../../functions/core/csv-read';
import { BALANCE_COLUMNS } from '../../functions/core/export-ledger';
import { monthPeriod } from '../../functions/core/export-period';
import type { LedgerEntry } from '../../functions/core/ledger';
import { entryHash } from '../../functions/core/ledger-chain';
import { headLeaf, MerkleRoot } from '../../functions/core/merkle-root';
import { runExport } from '../../functions/exports/runner';
import { db, tableName } from '../../functions/store/dynamo-client';
import { findExportRun, openExportRun } from '../../functions/store/export-runs';
import { cardKey } from '../../functions/store/keys';
import { exportGzipText, exportObjectSha256 } from '../../functions/store/ledger-chain-reads';
import { exportBucket, s3 } from '../../functions/store/s3-client';
import { loadOrCreateExportSigningKey } from '../../local/export-signing-key';
import { type S3Local, startS3Local } from '../../local/s3';
import { issueCard, operateOnCard } from '../support/cards';
import { everyone, everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { resetHandlerState } from '../support/reset';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * The export verifier (functions/app/export-verify.ts) against DynamoDB Local and s3rver: history
 * rewritten between two monthly exports (consistently, hashes and head recomputed, so only last month's
 * signed head can tell) and a card dropped between them are named with the export; a tampered row and a
 * bad signature in one export are both reported; a balances part is read as a stream, in pieces.
 */
let s3Local: S3Local;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'export-verify-'));
  s3Local = await startS3Local({ port: 0, directory: join(dir, 's3') });
  process.env.S3_ENDPOINT = s3Local.endpoint;
  process.env.EXPORT_BUCKET_NAME = s3Local.bucket;
  process.env.EXPORT_SIGNING_KEY_PEM = loadOrCreateExportSigningKey(join(dir, 'key.pem'));
  process.env.EXPORT_SEGMENTS = '2';
});
afterAll(async () => {
  for (const name of ['S3_ENDPOINT', 'EXPORT_BUCKET_NAME', 'EXPORT_SIGNING_KEY_PEM', 'EXPORT_SEGMENTS']) {
    delete process.env[name];
  }
  await s3Local?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A table of its own per scenario: an export covers every card of its table. */
async function freshTable(prefix: string): Promise<{ table: TestTable; programId: string }> {
  const table = await createTestTable(prefix);
  await testEnv();
  resetConfigForTests();
  resetHandlerState();
  return { table, programId: (await makeProgram()).id };
}

const at = (iso: string) => staffContext({ now: new Date(iso) });

/** Entries 1..4: ISSUE, ACTIVATE 5000, REDEEM 1000 (4000), LOAD 700 (4700), all at `when`. */
async function cardWithHistory(programId: string, when: string): Promise<string> {
  const { card } = await issueCard(
    programId,
    { type: 'DIGITAL', amount: 5000, activate: true },
    at(when),
    undefined,
    everyProgram,
  );
  await operateOnCard(card.id, { type: 'REDEEM', amount: 1000 }, at(when), undefined, everyone);
  await operateOnCard(card.id, { type: 'LOAD', amount: 700 }, at(when), undefined, everyone);
  return card.id;
}

async function monthlyExport(month: string): Promise<string> {
  const period = monthPeriod(month, 'UTC');
  const region = process.env.AWS_REGION ?? 'local';
  const { run } = await openExportRun(period, region, { type: 'staff', id: 'test' }, new Date());
  await runExport(run.id);
  expect((await findExportRun(run.id))?.status).toBe('SUCCEEDED');
  return run.id;
}

const partition = async (cardId: string) =>
  (
    await db().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': cardKey(cardId).PK },
      }),
    )
  ).Items ?? [];
const putRaw = (item: Record<string, unknown>) =>
  db().send(new PutCommand({ TableName: tableName(), Item: item }));

/**
 * What a forger with table access does: entry `seq`'s amount changed, every later balance, link and hash
 * recomputed, the card's balance and head too, so the card's chain is whole again.
 */
async function rewriteConsistently(cardId: string, seq: number, amount: number): Promise<void> {
  const items = await partition(cardId);
  const card = items.find((item) => item.SK === 'CARD') ?? {};
  const entries = items.filter((item) => String(item.SK).startsWith('TX#'));
  let previous = entries[seq - 2] ?? {};
  for (const stored of entries.slice(seq - 1)) {
    const delta = stored.seq === seq ? amount - Number(stored.amount) : 0;
    const balanceAfter = Number(previous.balanceAfter ?? 0) + Number(stored.amount) + delta;
    const edited: Record<string, unknown> = {
      ...stored,
      amount: Number(stored.amount) + delta,
      balanceAfter,
      availableAfter: balanceAfter,
      prevHash: previous.hash,
    };
    const { PK: _pk, SK: _sk, hash: _hash, ...content } = edited;
    previous = { ...edited, hash: entryHash(content as unknown as LedgerEntry) };
    await putRaw(previous);
  }
  await putRaw({
    ...card,
    balance: previous.balanceAfter,
    available: previous.balanceAfter,
    chainHash: previous.hash,
  });
}

async function objectBytes(key: string): Promise<Buffer> {
  const out = await s3().send(new GetObjectCommand({ Bucket: exportBucket(), Key: key }));
  return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
}
const putObject = (key: string, body: Buffer | string) =>
  s3().send(new PutObjectCommand({ Bucket: exportBucket(), Key: key, Body: body }));

describe('continuity from one month to the next', () => {
  let table: TestTable;
  let programId: string;
  beforeAll(async () => ({ table, programId } = await freshTable('verify-continuity')));
  afterAll(async () => table.drop());

  it('names a card whose history March signed was rewritten before April, and a card April dropped', async () => {
    const [kept, rewritten, dropped] = [
      await cardWithHistory(programId, '2026-03-05T10:00:00Z'),
      await cardWithHistory(programId, '2026-03-06T10:00:00Z'),
      await cardWithHistory(programId, '2026-03-07T10:00:00Z'),
    ];
    const march = await monthlyExport('2026-03');
    await operateOnCard(
      kept,
      { type: 'REDEEM', amount: 300 },
      at('2026-04-02T10:00:00Z'),
      undefined,
      everyone,
    );
    expect(await verifyExport(march)).toMatchObject({ ok: true, cards: 3, problems: [] });

    // Between the exports: entry 3 of a card March covered (its head was entry 4) rewritten, the chain
    // recomputed through the head, and a whole card deleted. Each card's chain is whole again.
    await rewriteConsistently(rewritten, 3, -10);
    for (const item of await partition(dropped)) {
      await db().send(new DeleteCommand({ TableName: tableName(), Key: { PK: item.PK, SK: item.SK } }));
    }
    const april = await monthlyExport('2026-04');

    const verdict = await verifyExport(april);
    expect(verdict.ok).toBe(false);
    expect(verdict.cards).toBe(2);
    expect(verdict.breaks).toHaveLength(2);
    expect(verdict.breaks).toEqual(
      expect.arrayContaining([
        {
          cardId: rewritten,
          seq: 4,
          problem: expect.stringMatching(
            new RegExp(
              `^export ${march} signed entry 4 \\(balance 4700, hash [0-9a-f]{64}\\) .*the table holds 5690 [0-9a-f]{64}`,
            ),
          ),
        },
        {
          cardId: dropped,
          seq: 4,
          problem: `in export ${march} (its head entry 4), missing from export ${april}`,
        },
      ]),
    );
    expect(verdict.problems.join('\n')).toContain(`continuity: card ${rewritten} entry 4: export ${march}`);
    expect(verdict.problems.join('\n')).toContain(`continuity: card ${dropped} entry 4: in export ${march}`);
    // April's own files, root and signature are sound: only continuity fails.
    expect(verdict.problems.every((line) => line.startsWith('continuity: '))).toBe(true);
  });

  it('names May when a card May signed is rewritten after it (April, before it, stays consistent)', async () => {
    const cardId = await cardWithHistory(programId, '2026-05-04T10:00:00Z');
    const may = await monthlyExport('2026-05');
    await rewriteConsistently(cardId, 2, 6000);
    const verdict = await verifyExport(may);
    expect(verdict.broken).toMatchObject({
      cardId,
      seq: 4,
      problem: expect.stringContaining(`export ${may} signed entry 4 (balance 4700`),
    });
    expect(verdict.breaks).toHaveLength(1);
  });
});

describe('one export with a tampered row and a bad signature', () => {
  let table: TestTable;
  let programId: string;
  beforeAll(async () => ({ table, programId } = await freshTable('verify-files')));
  afterAll(async () => table.drop());

  it('reports the file, its part root and the signature, and still checks every card', async () => {
    await cardWithHistory(programId, '2026-07-03T10:00:00Z');
    await cardWithHistory(programId, '2026-07-04T10:00:00Z');
    const july = await monthlyExport('2026-07');
    const keyPrefix = (await findExportRun(july))?.keyPrefix ?? '';
    const manifest = JSON.parse((await objectBytes(`${keyPrefix}manifest.json`)).toString());
    const part = manifest.files.find(
      (file: { name: string; rows: number }) => file.name.startsWith('balances/') && file.rows > 0,
    );
    const lines = gunzipSync(await objectBytes(part.key))
      .toString()
      .split('\r\n');
    lines[1] = (lines[1] ?? '').replace(/^([^,]*,[^,]*,[^,]*,)(\d+)/, (_m, head: string) => `${head}1`);
    await putObject(part.key, gzipSync(lines.join('\r\n')));
    const value = Buffer.from(manifest.chain.signature.value, 'base64');
    value[value.length - 1] = (value.at(-1) ?? 0) ^ 0xff;
    manifest.chain.signature.value = value.toString('base64');
    await putObject(`${keyPrefix}manifest.json`, JSON.stringify(manifest));

    const verdict = await verifyExport(july);
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toEqual([
      `export ${july} file ${part.name}: its SHA-256 is not the signed one (changed after the export)`,
      `export ${july} signature: it does not verify over the statement`,
      expect.stringMatching(new RegExp(`^export ${july} file ${part.name}: its rows give root [0-9a-f]{64}`)),
    ]);
    // The tampered row's balance (1) is not what the table holds for that card's head.
    expect(verdict.breaks).toEqual([
      expect.objectContaining({
        seq: 4,
        problem: expect.stringContaining(`export ${july} signed entry 4 (balance 1,`),
      }),
    ]);
    expect(verdict.cards).toBe(2);
  });
});

describe('a balances part read as a stream', () => {
  it('gives the same heads and root as the whole file read at once, from many chunks', async () => {
    const rows = 12_000;
    const lines = [csvRow([...BALANCE_COLUMNS])];
    for (let index = 0; index < rows; index++) {
      const hash = index % 7 === 0 ? undefined : index.toString(16).padStart(64, '0');
      // Quoted cells (a comma, a doubled quote, a line break) land on chunk boundaries somewhere.
      const program = index % 3 === 0 ? `prog "${index}",\r\nx` : `prog_${index}`;
      lines.push(
        csvRow([
          `card_${index}`,
          program,
          'EUR',
          index * 10,
          0,
          `tx_${index}`,
          '2026-07-01T00:00:00.000Z',
          index + 1,
          hash,
        ]),
      );
    }
    const text = lines.join('');
    const key = 'streaming-test/balances/part-0000.csv.gz';
    await putObject(key, gzipSync(text));
    expect(gzipSync(text).length).toBeGreaterThan(8 * 10_007);

    const whole = new MerkleRoot();
    for (const row of readCsv(text)) {
      whole.add(
        headLeaf({
          cardId: row.card_id ?? '',
          currency: row.currency ?? '',
          balance: Number(row.balance),
          chainSeq: Number(row.chain_seq),
          chainHash: row.chain_hash || undefined,
        }),
      );
    }
    const streamed = new MerkleRoot();
    let last: { cardId: string; seq: number } | undefined;
    for await (const head of headsOfPart(key)) {
      streamed.add(headLeaf({ ...head, chainSeq: head.seq, chainHash: head.hash }));
      last = head;
    }
    // The same file fetched in ranges of 10,007 bytes: gzip cut anywhere, one inflater across them.
    const gzip = gzipSync(text);
    let chunks = 0;
    let unzipped = '';
    for await (const chunk of exportGzipText(key, 10_007)) {
      chunks += 1;
      unzipped += chunk;
    }
    expect(unzipped).toBe(text);
    expect(chunks).toBeGreaterThan(Math.ceil(gzip.length / 10_007) - 1);
    expect(await exportObjectSha256(key, 10_007)).toBe(createHash('sha256').update(gzip).digest('hex'));

    expect(streamed.leaves).toBe(rows);
    expect(streamed.root()).toBe(whole.root());
    expect(last).toMatchObject({ cardId: `card_${rows - 1}`, seq: rows });
  });
});
