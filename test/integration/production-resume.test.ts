import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPrinter } from '../../functions/app/production-orders';
import { cardIdsOfRange } from '../../functions/app/production-packaging';
import { runProductionOrder } from '../../functions/app/production-run';
import { resetConfigForTests } from '../../functions/config';
import { planIssue } from '../../functions/core/card';
import { cardIdForCode } from '../../functions/core/card-code';
import { readCsv } from '../../functions/core/csv-read';
import { chunkCount, type ProductionOrder } from '../../functions/core/production/production-order';
import { db, tableName } from '../../functions/store/dynamo-client';
import { batchGet } from '../../functions/store/listing';
import { commitCardBatch } from '../../functions/store/production-cards';
import { createOrder, findOrder, orderChunks } from '../../functions/store/production-orders';
import { resetS3ForTests, s3 } from '../../functions/store/s3-client';
import { codePeppers } from '../../functions/store/secrets';
import { type S3Local, startS3Local } from '../../local/s3';
import { makeProgram } from '../support/fixtures';
import { createTestTable, type TestTable, testEnv } from '../support/table';

/**
 * A production order that crashes midway resumes without a card made twice and without a card whose
 * code nobody has (functions/app/production-chunk.ts): chunk 2's cards are committed, then the run dies
 * before their file part is written. The order is FAILED; a second run voids the cards that attempt
 * committed (DEACTIVATED: their codes were never printed), draws chunk 2 again, finishes the rest, and
 * the printer file names every sequence exactly once, each code a PENDING card of the order.
 */
const BUCKET = 'production-resume-test';
const CHUNK_CARDS = 40;
const CARDS = 130;

let table: TestTable;
let s3Local: S3Local;
let dir: string;
let keys: { publicKey: string; privateKey: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'production-resume-'));
  s3Local = await startS3Local({ port: 0, directory: join(dir, 's3'), bucket: BUCKET });
  table = await createTestTable('production');
  await testEnv({ tableName: table.tableName });
  Object.assign(process.env, {
    S3_ENDPOINT: s3Local.endpoint,
    PRINTER_FILE_BUCKET_NAME: BUCKET,
    PRODUCTION_CHUNK_CARDS: String(CHUNK_CARDS),
  });
  resetConfigForTests();
  resetS3ForTests();
  keys = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Resume test printer' }],
    format: 'armored',
  });
});

afterAll(async () => {
  await s3Local?.stop();
  await table?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function newOrder(): Promise<ProductionOrder> {
  const program = await makeProgram();
  const actor = { type: 'staff' as const, id: 'ops-test' };
  const now = new Date();
  const printer = await registerPrinter({ name: 'Printer', publicKey: keys.publicKey }, actor, now);
  const order: ProductionOrder = {
    id: `pord_${'0'.repeat(10)}${String(Date.now()).slice(-16).padStart(16, '0')}`,
    programId: program.id,
    count: CARDS,
    withPin: false,
    artworkRef: 'ART',
    printerId: printer.id,
    layout: 'CSV',
    cartonCards: 10,
    magstripe: { serviceCode: '721' },
    chunkCards: CHUNK_CARDS,
    chunks: chunkCount(CARDS, CHUNK_CARDS),
    generation: 'QUEUED',
    chunksDone: 0,
    cardsDone: 0,
    recipientFingerprint: printer.fingerprint,
    status: 'ORDERED',
    history: [{ status: 'ORDERED', by: actor, at: now.toISOString() }],
    createdBy: actor,
    createdAt: now.toISOString(),
  };
  await createOrder(order, now);
  return order;
}

async function fileRows(order: ProductionOrder) {
  const privateKey = await openpgp.readPrivateKey({ armoredKey: keys.privateKey });
  const rows: Record<string, string>[] = [];
  for (const marker of await orderChunks(order.id)) {
    const object = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: marker.part?.key }));
    const message = await openpgp.readMessage({
      binaryMessage: await (
        object.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray(),
    });
    const { data } = await openpgp.decrypt({ message, decryptionKeys: privateKey, format: 'binary' });
    rows.push(...readCsv(new TextDecoder().decode(data)));
  }
  return rows;
}

