/**
 * Finance export at scale (issue #6): seeds N cards with their ledger entries into DynamoDB Local (the
 * item shapes the card store writes: planned by functions/core, turned into items by store/card-items.ts and
 * store/keys.ts), then exports the month with the real plan, segment and finalize handlers
 * (functions/exports/runner.ts) into s3rver, and checks the run tied out. Prints { cards, entries,
 * seconds, peakRssMb, rowsPerSecond, segments, ... }; peak RSS is this process's (the exporter's),
 * sampled every 50 ms during the export, next to its RSS before it, and DynamoDB Local's CPU seconds.
 *
 * Each card: ISSUE + ACTIVATE in the month before (opening liability), a REDEEM in the month, and every
 * third card a LOAD in the month. Knobs: BENCH_EXPORT_CARDS (100000; `npm run bench -- export` with
 * BENCH_EXPORT_CARDS=1000000 for the 1M run), BENCH_EXPORT_SEGMENTS (0: the plan sizes them from the
 * table, as in AWS), BENCH_EXPORT_CONCURRENCY (4), BENCH_EXPORT_SEED (`sqlite`: rows written straight
 * into DynamoDB Local's database file, checked every run against rows DynamoDB Local wrote for the same
 * items, see lib/sqlite-seed.ts; `batch`: BatchWriteItem, ~100x slower), BENCH_EXPORT_WRITERS (16
 * BatchWrite calls in flight).
 */
// First: the handlers' logger takes its level at import, and stdout carries only the result's JSON.
import '../local/quiet-logs';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { monthPeriod } from '../functions/core/export-period';
import { runExport } from '../functions/exports/runner';
import { db, tableName } from '../functions/store/dynamo-client';
import { findExportRun, openExportRun } from '../functions/store/export-runs';
import { createTableInput } from '../functions/store/table-definition';
import { startDynamoDbLocal } from '../local/dynamodb';
import { findFreePort } from '../local/ports';
import { emit, knob, progress } from './lib/env';
import { createExportProgram, exportCardItems } from './lib/export-cards';
import { startBenchStack } from './lib/local';
import { codeState, machine } from './lib/machine';
import { haveSqlite3, KNOWN_LAYOUT, layoutVersion, SqliteTableWriter, verifyRows } from './lib/sqlite-seed';

const CARDS = knob('EXPORT_CARDS', 100_000);
const SEGMENTS = knob('EXPORT_SEGMENTS', 0);
const CONCURRENCY = knob('EXPORT_CONCURRENCY', 4);
const WRITERS = knob('EXPORT_WRITERS', 16);
/** Cards written both ways (BatchWrite and SQLite) to check the bulk path before using it. */
const CHECK_CARDS = 300;
const MONTH = '2026-09';
const SEED = process.env.BENCH_EXPORT_SEED || 'sqlite';
if (SEED !== 'sqlite' && SEED !== 'batch') throw new Error('BENCH_EXPORT_SEED is sqlite or batch');
const bulk = SEED === 'sqlite' && haveSqlite3();
if (SEED === 'sqlite' && !bulk) progress('no sqlite3 command line: seeding by BatchWriteItem instead');

