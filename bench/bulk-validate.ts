/**
 * Bulk issuance validation (issue #19): a generated CSV of 10,000 and of 100,000 rows, streamed in
 * 64 KB chunks (an S3 body's shape, never held whole) through functions/app/bulk-validate.ts. Per size:
 * the wall time, rows per second, and memory sampled at every chunk (RSS and heap in use, their peaks
 * during the run), the live heap and array buffers (after a full GC every 4 chunks) and the heap after GC before and after. Memory flat in the rows means the
 * 100,000-row peaks sit near the 10,000-row ones: the reference table is allocated whole either way.
 * Knobs: BENCH_BULK_ROUNDS (runs per size, best time reported; 1).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { validateBulkFile } from '../functions/app/bulk-validate';
import { bulkCsvFile } from '../test/support/bulk-csv-file';
import { makeProgram } from '../test/unit/domain-fixtures';
import { emit, knob, progress } from './lib/env';
import { codeState, machine } from './lib/machine';
import { elapsedMs, round } from './lib/stats';

const ROUNDS = Math.max(1, knob('BULK_ROUNDS', 1));
const SIZES = [10_000, 100_000];
const MiB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGcMiB(): number {
  gc();
  gc();
  return round(process.memoryUsage().heapUsed / MiB, 1);
}

async function measure(rows: number) {
  const program = makeProgram();
  const heapBeforeMiB = heapAfterGcMiB();
  const rssBeforeMiB = round(process.memoryUsage().rss / MiB, 1);
  let peakRss = 0;
  let peakHeap = 0;
  let peakLiveHeap = 0;
  let bytes = 0;
  let chunks = 0;
  async function* sampled() {
    for await (const chunk of bulkCsvFile(rows)) {
      bytes += chunk.byteLength;
      const memory = process.memoryUsage();
      peakRss = Math.max(peakRss, memory.rss);
      peakHeap = Math.max(peakHeap, memory.heapUsed);
      // What the run holds, garbage aside: a full GC every 4 chunks (256 KB), its cost inside the time.
      // Typed arrays (the reference table) live outside the heap: counted through arrayBuffers.
      if (++chunks % 4 === 0) {
        gc();
        const live = process.memoryUsage();
        peakLiveHeap = Math.max(peakLiveHeap, live.heapUsed + live.arrayBuffers);
      }
      yield chunk;
    }
  }
  const start = process.hrtime.bigint();
  const result = await validateBulkFile(sampled(), program);
  const ms = elapsedMs(start);
  if (!result.accepted || result.rows !== rows) throw new Error(`expected ${rows} accepted rows`);
  return {
    rows,
    fileMiB: round(bytes / MiB, 1),
    ms: round(ms, 0),
    rowsPerSecond: Math.round((rows * 1000) / ms),
    rssBeforeMiB,
    peakRssMiB: round(peakRss / MiB, 1),
    heapAfterGcBeforeMiB: heapBeforeMiB,
    peakHeapUsedMiB: round(peakHeap / MiB, 1),
    peakLiveHeapAndBuffersDuringRunMiB: round(peakLiveHeap / MiB, 1),
    heapAfterGcAfterMiB: heapAfterGcMiB(),
  };
}

const results = [];
for (const rows of SIZES) {
  let best: Awaited<ReturnType<typeof measure>> | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    progress(`validating ${rows} rows (round ${round + 1}/${ROUNDS})`);
    const run = await measure(rows);
    if (!best || run.ms < best.ms) best = run;
  }
  results.push(best);
}

emit({
  benchmark: 'bulk-validate',
  machine: machine(),
  code: codeState(),
  chunkBytes: 64 * 1024,
  results,
});