describe('a production order that crashes midway', () => {
  it('resumes: every sequence once, lost codes voided, no card twice', async () => {
    const order = await newOrder();
    await expect(runProductionOrder(order.id, { failAfterCommit: (chunk) => chunk === 1 })).rejects.toThrow(
      /Injected failure/,
    );
    const failed = await findOrder(order.id);
    expect(failed).toMatchObject({ generation: 'FAILED', chunksDone: 1, cardsDone: CHUNK_CARDS });
    const crashed = (await orderChunks(order.id)).find((marker) => marker.chunk === 1);
    expect(crashed).toMatchObject({ status: 'COMMITTING', attempt: 1 });
    const lostIds = crashed?.cardIds ?? [];
    expect(lostIds).toHaveLength(CHUNK_CARDS);

    // A second runner while one runs gets BUSY; the resumed run finishes the order.
    const [outcome, concurrent] = await Promise.all([
      runProductionOrder(order.id),
      runProductionOrder(order.id),
    ]);
    expect([outcome, concurrent].sort()).toEqual(['BUSY', 'DONE']);
    const done = await findOrder(order.id);
    expect(done).toMatchObject({ generation: 'DONE', chunksDone: order.chunks, cardsDone: CARDS });

    const rows = await fileRows(order);
    expect(rows.map((row) => Number(row.sequence))).toEqual(Array.from({ length: CARDS }, (_, i) => i + 1));
    const peppers = await codePeppers();
    const ids = rows.map((row) => cardIdForCode(row.code ?? '', peppers.current.value));
    expect(new Set(ids).size).toBe(CARDS);
    const cards = await batchGet(ids.map((id) => ({ PK: `CARD#${id}`, SK: 'CARD' })));
    expect([...cards.values()].map((card) => card.status)).toEqual(Array(CARDS).fill('PENDING'));
    expect(ids.filter((id) => lostIds.includes(id))).toEqual([]);
    // The ranges the packaging reads are the printed cards, in sequence order.
    expect(await cardIdsOfRange(done as ProductionOrder, 1, CARDS)).toEqual(ids);

    const lost = await batchGet(lostIds.map((id) => ({ PK: `CARD#${id}`, SK: 'CARD' })));
    expect(lost.size).toBe(CHUNK_CARDS);
    expect([...lost.values()].every((card) => card.status === 'DEACTIVATED')).toBe(true);
  });
});

describe('a production card batch', () => {
  it('is refused whole when a code is already a card under an older pepper (after a rotation)', async () => {
    const program = await makeProgram();
    const context = {
      actor: { type: 'system' as const, id: 'production' },
      request: { channel: 'SYSTEM' as const, reference: 'pord_test' },
      now: new Date(),
    };
    const produced = ['gc_new_a', 'gc_new_b'].map((cardId) =>
      planIssue(
        program,
        { cardId, last4: '1234', type: 'PHYSICAL', amount: 0, activate: false, pepperId: 'v2' },
        context,
      ),
    );
    // The second card's code names an existing card under the older pepper.
    await db().send(
      new PutCommand({ TableName: tableName(), Item: { PK: 'CARD#gc_old_b', SK: 'CARD', status: 'ACTIVE' } }),
    );
    const batch = produced.map((planned, index) => ({
      card: planned.card,
      entries: planned.entries,
      ...(index === 1 ? { olderIds: ['gc_old_b'] } : {}),
    }));
    expect(await commitCardBatch(batch, program.id, program.maxCards, 0, context.now)).toBe('CODE_TAKEN');
    const written = await batchGet(['gc_new_a', 'gc_new_b'].map((id) => ({ PK: `CARD#${id}`, SK: 'CARD' })));
    expect(written.size).toBe(0);
    // Without the older card in the way, the same batch commits.
    const clear = batch.map((produced, index) => ({ ...produced, olderIds: [`gc_old_none_${index}`] }));
    expect(await commitCardBatch(clear, program.id, program.maxCards, 0, context.now)).toBe('COMMITTED');
  });
});
