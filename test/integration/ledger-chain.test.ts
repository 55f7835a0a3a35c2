import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyExport } from '../../functions/app/export-verify';
import { verifyCard, verifyProgram } from '../../functions/app/ledger-verify';
import { resetConfigForTests } from '../../functions/config';
import { monthPeriod } from '../../functions/core/export-period';
import type { LedgerEntry } from '../../functions/core/ledger';
import { entryHash } from '../../functions/core/ledger-chain';
import { runExport } from '../../functions/exports/runner';
import { db, tableName } from '../../functions/store/dynamo-client';
import { findExportRun, openExportRun } from '../../functions/store/export-runs';
import { cardKey, entryKey } from '../../functions/store/keys';
import { exportBucket, s3 } from '../../functions/store/s3-client';
import { loadOrCreateExportSigningKey } from '../../local/export-signing-key';
import { type S3Local, startS3Local } from '../../local/s3';
import { issueCard, operateOnCard } from '../support/cards';
import { everyone, everyProgram, makeProgram, staffContext } from '../support/fixtures';
import { resetHandlerState } from '../support/reset';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * The hash chain against DynamoDB Local and s3rver: tampering with stored items (as anyone with table
 * access could) is caught and the entry named; legacy cards join the chain; a month's export signs the
 * heads, a tampered balances file is caught, and the next month proves continuity.
 */
let table: TestTable;
let s3Local: S3Local;
let dir: string;
let programId: string;

beforeAll(async () => {
  table = await createTestTable('chain');
  await testEnv();
  dir = mkdtempSync(join(tmpdir(), 'chain-'));
  s3Local = await startS3Local({ port: 0, directory: join(dir, 's3') });
  process.env.S3_ENDPOINT = s3Local.endpoint;
  process.env.EXPORT_BUCKET_NAME = s3Local.bucket;
  process.env.EXPORT_SIGNING_KEY_PEM = loadOrCreateExportSigningKey(join(dir, 'key.pem'));
  process.env.EXPORT_SEGMENTS = '2';
  resetConfigForTests();
  resetHandlerState();
  programId = (await makeProgram()).id;
});
afterAll(async () => {
  for (const name of ['S3_ENDPOINT', 'EXPORT_BUCKET_NAME', 'EXPORT_SIGNING_KEY_PEM', 'EXPORT_SEGMENTS']) {
    delete process.env[name];
  }
  await s3Local?.stop();
  rmSync(dir, { recursive: true, force: true });
  await table.drop();
});

const at = (iso: string) => staffContext({ now: new Date(iso) });

/** A card with entries 1..4: ISSUE, ACTIVATE 5000, REDEEM 1000 (4000), LOAD 700 (4700). */
async function cardWithHistory(when = '2026-09-10T10:00:00Z'): Promise<string> {
  const { card } = await issueCard(
    programId,
    { type: 'DIGITAL', amount: 5000, activate: true },
    at(when),
    undefined,
    everyProgram,
  );
  for (const request of [
    { type: 'REDEEM', amount: 1000 },
    { type: 'LOAD', amount: 700 },
  ] as const) {
    await operateOnCard(card.id, request, at(when), undefined, everyone);
  }
  return card.id;
}

const rawEntry = async (cardId: string, seq: number) =>
  (await db().send(new GetCommand({ TableName: tableName(), Key: entryKey(cardId, seq) }))).Item as Record<
    string,
    unknown
  >;
const putRaw = (item: Record<string, unknown>) =>
  db().send(new PutCommand({ TableName: tableName(), Item: item }));
/** The entry's stored hash recomputed over its (edited) content, as a careful forger would. */
const rehashed = (item: Record<string, unknown>) => {
  const { PK: _pk, SK: _sk, hash: _hash, ...content } = item;
  return { ...item, hash: entryHash(content as unknown as LedgerEntry) };
};

