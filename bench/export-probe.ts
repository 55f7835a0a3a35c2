/**
 * Diagnostic for bench/export.ts (not part of `npm run bench`; `npx tsx bench/export-probe.ts`): where
 * seeding and export time goes against DynamoDB Local. Every DynamoDB call is counted and timed by an SDK
 * middleware, DynamoDB Local's CPU seconds are read from /proc next to this process's. Seeds
 * BENCH_PROBE_CARDS (20000) cards by BatchWrite in phases of 1, 4 and 16 writers and once into a table
 * without stream or GSIs (BENCH_PROBE_SEED_MATRIX=0: all at once, 16 writers), then scans one segment of BENCH_PROBE_SEGMENTS
 * (2) with no Limit and with Limits of 500 to 4,000 (and a projection), twice, printing the time per page
 * by position in the segment (fifths). BENCH_PROBE_DISK=1 runs DynamoDB Local on a file instead of memory.
 */
import '../local/quiet-logs';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { monthPeriod } from '../functions/core/export-period';
import { db, tableName } from '../functions/store/dynamo-client';
import { createTableInput } from '../functions/store/table-definition';
import { knob, progress } from './lib/env';
import { createExportProgram, exportCardItems } from './lib/export-cards';
import { startBenchStack } from './lib/local';

const CARDS = knob('PROBE_CARDS', 20_000);
const DISK = knob('PROBE_DISK', 0) === 1;
const stack = await startBenchStack({ consumers: [], ...(DISK ? { inMemory: false } : {}) });