if (SEGMENTS > 0) process.env.EXPORT_SEGMENTS = String(SEGMENTS);
// DynamoDB Local with a database file for the bulk seed (written while it is stopped), in memory for
// BatchWrite; on a port that stays the same across the restart so every client keeps its endpoint.
const dynamoDir = await mkdtemp(join(tmpdir(), 'giftcard-export-bench-'));
const dbFile = join(dynamoDir, 'shared-local-instance.db');
const dynamoPort = await findFreePort('0.0.0.0');
let dynamo = await startDynamoDbLocal({ port: dynamoPort, ...(bulk ? { dataDir: dynamoDir } : {}) });
const stack = await startBenchStack({ consumers: [], dynamodbEndpoint: dynamo.endpoint });
const javaCpuSeconds = () => {
  const fields = readFileSync(`/proc/${dynamo.process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
try {
  const period = monthPeriod(MONTH, 'UTC');
  const program = await createExportProgram('Export bench');
  const cardItems = exportCardItems(program, period);

  const batchWrite = async (table: string, items: Record<string, unknown>[]) => {
    for (let start = 0; start < items.length; start += 25) {
      let requests = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        const out = await db().send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
        if (requests.length > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 20 * 2 ** attempt)));
      }
    }
  };

  progress(`seeding ${CARDS} cards (${bulk ? 'sqlite' : 'BatchWriteItem'})...`);
  const seedStarted = performance.now();
  let entries = 0;
  /** Items of a few cards kept to read back through DynamoDB Local after the seed. */
  const spotChecks: Record<string, unknown>[] = [];
  if (bulk) {
    // 1. The same items written by DynamoDB Local (BatchWrite) and by the bulk writer, into two tables
    // made from the table definition: the rows must be identical before the bulk path is used.
    const checkItems = Array.from({ length: CHECK_CARDS }, (_, n) => cardItems(n)).flat();
    const byDynamo = `${tableName()}-check-dynamo`;
    const bySqlite = `${tableName()}-check-sqlite`;
    for (const table of [byDynamo, bySqlite])
      await db().send(new CreateTableCommand(createTableInput(table)));
    await batchWrite(byDynamo, checkItems);
    await dynamo.stop();
    const layout = layoutVersion(dbFile);
    if (layout !== KNOWN_LAYOUT)
      throw new Error(`DynamoDB Local layout ${layout}, the bulk seed knows ${KNOWN_LAYOUT}`);
    const checkWriter = new SqliteTableWriter(dbFile, bySqlite);
    for (const item of checkItems) await checkWriter.write(item);
    await checkWriter.close();
    const problems = verifyRows(dbFile, byDynamo, bySqlite);
    if (problems.length > 0)
      throw new Error(`bulk rows differ from DynamoDB Local's:\n${problems.join('\n')}`);
    progress(
      `  bulk rows identical to DynamoDB Local's for ${checkItems.length} items (${CHECK_CARDS} cards)`,
    );
    // 2. The cards, with the table's SQLite indexes built once at the end.
    const bulkStarted = performance.now();
    const writer = new SqliteTableWriter(dbFile, tableName(), { rebuildIndexes: true });
    for (let n = 0; n < CARDS; n++) {
      const items = cardItems(n);
      entries += items.length - 1;
      if (n % 100_003 === 7) spotChecks.push(...items);
      for (const item of items) await writer.write(item);
      if (n % 100_000 === 0 && n > 0) progress(`  ${n} cards`);
    }
    const written = performance.now();
    progress(
      `  ${writer.rows} rows in ${((written - bulkStarted) / 1000).toFixed(0)} s; building indexes...`,
    );
    await writer.close();
    progress(
      `  indexes built in ${((performance.now() - written) / 1000).toFixed(0)} s; starting DynamoDB Local`,
    );
    dynamo = await startDynamoDbLocal({ port: dynamoPort, dataDir: dynamoDir });
    for (const table of [byDynamo, bySqlite]) await db().send(new DeleteTableCommand({ TableName: table }));
  } else {
    let next = 0;
    let pending: Record<string, unknown>[] = [];
    const takeBatch = (): Record<string, unknown>[] | undefined => {
      while (pending.length < 25 && next < CARDS) {
        const items = cardItems(next++);
        entries += items.length - 1;
        if (next % 100_003 === 8) spotChecks.push(...items);
        pending.push(...items);
      }
      if (pending.length === 0) return undefined;
      const batch = pending.slice(0, 25);
      pending = pending.slice(25);
      return batch;
    };
    const writer = async () => {
      for (let batch = takeBatch(); batch; batch = takeBatch()) {
        await batchWrite(tableName(), batch);
        if (next % 10_000 < 5 && next > 0) progress(`  ${next} cards`);
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, writer));
  }
  // Read a few cards back through DynamoDB Local: exactly the items the store would have written.
  for (const item of spotChecks) {
    const out = await db().send(
      new GetCommand({ TableName: tableName(), Key: { PK: item.PK, SK: item.SK }, ConsistentRead: true }),
    );
    if (!isDeepStrictEqual(out.Item, JSON.parse(JSON.stringify(item)))) {
      throw new Error(`read back ${String(item.PK)} ${String(item.SK)} differs: ${JSON.stringify(out.Item)}`);
    }
  }
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  progress(
    `seeded ${CARDS} cards, ${entries} entries in ${seedSeconds.toFixed(0)} s (${spotChecks.length} items read back); exporting ${MONTH}...`,
  );

  const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const { run } = await openExportRun(period, 'local', { type: 'system', id: 'bench' }, new Date());
  const javaBefore = javaCpuSeconds();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let lastReported = -1;
  await runExport(run.id, {
    concurrency: CONCURRENCY,
    onProgress: (p) => {
      if (p.segmentsDone !== lastReported) progress(`  ${p.phase} ${p.segmentsDone}/${p.totalSegments}`);
      lastReported = p.segmentsDone;
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const dynamoCpuSeconds = javaCpuSeconds() - javaBefore;
  clearInterval(sampler);
  const done = await findExportRun(run.id);
  if (done?.status !== 'SUCCEEDED') throw new Error(`export ended ${done?.status}: ${done?.error}`);
  const rows = (prefix: string) =>
    (done.files ?? [])
      .filter((file) => file.name.startsWith(prefix))
      .reduce((sum, file) => sum + file.rows, 0);
  const balances = rows('balances/');
  const journal = rows('journal/');
  if (balances !== CARDS) throw new Error(`balances has ${balances} rows for ${CARDS} cards`);
  const bytes = (done.files ?? []).reduce((sum, file) => sum + file.bytes, 0);
  emit({
    benchmark: 'export',
    machine: machine(),
    code: codeState(),
    cards: CARDS,
    entries,
    seed: bulk ? 'sqlite' : 'batch',
    seedSeconds: Number(seedSeconds.toFixed(1)),
    seconds: Number(seconds.toFixed(1)),
    dynamoDbLocalCpuSeconds: Number(dynamoCpuSeconds.toFixed(1)),
    exporterCpuSeconds: Number(
      (process.cpuUsage(cpuBefore).user / 1e6 + process.cpuUsage(cpuBefore).system / 1e6).toFixed(1),
    ),
    segments: done.segments,
    concurrency: CONCURRENCY,
    rows: { balances, journal },
    rowsPerSecond: Math.round((balances + journal) / seconds),
    entriesPerSecond: Math.round(entries / seconds),
    peakRssMb: Math.round(peakRss / 2 ** 20),
    rssBeforeMb: Math.round(rssBeforeMb),
    gzipMb: Number((bytes / 2 ** 20).toFixed(1)),
    totals: done.totals,
  });
} finally {
  await stack.stop();
  await dynamo.stop();
  rmSync(dynamoDir, { recursive: true, force: true });
}
