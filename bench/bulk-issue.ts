/**
 * Bulk issuance runs (issue #19): a generated CSV of 10,000 and of 100,000 rows (BENCH_BULK_ISSUE_SIZES)
 * opened, uploaded and submitted through the local API, then run to the end by the bulk runner against
 * DynamoDB Local and s3rver, with the result file written.
 *
 * The runner runs as in AWS: the submit invokes the runner function asynchronously (a local stand-in of
 * the Lambda Invoke API, bench/lib/lambda-invoke-stand-in.ts), each invocation is a process of its own
 * with Lambda's 15 minutes, and one that runs out of time invokes the next. So the runner's memory is
 * measured apart from this process (the local HTTP server, s3rver, the bench): heap used after a forced
 * garbage collection and RSS, sampled every BENCH_BULK_SAMPLE_MS with the rows done at that moment, and
 * the peak RSS of each invocation. Flat in the rows means the heap after GC does not climb with the rows
 * done (`heapSlopeKiBPer10kRows` near 0) and the 100,000-row figures sit near the 10,000-row ones.
 * Per size also: the validation (submit) time, the run time, rows per second, and this process's DynamoDB
 * round trips (the submit's; the runner's are in its own process). A run still going after
 * BENCH_BULK_ISSUE_MAX_MS is reported as it stands (`stoppedAfterMs`, `rowsDone`). BENCH_BULK_SAMPLES_FILE
 * names a file to write every sample to (JSON lines), to plot the heap against the rows.
 */
import { appendFileSync } from 'node:fs';
import { db } from '../functions/store/dynamo-client';
import { bulkCsvFile } from '../test/support/bulk-csv-file';
import { emit, knob, progress } from './lib/env';
import { type Invocation, startLambdaInvokeStandIn } from './lib/lambda-invoke-stand-in';
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

const lambda = await startLambdaInvokeStandIn();
// The submit and the runner itself invoke the runner function, which the stand-in runs in its own process.
process.env.BULK_RUNNER_FUNCTION_NAME = 'bench-bulk-runner';
process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
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

  const harnessRssBefore = process.memoryUsage().rss;
  let harnessPeakRss = harnessRssBefore;
  const sampler = setInterval(() => {
    harnessPeakRss = Math.max(harnessPeakRss, process.memoryUsage().rss);
  }, 200);
  const firstInvocation = lambda.invocations.length;
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
  if (batch.status !== 'RUNNING') await lambda.idle();
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
    runner: runnerMemory(lambda.invocations.slice(firstInvocation), rows),
    harness: {
      rssBeforeMiB: round(harnessRssBefore / MiB, 1),
      peakRssMiB: round(harnessPeakRss / MiB, 1),
    },
  };
}

/**
 * The runner's memory over the run: heap after GC before the first row (cold), after the first chunks,
 * at the middle, once every row was issued (the result file being written) and after the last
 * invocation; its highest; the least-squares slope of heap after GC against rows done while issuing;
 * and the highest peak RSS of the invocations.
 */
function runnerMemory(invocations: readonly Invocation[], rows: number) {
  const samples = invocations.flatMap((invocation) => invocation.samples);
  const samplesFile = process.env.BENCH_BULK_SAMPLES_FILE;
  if (samplesFile) {
    const lines = invocations.flatMap((invocation) =>
      invocation.samples.map((sample) => JSON.stringify({ rows, invocation: invocation.number, ...sample })),
    );
    appendFileSync(samplesFile, `${lines.join('\n')}\n`);
  }
  const mib = (bytes: number | undefined) => (bytes === undefined ? null : round(bytes / MiB, 1));
  const issuing = samples.filter((sample) => sample.rowsDone > 0 && sample.rowsDone < rows);
  const nearest = (target: number) =>
    issuing.reduce<(typeof issuing)[number] | undefined>(
      (best, sample) =>
        !best || Math.abs(sample.rowsDone - target) < Math.abs(best.rowsDone - target) ? sample : best,
      undefined,
    );
  const middle = nearest(rows / 2);
  const allIssued = samples.filter((sample) => sample.rowsDone >= rows);
  return {
    invocations: invocations.length,
    failedInvocations: invocations.filter((invocation) => invocation.end?.ok === false).length,
    samples: samples.length,
    heapAfterGcMiB: {
      cold: mib(samples[0]?.heapAfterGcBytes),
      firstChunks: mib(issuing[0]?.heapAfterGcBytes),
      middle: mib(middle?.heapAfterGcBytes),
      middleAtRow: middle?.rowsDone ?? null,
      allIssued: mib(allIssued[0]?.heapAfterGcBytes),
      end: mib(samples.at(-1)?.heapAfterGcBytes),
      max: mib(Math.max(0, ...samples.map((sample) => sample.heapAfterGcBytes))),
    },
    heapSlopeKiBPer10kRows: round((slope(issuing) * 10_000) / 1024, 1),
    rssMiB: {
      middle: mib(middle?.rssBytes),
      peak: mib(Math.max(0, ...invocations.map((invocation) => invocation.end?.peakRssBytes ?? 0))),
    },
  };
}

/** Least-squares slope of heap after GC (bytes) against rows done; 0 with fewer than two samples. */
function slope(samples: readonly { rowsDone: number; heapAfterGcBytes: number }[]): number {
  if (samples.length < 2) return 0;
  const meanX = samples.reduce((sum, sample) => sum + sample.rowsDone, 0) / samples.length;
  const meanY = samples.reduce((sum, sample) => sum + sample.heapAfterGcBytes, 0) / samples.length;
  let covariance = 0;
  let variance = 0;
  for (const sample of samples) {
    covariance += (sample.rowsDone - meanX) * (sample.heapAfterGcBytes - meanY);
    variance += (sample.rowsDone - meanX) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
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
  await Promise.race([
    Promise.all([stack.stop(), lambda.close()]),
    new Promise((resolve) => setTimeout(resolve, 10_000)),
  ]);
  process.exit(failed ? 1 : 0);
}