const javaPid = Number(
  execFileSync('pgrep', ['-f', `DynamoDBLocal.jar.*-port ${new URL(stack.dynamodbEndpoint).port}`], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')[0],
);
const TICK = 100; // USER_HZ
const javaCpu = () => {
  const fields = readFileSync(`/proc/${javaPid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICK;
};
const javaRssMb = () => {
  const line = readFileSync(`/proc/${javaPid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS'));
  return Math.round(Number(line?.split(/\s+/)[1]) / 1024);
};
const nodeCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// Count and time every DynamoDB call.
const calls = new Map<string, { n: number; ms: number }>();
db().middlewareStack.add(
  (next, context) => async (args) => {
    const t0 = performance.now();
    try {
      return await next(args);
    } finally {
      const name = context.commandName ?? '?';
      const c = calls.get(name) ?? { n: 0, ms: 0 };
      c.n += 1;
      c.ms += performance.now() - t0;
      calls.set(name, c);
    }
  },
  { step: 'initialize', name: 'probeTimer' },
);

async function measure<T>(label: string, run: () => Promise<T>): Promise<T> {
  calls.clear();
  const j0 = javaCpu();
  const n0 = nodeCpu();
  const t0 = performance.now();
  const out = await run();
  const s = (performance.now() - t0) / 1000;
  const j = javaCpu() - j0;
  const n = nodeCpu() - n0;
  const callText = [...calls].map(([name, c]) => `${name} ${c.n} x ${(c.ms / c.n).toFixed(1)} ms`).join(', ');
  progress(
    `${label}: ${s.toFixed(1)} s wall, java ${j.toFixed(1)} s cpu (${((100 * j) / s).toFixed(0)}%), node ${n.toFixed(1)} s cpu (${((100 * n) / s).toFixed(0)}%), java rss ${javaRssMb()} MB, load ${load()} | ${callText}`,
  );
  return out;
}

try {
  const period = monthPeriod('2026-09', 'UTC');
  const program = await createExportProgram('Export probe');
  const cardItems = exportCardItems(program, period);

  // Item generation alone (this process's CPU per card).
  await measure('generate 10000 cards (no writes)', async () => {
    let bytes = 0;
    for (let i = 0; i < 10_000; i++) bytes += JSON.stringify(cardItems(i)).length;
    progress(`  json bytes per card ${(bytes / 10_000).toFixed(0)}`);
  });

  let next = 0;
  async function seed(table: string, count: number, writers: number) {
    const end = next + count;
    let pending: Record<string, unknown>[] = [];
    const take = () => {
      while (pending.length < 25 && next < end) pending.push(...cardItems(next++));
      if (pending.length === 0) return undefined;
      const batch = pending.slice(0, 25);
      pending = pending.slice(25);
      return batch;
    };
    let items = 0;
    let retries = 0;
    const writer = async () => {
      for (let batch = take(); batch; batch = take()) {
        let requests = batch.map((Item) => ({ PutRequest: { Item } }));
        items += requests.length;
        while (requests.length > 0) {
          const out = await db().send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
          requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
          if (requests.length > 0) retries += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: writers }, writer));
    return { items, retries };
  }
  if (knob('PROBE_SEED_MATRIX', 1) === 1) {
    const phase = Math.floor(CARDS / 4);
    for (const writers of [1, 4, 16]) {
      await measure(`seed ${phase} cards, ${writers} writers`, async () => {
        const r = await seed(tableName(), phase, writers);
        progress(`  ${r.items} items, ${r.retries} retried batches`);
      });
    }
    // The same items into a table with no stream and no indexes: what those cost DynamoDB Local.
    const bare = `${tableName()}-bare`;
    const input = createTableInput(bare);
    await db().send(
      new CreateTableCommand({
        TableName: bare,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: input.AttributeDefinitions.slice(0, 2),
        KeySchema: input.KeySchema,
      }),
    );
    const saved = next;
    next = 0;
    await measure(`seed ${phase} cards into a table without stream or GSIs, 4 writers`, async () => {
      await seed(bare, phase, 4);
    });
    await db().send(new DeleteTableCommand({ TableName: bare }));
    next = saved;
    await measure(`seed ${CARDS - next} cards, 4 writers`, async () => {
      await seed(tableName(), CARDS - next, 4);
    });
  } else {
    await measure(`seed ${CARDS} cards, 16 writers`, async () => void (await seed(tableName(), CARDS, 16)));
  }
  progress(`seeded ${next} cards`);

  // Scans: warm up, then one segment with different page limits, twice each, per-page time by position.
  async function scanSegment(segment: number, total: number, extra: Record<string, unknown>) {
    let start: Record<string, unknown> | undefined;
    let scanned = 0;
    let returned = 0;
    let pages = 0;
    const pageMs: number[] = [];
    do {
      const t0 = performance.now();
      const out = await db().send(
        new ScanCommand({
          TableName: tableName(),
          Segment: segment,
          TotalSegments: total,
          ConsistentRead: true,
          FilterExpression: 'begins_with(SK, :tx)',
          ExpressionAttributeValues: { ':tx': 'TX#' },
          ExclusiveStartKey: start,
          ...extra,
        }),
      );
      pageMs.push(performance.now() - t0);
      scanned += out.ScannedCount ?? 0;
      returned += out.Count ?? 0;
      pages += 1;
      start = out.LastEvaluatedKey;
    } while (start);
    const part = Math.max(1, Math.floor(pageMs.length / 5));
    const avg = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
    const fifths = [0, 1, 2, 3, 4].map((i) =>
      avg(pageMs.slice(i * part, i === 4 ? undefined : (i + 1) * part)),
    );
    return { scanned, returned, pages, msPerPageByFifth: fifths.join('/') };
  }
  const TOTAL = knob('PROBE_SEGMENTS', 2);
  await measure('warm-up scan, Limit 1000', async () => void (await scanSegment(1, TOTAL, { Limit: 1000 })));
  const variants: [string, Record<string, unknown>][] = [
    ['no Limit', {}],
    ['Limit 500', { Limit: 500 }],
    ['Limit 1000', { Limit: 1000 }],
    ['Limit 2000', { Limit: 2000 }],
    ['Limit 4000', { Limit: 4000 }],
    [
      'Limit 2000 + projection',
      {
        Limit: 2000,
        ProjectionExpression:
          'PK, SK, id, cardId, programId, seq, #type, amount, currency, balanceAfter, availableAfter, actor, merchantId, channel, locationId, terminalId, #reference, reason, relatedTransactionId, createdAt',
        ExpressionAttributeNames: { '#type': 'type', '#reference': 'reference' },
      },
    ],
  ];
  for (const round of [1, 2]) {
    for (const [label, extra] of variants) {
      if (round === 2 && label === 'no Limit') continue;
      await measure(`round ${round}: segment 0 of ${TOTAL}, ${label}`, async () => {
        progress(`  ${JSON.stringify(await scanSegment(0, TOTAL, extra))}`);
      });
    }
  }
} finally {
  await stack.stop();
}