describe('the hash chain in the table', () => {
  it('chains every entry and keeps the head on the card; the verifier finds it whole', async () => {
    const cardId = await cardWithHistory();
    const report = await verifyCard(cardId);
    expect(report).toMatchObject({ cardId, entries: 4, head: { seq: 4 } });
    expect(report.broken).toBeUndefined();
    expect(report.legacy).toBeUndefined();
    const card = (await db().send(new GetCommand({ TableName: tableName(), Key: cardKey(cardId) }))).Item;
    expect(card?.chainHash).toBe((await rawEntry(cardId, 4)).hash);
    expect((await rawEntry(cardId, 2)).prevHash).toBe((await rawEntry(cardId, 1)).hash);
  });

  it('catches an edited amount, a deleted entry, two reordered entries, and a rewritten entry and balance', async () => {
    const [edited, deleted, reordered, middle, last] = (await Promise.all(
      Array.from({ length: 5 }, () => cardWithHistory()),
    )) as [string, string, string, string, string];
    await putRaw({ ...(await rawEntry(edited, 3)), amount: -10 });
    expect((await verifyCard(edited)).broken).toMatchObject({
      cardId: edited,
      seq: 3,
      problem: expect.stringContaining('does not match its hash'),
    });

    await db().send(new DeleteCommand({ TableName: tableName(), Key: entryKey(deleted, 3) }));
    expect((await verifyCard(deleted)).broken).toMatchObject({
      seq: 3,
      problem: 'entry 3 is missing (deleted)',
    });

    const [second, third] = [await rawEntry(reordered, 2), await rawEntry(reordered, 3)];
    await putRaw({ ...third, ...entryKey(reordered, 2) });
    await putRaw({ ...second, ...entryKey(reordered, 3) });
    expect((await verifyCard(reordered)).broken).toMatchObject({
      seq: 2,
      problem: expect.stringContaining('reordered'),
    });

    // A middle entry and the next one's balance rewritten consistently, their own hashes recomputed.
    await putRaw(
      rehashed({ ...(await rawEntry(middle, 3)), amount: -100, balanceAfter: 4900, availableAfter: 4900 }),
    );
    await putRaw(rehashed({ ...(await rawEntry(middle, 4)), balanceAfter: 5600, availableAfter: 5600 }));
    expect((await verifyCard(middle)).broken).toMatchObject({
      seq: 3,
      problem: expect.stringContaining('entry 3 was rewritten'),
    });

    // The last entry and the card's balance together, the entry's hash recomputed but not the head.
    await putRaw(
      rehashed({ ...(await rawEntry(last, 4)), amount: 600, balanceAfter: 4600, availableAfter: 4600 }),
    );
    const card = (await db().send(new GetCommand({ TableName: tableName(), Key: cardKey(last) }))).Item ?? {};
    await putRaw({ ...card, balance: 4600, available: 4600 });
    expect((await verifyCard(last)).broken).toMatchObject({
      seq: 4,
      problem: expect.stringContaining("not the card's head"),
    });
  });

  it("verifies a program's cards: names the one tampered card and its entry, the others pass", async () => {
    const ownProgram = (await makeProgram()).id;
    const cards: string[] = [];
    for (let index = 0; index < 4; index++) {
      const { card } = await issueCard(
        ownProgram,
        { type: 'DIGITAL', amount: 5000, activate: true },
        at('2026-09-10T10:00:00Z'),
        undefined,
        everyProgram,
      );
      await operateOnCard(
        card.id,
        { type: 'REDEEM', amount: 1000 },
        at('2026-09-10T10:00:00Z'),
        undefined,
        everyone,
      );
      cards.push(card.id);
    }
    expect(await verifyProgram(ownProgram)).toMatchObject({
      ok: true,
      cards: 4,
      entries: 12,
      breaksFound: 0,
    });

    const tampered = cards[2] as string;
    await putRaw({ ...(await rawEntry(tampered, 3)), amount: -999 });
    const progress: number[] = [];
    const verdict = await verifyProgram(ownProgram, { onProgress: (p) => progress.push(p.done) });
    // The tampered card's entries are counted up to its break (2 of 3).
    expect(verdict).toMatchObject({ ok: false, cards: 4, entries: 11, breaksFound: 1 });
    expect(verdict.broken).toEqual({
      cardId: tampered,
      seq: 3,
      problem: expect.stringContaining('does not match its hash'),
    });
    expect(verdict.breaks).toEqual([verdict.broken]);
    expect(progress.at(-1)).toBe(4);
    for (const cardId of cards.filter((id) => id !== tampered)) {
      expect((await verifyCard(cardId)).broken).toBeUndefined();
    }
  });

  it('reports a legacy card as such, chains it from its next entry, and catches a stripped hash', async () => {
    const cardId = await cardWithHistory();
    // As written before the chain: no hashes, no head.
    for (let seq = 1; seq <= 4; seq++) {
      const { hash: _h, prevHash: _p, ...legacy } = await rawEntry(cardId, seq);
      await putRaw(legacy);
    }
    const { chainHash: _c, ...card } =
      (await db().send(new GetCommand({ TableName: tableName(), Key: cardKey(cardId) }))).Item ?? {};
    await putRaw(card);
    expect(await verifyCard(cardId)).toMatchObject({ legacy: { from: 1, to: 4 }, head: { seq: 4 } });
    expect((await verifyCard(cardId)).broken).toBeUndefined();

    await operateOnCard(
      cardId,
      { type: 'REDEEM', amount: 100 },
      at('2026-09-11T10:00:00Z'),
      undefined,
      everyone,
    );
    const joined = await verifyCard(cardId);
    expect(joined).toMatchObject({
      legacy: { from: 1, to: 4 },
      entries: 5,
      head: { seq: 5, hash: (await rawEntry(cardId, 5)).hash },
    });
    expect(joined.broken).toBeUndefined();
    expect((await verifyCard(cardId, { chainedSince: '2026-09-01T00:00:00Z' })).broken).toMatchObject({
      seq: 1,
    });

    await operateOnCard(
      cardId,
      { type: 'REDEEM', amount: 100 },
      at('2026-09-11T10:00:00Z'),
      undefined,
      everyone,
    );
    const { hash: _h, prevHash: _p, ...stripped } = await rawEntry(cardId, 6);
    await putRaw(stripped);
    expect((await verifyCard(cardId)).broken).toMatchObject({
      seq: 6,
      problem: expect.stringContaining('hash was removed'),
    });
  });
});

