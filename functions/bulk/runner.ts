import type { Context } from 'aws-lambda';
import { runBulkBatch } from '../app/bulk-run';
import { logger } from '../logger';
import { observed } from '../observability/invocation';
import { launchBulkRun } from './launcher';

/** Time kept for the chunk under way when the run stops for the next invocation. */
const STOP_MARGIN_MS = 90_000;

/**
 * The bulk runner Lambda (asynchronous invocations `{ batchId }`): runs the batch until its time is
 * nearly up, then invokes itself again to go on. A crash is retried by Lambda (twice) and resumes at the
 * first unfinished chunk; once its retries are spent the event lands in the issuance DLQ (an alarm) and
 * invoking the runner again with it resumes the batch.
 */
async function handle(event: { batchId?: unknown }, context?: Context): Promise<void> {
  if (typeof event.batchId !== 'string') throw new Error('The bulk runner needs { batchId }');
  const remainingMs = context?.getRemainingTimeInMillis?.() ?? 15 * 60_000;
  const outcome = await runBulkBatch(event.batchId, Date.now() + remainingMs - STOP_MARGIN_MS);
  logger.info('Bulk run', { batchId: event.batchId, outcome });
  if (outcome === 'continue') await launchBulkRun(event.batchId);
}

export const handler = observed(handle);
