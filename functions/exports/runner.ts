import { handler as failed } from './failed';
import { handler as finalize } from './finalize';
import { handler as plan } from './plan';
import { handler as segment } from './segment';

/**
 * The state machine of lib/exports-stack.ts in-process, for `npm start`, the CLI, the tests and the
 * benchmark: the same handlers, plan -> wait for the settle margin -> segments with bounded concurrency
 * and retries -> finalize, and on any failure the failed handler.
 */
export interface RunProgress {
  readonly phase: 'waiting' | 'scanning' | 'finalizing' | 'done';
  readonly segmentsDone: number;
  readonly totalSegments: number;
  /** Until reading may start, while waiting. */
  readonly waitMs?: number;
}

export interface RunOptions {
  /** Segments scanned at once. @default 4 */
  readonly concurrency?: number;
  /** Retries of a failing segment (the state machine's Retry). @default 2 */
  readonly retries?: number;
  readonly onProgress?: (progress: RunProgress) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runExport(exportId: string, options: RunOptions = {}): Promise<void> {
  const report = options.onProgress ?? (() => {});
  try {
    const planned = await plan({ exportId });
    if (planned.done) {
      report({ phase: 'done', segmentsDone: 0, totalSegments: 0 });
      return;
    }
    const total = planned.totalSegments;
    for (
      let wait = Date.parse(planned.notBefore) - Date.now();
      wait > 0;
      wait = Date.parse(planned.notBefore) - Date.now()
    ) {
      report({ phase: 'waiting', segmentsDone: 0, totalSegments: total, waitMs: wait });
      await sleep(Math.min(wait + 5, 1_000));
    }
    let done = 0;
    report({ phase: 'scanning', segmentsDone: 0, totalSegments: total });
    const queue = [...planned.segments];
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const input = { exportId, segment: next, totalSegments: total };
        for (let attempt = 0; ; attempt++) {
          try {
            await segment(input);
            break;
          } catch (error) {
            if (attempt >= (options.retries ?? 2)) throw error;
            await sleep(200 * 2 ** attempt);
          }
        }
        done += 1;
        report({ phase: 'scanning', segmentsDone: done, totalSegments: total });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
    report({ phase: 'finalizing', segmentsDone: done, totalSegments: total });
    await finalize({ exportId });
    report({ phase: 'done', segmentsDone: done, totalSegments: total });
  } catch (error) {
    const failure = error as Error;
    await failed({ exportId, error: { Error: failure.name, Cause: failure.message } });
    throw error;
  }
}