async function monthlyExport(month: string): Promise<string> {
  const period = monthPeriod(month, 'UTC');
  const region = process.env.AWS_REGION ?? 'local';
  const { run } = await openExportRun(period, region, { type: 'staff', id: 'test' }, new Date());
  await runExport(run.id);
  expect((await findExportRun(run.id))?.status).toBe('SUCCEEDED');
  return run.id;
}

async function objectBytes(key: string): Promise<Buffer> {
  const out = await s3().send(new GetObjectCommand({ Bucket: exportBucket(), Key: key }));
  return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
}

describe('signed export roots', () => {
  // A table of its own: the tampered cards above would (rightly) fail an export of theirs.
  let exportTable: TestTable;
  beforeAll(async () => {
    exportTable = await createTestTable('chain-export');
    resetHandlerState();
    programId = (await makeProgram()).id;
  });
  afterAll(async () => exportTable.drop());

  it('signs the heads, catches a tampered balances file, and proves continuity month to month', async () => {
    await cardWithHistory('2026-05-10T10:00:00Z');
    const may = await monthlyExport('2026-05');
    const mayVerdict = await verifyExport(may);
    expect(mayVerdict.problems).toEqual([]);
    expect(mayVerdict.ok).toBe(true);

    await cardWithHistory('2026-06-03T10:00:00Z');
    const juneExport = await monthlyExport('2026-06');
    const progress: string[] = [];
    const verdict = await verifyExport(juneExport, { onProgress: (p) => progress.push(p.phase) });
    expect(verdict).toMatchObject({ ok: true, problems: [] });
    expect(progress).toContain('cards');
    const manifest = JSON.parse(
      (await objectBytes(`${(await findExportRun(juneExport))?.keyPrefix}manifest.json`)).toString(),
    );
    expect(manifest.chain.statement.previous).toMatchObject({ exportId: may });
    expect(manifest.chain.signature).toMatchObject({
      algorithm: 'ECDSA_SHA_256',
      keyId: expect.stringMatching(/^local:/),
    });

    // One balance changed in the file: the file's signed checksum and its part's root both disagree.
    const part = manifest.files.find(
      (file: { name: string; rows: number }) => file.name.startsWith('balances/') && file.rows > 0,
    );
    const lines = gunzipSync(await objectBytes(part.key))
      .toString()
      .split('\r\n');
    // card_id, program_id, currency, balance, ...: one more unit of balance on the first row.
    lines[1] = (lines[1] ?? '').replace(
      /^([^,]*,[^,]*,[^,]*,)(\d+)/,
      (_m, head: string, balance: string) => `${head}${Number(balance) + 1}`,
    );
    await s3().send(
      new PutObjectCommand({ Bucket: exportBucket(), Key: part.key, Body: gzipSync(lines.join('\r\n')) }),
    );
    const tampered = await verifyExport(juneExport);
    expect(tampered.ok).toBe(false);
    expect(tampered.problems.join('\n')).toContain(`file ${part.name}: its SHA-256 is not the signed one`);
    expect(tampered.problems.join('\n')).toContain(`file ${part.name}: its rows give root`);
  });
});
