import { launchBulkRun } from '../bulk/launcher';
import { MAX_STALLED_RESUMES, resumeVerdict } from '../core/bulk/bulk-batch-model';
import { logger } from '../logger';
import { completeBulkBatch, findBulkBatch, markBulkResume, runningBulkBatchIds } from '../store/bulk-batches';

/** Running batches looked at per run: far more than run at once. */
const MAX_BATCHES_PER_RUN = 200;

/**
 * The bulk-resume job (issue #19): re-invokes the runner of each batch RUNNING whose progress has not moved
 * for BULK_STALL_MINUTES (its runner died and Lambda's retries are spent, or the local process stopped).
 *
 * Primary course: list the running batches (a sparse index), read each, and for a stuck one record the
 * resume under the condition that it is still where it was seen (so two resumes, or a runner that wakes
 * up, never both count it), then launch the runner. The runner starts at the first unrecorded chunk and
 * issues each row under the (batch, reference) idempotency key: a row a dead or still-live runner issued
 * gets its card back, never a second one. A batch resumed MAX_STALLED_RESUMES times in a row without
 * progress is FAILED with the reason: a fault a retry will not cure, for ops to look at.
 */
export async function resumeStuckBulkBatches(
  now = new Date(),
): Promise<{ examined: number; changed: number; failed: number }> {
  const ids = await runningBulkBatchIds(MAX_BATCHES_PER_RUN);
  let changed = 0;
  let failed = 0;
  for (const id of ids) {
    try {
      const batch = await findBulkBatch(id);
      if (!batch) continue;
      const verdict = resumeVerdict(batch, now);
      if (verdict.action === 'wait') continue;
      if (verdict.action === 'fail') {
        await completeBulkBatch(
          id,
          {
            error: `no progress after ${MAX_STALLED_RESUMES} resumes at chunk ${batch.chunksDone} of ${batch.chunks}`,
          },
          now,
        );
        logger.error('Bulk batch failed: stuck', { batchId: id, chunksDone: batch.chunksDone });
        changed++;
        continue;
      }
      if (!(await markBulkResume(batch, verdict.stalledResumes, now))) continue;
      await launchBulkRun(id);
      logger.warn('Bulk batch resumed', { batchId: id, chunksDone: batch.chunksDone, chunks: batch.chunks });
      changed++;
    } catch (error) {
      failed++;
      logger.error('Bulk batch resume failed', { batchId: id, error: error as Error });
    }
  }
  return { examined: ids.length, changed, failed };
}
