/**
 * One invocation of the bulk runner Lambda (functions/bulk/runner.ts) in a process of its own, as Lambda
 * runs it: bench/bulk-issue.ts spawns it (with `--expose-gc`) for each asynchronous invoke the runner or
 * the submit sends, with the handlers' environment of the local stack and the event as argv[2]. So the
 * memory measured is the runner's alone, not the local HTTP server's, s3rver's or the bench's.
 *
 * Every BENCH_BULK_SAMPLE_MS (default 2,000) it collects garbage, then sends the parent a sample over IPC:
 * heap used after the collection, RSS, and the batch's rows done (read from the table), so what the runner
 * keeps can be set against the rows it has issued. The last message gives the outcome and the peak RSS
 * (getrusage's, which sees between samples too).
 */
import { CHUNK_ROWS } from '../../functions/core/bulk/bulk-batch-model';
import { findBulkBatch } from '../../functions/store/bulk-batches';
import { lambdaContext } from '../../local/handlers';
import { knob } from './env';

export interface RunnerSample {
  readonly kind: 'sample';
  readonly atMs: number;
  readonly rowsDone: number;
  readonly heapAfterGcBytes: number;
  readonly rssBytes: number;
}

export interface RunnerEnd {
  readonly kind: 'end';
  readonly ok: boolean;
  readonly error?: string;
  readonly peakRssBytes: number;
}

const SAMPLE_MS = knob('BULK_SAMPLE_MS', 2_000);
/** What the bulk runner gets in AWS (lib/issuance-stack.ts: BULK_RUNNER_TIMEOUT). */
const LAMBDA_TIMEOUT_MS = 15 * 60_000;

const collect = global.gc;
if (!collect) throw new Error('run with --expose-gc');
const event = JSON.parse(process.argv[2] ?? '{}') as { batchId?: string };
const batchId = event.batchId ?? '';
const started = Date.now();

async function sample(): Promise<RunnerSample> {
  const batch = await findBulkBatch(batchId);
  const rowsDone = batch ? Math.min(batch.rows, batch.chunksDone * CHUNK_ROWS) : 0;
  collect?.();
  const { heapUsed, rss } = process.memoryUsage();
  return { kind: 'sample', atMs: Date.now() - started, rowsDone, heapAfterGcBytes: heapUsed, rssBytes: rss };
}

const send = (message: RunnerSample | RunnerEnd) =>
  new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));

// The runner's module (and the SDK clients it loads) counts as its cold start, as in Lambda.
const { handler } = await import('../../functions/bulk/runner');
await send(await sample());
let sampling = false;
const timer = setInterval(() => {
  if (sampling) return;
  sampling = true;
  void sample()
    .then(send)
    .finally(() => {
      sampling = false;
    });
}, SAMPLE_MS);
let end: RunnerEnd;
try {
  await handler(event, lambdaContext('bench-bulk-runner', LAMBDA_TIMEOUT_MS));
  end = { kind: 'end', ok: true, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
} catch (error) {
  end = { kind: 'end', ok: false, error: String(error), peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}
clearInterval(timer);
await send(await sample());
await send(end);
// The SDK's keep-alive sockets would hold the process; a Lambda invocation ends with its handler.
process.exit(0);
