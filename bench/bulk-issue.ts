/**
 * Bulk issuance runs (issue #19): a generated CSV of 10,000 and of 100,000 rows (BENCH_BULK_ISSUE_SIZES)
 * opened, uploaded and submitted through the local API, then run to the end by the in-process runner
 * (functions/app/bulk-run.ts) against DynamoDB Local and s3rver, with the result file written. Per size:
 * the validation (submit) time, the run time, rows per second, DynamoDB round trips by command and their
 * time, and memory sampled every 50 ms (peak RSS and heap in use over the run, RSS before). Memory flat in
 * the rows means the 100,000-row peaks sit near the 10,000-row ones. The process also holds DynamoDB
 * Local's client side, s3rver and the HTTP server: the RSS is the whole local runtime's. A run still going
 * after BENCH_BULK_ISSUE_MAX_MS is reported as it stands (`stoppedAfterMs`, `rowsDone`).
 */
import { db } from '../functions/store/dynamo-client';
import { bulkCsvFile } from '../test/support/bulk-csv-file';
import { emit, knob, progress } from './lib/env';
import { startBenchStack } from './lib/local';
import { machine } from './lib/machine';
import { countRoundTrips } from './lib/round-trips';
import { elapsedMs, round } from './lib/stats';

const SIZES = (process.env.BENCH_BULK_ISSUE_SIZES ?? '10000,100000')
  .split(',')
  .map((size) => Number(size.trim()))
  .filter((size) => Number.isInteger(size) && size > 0);
const MiB = 1024 * 1024;
/** A run still going after this long is reported as it stands (rows done, memory so far): BENCH_BULK_ISSUE_MAX_MS. */
const MAX_RUN_MS = knob('BULK_ISSUE_MAX_MS', Number.POSITIVE_INFINITY);
/** A throw-away OpenPGP public key (curve25519) to encrypt the result file to. */
const openpgp = await import('openpgp');
const { publicKey } = await openpgp.generateKey({
  type: 'ecc',
  curve: 'curve25519Legacy',
  userIDs: [{ name: 'Bench', email: 'bench@example.com' }],
  format: 'armored',
});

const stack = await startBenchStack({ consumers: [], scheduleTimers: false, mailCatcher: false });
const token = stack.staffTokens.admin ?? '';
const counter = countRoundTrips(db());

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  // Progress polls on a loaded machine may meet a reset connection: a GET is tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await send<T>(method, path, body);
    } catch (error) {
      if (method !== 'GET' || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

async function send<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'idempotency-key': `bench-${Math.random()}`,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

interface Batch {
  id: string;
  status: string;
  error: string | null;
  progress: { rowsDone: number };
  resultFile: { rows: number } | null;
}

async function measure(rows: number) {
  const program = await call<{ id: string }>('POST', '/v1/programs', {
    name: `Bench bulk ${rows}`,
    currency: 'USD',
    maxLoad: 100_000,
    maxBalance: 100_000,
  });
  if (program.status !== 201) throw new Error(`program: ${JSON.stringify(program.body)}`);
  const opened = await call<{ batch: Batch; uploadUrl: string }>('POST', '/v1/bulk-batches', {
    programId: program.body.id,
    customerName: 'Bench Ltd',
    output: 'CLAIM_LINKS',
    recipientKey: publicKey,
  });
  if (opened.status !== 201) throw new Error(`open: ${JSON.stringify(opened.body)}`);
  const parts: Uint8Array[] = [];
  for await (const chunk of bulkCsvFile(rows)) parts.push(chunk);
  const put = await fetch(opened.body.uploadUrl, { method: 'PUT', body: Buffer.concat(parts) });
  if (put.status !== 200) throw new Error(`upload: ${put.status}`);
  parts.length = 0;

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const memory = process.memoryUsage();
    peakRss = Math.max(peakRss, memory.rss);
    peakHeap = Math.max(peakHeap, memory.heapUsed);
  }, 50);
  const before = { ...counter.mark(), byCommand: { ...counter.byCommand } };
  const submitted = process.hrtime.bigint();
  const accepted = await call<Batch>('POST', `/v1/bulk-batches/${opened.body.batch.id}/submit`, {});
  const validateMs = elapsedMs(submitted);
  if (accepted.body.status !== 'RUNNING') throw new Error(`submit: ${JSON.stringify(accepted.body)}`);
  let batch = accepted.body;
  while (batch.status === 'RUNNING' && elapsedMs(submitted) < MAX_RUN_MS) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    batch = (await call<Batch>('GET', `/v1/bulk-batches/${batch.id}`)).body;
  }
  const totalMs = elapsedMs(submitted);
  clearInterval(sampler);
  const partial = batch.status === 'RUNNING';
  if (!partial && (batch.status !== 'SUCCEEDED' || batch.resultFile?.rows !== rows))
    throw new Error(`run: ${JSON.stringify(batch)}`);
  const runMs = totalMs - validateMs;
  const rowsDone = partial ? batch.progress.rowsDone : rows;
  return {
    rows,
    ...(partial ? { stoppedAfterMs: round(totalMs, 0), rowsDone } : {}),
    validateMs: round(validateMs, 0),
    runMs: round(runMs, 0),
    rowsPerSecond: Math.round((rowsDone * 1000) / runMs),
    dynamoRoundTrips: counter.count - before.count,
    dynamoMs: round(counter.ms - before.ms, 0),
    byCommand: Object.fromEntries(
      Object.entries(counter.byCommand).map(([name, n]) => [name, n - (before.byCommand[name] ?? 0)]),
    ),
    rssBeforeMiB: round(rssBefore / MiB, 1),
    peakRssMiB: round(peakRss / MiB, 1),
    peakHeapUsedMiB: round(peakHeap / MiB, 1),
  };
}

const results = [];
let failed = false;
try {
  for (const rows of SIZES) {
    progress(`bulk batch of ${rows} rows`);
    results.push(await measure(rows));
    progress(JSON.stringify(results.at(-1)));
  }
} catch (error) {
  failed = true;
  progress(`failed: ${String(error)}`);
} finally {
  // A run stopped part way is still writing: the process ends here rather than waiting for it.
  emit({ benchmark: 'bulk-issue', machine: machine(), results });
  await Promise.race([stack.stop(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  process.exit(failed ? 1 : 0);
}
