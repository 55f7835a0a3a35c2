/**
 * Finance export at scale (issue #6): seeds N cards with their ledger entries straight into DynamoDB Local
 * (BatchWriteItem, in parallel, with the item shapes the card store writes: planned by functions/core,
 * turned into items by store/cards.ts and store/keys.ts), then exports the month with the real plan,
 * segment and finalize handlers (functions/exports/runner.ts) into s3rver, and checks the run tied out.
 * Prints { cards, entries, seconds, peakRssMb, rowsPerSecond, segments, ... }; peak RSS is this
 * process's (the exporter's), sampled every 50 ms during the export, next to its RSS before it.
 *
 * Each card: ISSUE + ACTIVATE in the month before (opening liability), a REDEEM in the month, and every
 * third card a LOAD in the month. Knobs: BENCH_EXPORT_CARDS (100000; `npm run bench -- export` with
 * BENCH_EXPORT_CARDS=1000000 for the 1M run), BENCH_EXPORT_SEGMENTS (8), BENCH_EXPORT_CONCURRENCY (4),
 * BENCH_EXPORT_WRITERS (16 BatchWrite calls in flight).
 */
// First: the handlers' logger takes its level at import, and stdout carries only the result's JSON.
import '../local/quiet-logs';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { planIssue, planOperation } from '../functions/core/card';
import { monthPeriod } from '../functions/core/export-period';
import { newId } from '../functions/core/ids';
import { runExport } from '../functions/exports/runner';
import { cardItem } from '../functions/store/cards';
import { db, tableName } from '../functions/store/dynamo-client';
import { findExportRun, openExportRun } from '../functions/store/export-runs';
import { entryKey } from '../functions/store/keys';
import { createProgram } from '../functions/store/programs';
import { emit, knob, progress } from './lib/env';
import { startBenchStack } from './lib/local';
import { codeState, machine } from './lib/machine';

const CARDS = knob('EXPORT_CARDS', 100_000);
const SEGMENTS = knob('EXPORT_SEGMENTS', 8);
const CONCURRENCY = knob('EXPORT_CONCURRENCY', 4);
const WRITERS = knob('EXPORT_WRITERS', 16);
const MONTH = '2026-09';

process.env.EXPORT_SEGMENTS = String(SEGMENTS);
const stack = await startBenchStack({ consumers: [] });
try {
  const period = monthPeriod(MONTH, 'UTC');
  const program = await createProgram(
    {
      name: 'Export bench',
      currency: 'USD',
      codeFormat: { alphabet: 'NUMERIC_LUHN', length: 16, prefix: '' },
      maxCards: 10_000_000,
      pinPolicy: 'NEVER',
      minLoad: 100,
      maxLoad: 100_000,
      maxBalance: 1_000_000,
      expiryPolicy: { type: 'NONE' },
      cashOut: { enabled: false },
      deactivation: 'ALLOW_WITH_BALANCE',
    },
    [],
    undefined,
  );
  const before = new Date(Date.parse(period.periodStart) - 5 * 86_400_000);
  const during = new Date(Date.parse(period.periodStart) + 10 * 86_400_000);
  const actor = { type: 'system', id: 'bench' } as const;

  /** One card's items: the card as it ends and each entry, as the store would have written them. */
  function cardItems(n: number): Record<string, unknown>[] {
    const issued = planIssue(
      program,
      {
        cardId: newId('gc', before),
        last4: String(n % 10_000).padStart(4, '0'),
        type: 'DIGITAL',
        amount: 5_000,
        activate: true,
      },
      { actor, request: {}, now: before },
    );
    let card = issued.card;
    const entries = [...issued.entries];
    const redeem = planOperation(
      card,
      program,
      { type: 'REDEEM', amount: 100 + (n % 900) },
      { actor, request: { channel: 'POS', locationId: `store-${n % 50}` }, now: during },
    );
    card = redeem.card;
    entries.push(redeem.entry);
    if (n % 3 === 0) {
      const load = planOperation(
        card,
        program,
        { type: 'LOAD', amount: 1_000 },
        { actor, request: {}, now: new Date(during.getTime() + 3_600_000) },
      );
      card = load.card;
      entries.push(load.entry);
    }
    return [cardItem(card), ...entries.map((entry) => ({ ...entryKey(entry.cardId, entry.seq), ...entry }))];
  }

  progress(`seeding ${CARDS} cards...`);
  const seedStarted = performance.now();
  let next = 0;
  let entries = 0;
  let pending: Record<string, unknown>[] = [];
  const takeBatch = (): Record<string, unknown>[] | undefined => {
    while (pending.length < 25 && next < CARDS) {
      const items = cardItems(next++);
      entries += items.length - 1;
      pending.push(...items);
    }
    if (pending.length === 0) return undefined;
    const batch = pending.slice(0, 25);
    pending = pending.slice(25);
    return batch;
  };
  const writer = async () => {
    for (let batch = takeBatch(); batch; batch = takeBatch()) {
      let requests = batch.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        const out = await db().send(new BatchWriteCommand({ RequestItems: { [tableName()]: requests } }));
        requests = (out.UnprocessedItems?.[tableName()] ?? []) as typeof requests;
        if (requests.length > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 20 * 2 ** attempt)));
      }
      if (next % 10_000 < 5 && next > 0) progress(`  ${next} cards`);
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  progress(`seeded ${CARDS} cards, ${entries} entries in ${seedSeconds.toFixed(0)} s; exporting ${MONTH}...`);

  const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const { run } = await openExportRun(period, 'local', actor, new Date());
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
    seedSeconds: Number(seedSeconds.toFixed(1)),
    seconds: Number(seconds.toFixed(1)),
    segments: SEGMENTS,
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
}
